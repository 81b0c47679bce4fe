// Fan-out load generator: N watchers over WebSocket (socket.io-client from npm) spread over
// several server processes, plus one bidder bidding `rate` times a second over HTTP. Prints one
// JSON line: bid-to-screen latency percentiles across all watchers and the events they missed.
//
// The watchers run in several child processes (so the generator is not the bottleneck); the
// parent bids. Latency = the time a watcher's `bid_placed` arrives minus the time the bid was
// sent (Date.now(), one machine, one clock). A watcher "misses" a bid when no `bid_placed` with
// that bid_count reached it before the end (events are matched by bid_count: the app's `seq`
// also counts other event kinds).
//
// Usage: node benchmarks/fanout_client.js '{"urls":[...], "mode":"app"|"bare", "lot_id":1,
//          "watchers":1000, "children":2, "seconds":10, "rate":10, "tokens":[a, b], "base":0}'
"use strict";
const { fork } = require("child_process");
const http = require("http");
const path = require("path");
const { percentile } = require("./percentile");

const args = JSON.parse(process.argv[2]);
const CONNECT_BATCH = 50;
const MAX_MS = 30000;

function child() {
  const { io } = require(path.join(__dirname, "..", "node_modules", "socket.io-client"));
  const total = args.rate * args.seconds;
  const watchers = [];
  let disconnects = 0;
  let errors = 0;

  function open(index) {
    return new Promise((resolve) => {
      const url = args.urls[index % args.urls.length];
      const socket = io(url, { transports: ["websocket"], forceNew: true, reconnection: false, timeout: 60000 });
      const got = new Float64Array(total + 1);
      const w = { socket, got, ready: false };
      socket.on("bid_placed", (e) => {
        const k = e.bid_count - args.base;
        if (k >= 1 && k <= total && got[k] === 0) got[k] = Date.now();
      });
      socket.on("disconnect", () => { if (w.ready && !w.closing) disconnects++; });
      socket.on("connect_error", () => { errors++; resolve(w); });
      socket.on("connect", () => {
        socket.emit("watch", { lot_id: args.lot_id, since_seq: args.since_seq || 0 }, (ack) => {
          w.ready = !!(ack && ack.ok);
          if (!w.ready) errors++;
          resolve(w);
        });
      });
      watchers.push(w);
    });
  }

  process.on("message", async (msg) => {
    if (msg.type === "start") {
      for (let i = 0; i < msg.indices.length; i += CONNECT_BATCH) {
        await Promise.all(msg.indices.slice(i, i + CONNECT_BATCH).map(open));
      }
      process.send({ type: "ready", watching: watchers.filter((w) => w.ready).length, errors });
    } else if (msg.type === "count") {
      let received = 0;
      for (const w of watchers) for (let k = 1; k <= msg.upto; k++) if (w.got[k]) received++;
      process.send({ type: "count", received });
    } else if (msg.type === "finish") {
      const hist = new Uint32Array(MAX_MS + 1);
      let missed = 0;
      let received = 0;
      for (const w of watchers) {
        if (!w.ready) continue;
        for (let k = 1; k <= msg.sent; k++) {
          if (!w.got[k]) { missed++; continue; }
          received++;
          hist[Math.max(0, Math.min(MAX_MS, Math.round(w.got[k] - msg.sendTimes[k])))]++;
        }
      }
      for (const w of watchers) { w.closing = true; w.socket.close(); }
      process.send({ type: "done", hist: Array.from(hist), missed, received, disconnects });
      setTimeout(() => process.exit(0), 200);
    }
  });
}

// DESIGN.md section 4: the increment by current price (cents).
const FLOORS = [0, 100000, 500000, 1000000, 2500000, 5000000, 10000000, 25000000];
const STEPS = [2500, 10000, 25000, 50000, 100000, 250000, 500000, 1000000];
function increment(price) {
  let i = 0;
  while (i + 1 < FLOORS.length && price >= FLOORS[i + 1]) i++;
  return STEPS[i];
}

function post(url, body, token) {
  return new Promise((resolve) => {
    const u = new URL(url);
    const data = JSON.stringify(body);
    const headers = { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(data) };
    if (token) headers.Authorization = "Bearer " + token;
    const req = http.request({ host: u.hostname, port: u.port, path: u.pathname, method: "POST", headers }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => {
        let parsed = null;
        try { parsed = JSON.parse(Buffer.concat(chunks).toString()); } catch (e) { parsed = null; }
        resolve({ status: res.statusCode, body: parsed });
      });
    });
    req.on("error", () => resolve({ status: 0, body: null }));
    req.end(data);
  });
}

function ask(children, msg, reply) {
  return Promise.all(children.map((c) => new Promise((resolve) => {
    const on = (m) => { if (m.type === reply) { c.off("message", on); resolve(m); } };
    c.on("message", on);
    c.send(msg);
  })));
}

async function parent() {
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const children = [];
  for (let i = 0; i < args.children; i++) children.push(fork(__filename, [process.argv[2], "child"]));
  const shares = children.map(() => []);
  for (let i = 0; i < args.watchers; i++) shares[i % args.children].push(i);
  const connectStarted = Date.now();
  const ready = await Promise.all(children.map((c, i) => new Promise((resolve) => {
    const on = (m) => { if (m.type === "ready") { c.off("message", on); resolve(m); } };
    c.on("message", on);
    c.send({ type: "start", indices: shares[i] });
  })));
  const watching = ready.reduce((s, m) => s + m.watching, 0);
  const connectErrors = ready.reduce((s, m) => s + m.errors, 0);
  const connectSeconds = (Date.now() - connectStarted) / 1000;
  await sleep(1000);

  const total = args.rate * args.seconds;
  const sendTimes = new Array(total + 1).fill(0);
  let minNext = args.start_cents || 0;
  let refused = 0;
  const maxes = [0, 0];
  let refusal = null;
  let mismatched = 0;
  const started = Date.now();
  const bidMs = [];  // each bid request's answer time (the app's includes its transaction)
  let sent = 0;
  for (let k = 1; k <= total; k++) {
    const due = started + ((k - 1) * 1000) / args.rate;
    if (due > Date.now()) await sleep(due - Date.now());
    sendTimes[k] = Date.now();
    let r;
    if (args.mode === "app") {
      // Two bidders take turns; each bid tops the other's maximum, so every bid is accepted
      // and moves the price (one bid_placed per bid).
      const amount = Math.max(minNext, maxes[(k + 1) % 2] + increment(maxes[(k + 1) % 2]));
      r = await post(`${args.bid_url}/api/v1/lots/${args.lot_id}/bids`, { max_amount_cents: amount },
                     args.tokens[k % 2]);
      maxes[k % 2] = amount;
    } else {
      r = await post(`${args.bid_url}/bid`, { lot_id: args.lot_id, bid_count: args.base + k });
    }
    sent = k;
    bidMs.push(Date.now() - sendTimes[k]);
    if (r.status !== 201) { refused++; refusal = r.body; break; }
    if (r.body.lot.bid_count !== args.base + k) mismatched++;
    if (args.mode === "app") minNext = r.body.lot.min_next_bid_cents;
  }
  const bidSeconds = (Date.now() - started) / 1000;
  const bidSorted = [...bidMs].sort((a, b) => a - b);
  // Drain: wait until every watcher has every event, or 10 s.
  const expected = watching * sent;
  let received = 0;
  const drainUntil = Date.now() + 10000;
  while (Date.now() < drainUntil) {
    received = (await ask(children, { type: "count", upto: sent }, "count")).reduce((s, m) => s + m.received, 0);
    if (received >= expected) break;
    await sleep(250);
  }
  const deliverySeconds = (Date.now() - started) / 1000;
  const done = await ask(children, { type: "finish", sent, sendTimes }, "done");
  const hist = new Array(MAX_MS + 1).fill(0);
  for (const d of done) d.hist.forEach((n, ms) => { hist[ms] += n; });
  const count = hist.reduce((s, n) => s + n, 0);
  function pct(p) {
    const rank = Math.max(1, Math.ceil((p / 100) * count));
    let seen = 0;
    for (let ms = 0; ms <= MAX_MS; ms++) { seen += hist[ms]; if (seen >= rank) return ms; }
    return null;
  }
  console.log(JSON.stringify({
    mode: args.mode, watchers: args.watchers, watching, connect_errors: connectErrors,
    connect_seconds: connectSeconds, bids_sent: sent, bids_refused: refused, bid_count_mismatches: mismatched, refusal,
    bid_seconds: bidSeconds, delivered: done.reduce((s, d) => s + d.received, 0),
    missed: done.reduce((s, d) => s + d.missed, 0) + (args.watchers - watching) * sent,
    disconnects: done.reduce((s, d) => s + d.disconnects, 0),
    delivered_per_s: count / bidSeconds, delivery_seconds: deliverySeconds,
    bid_started_ms: started, delivery_ended_ms: started + deliverySeconds * 1000,
    p50_ms: pct(50), p95_ms: pct(95), p99_ms: pct(99), max_ms: pct(100),
    bid_p50_ms: percentile(bidSorted, 50), bid_p95_ms: percentile(bidSorted, 95),
  }));
}

if (process.argv[3] === "child") child(); else parent();
