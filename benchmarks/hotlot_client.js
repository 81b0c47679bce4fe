// Hot-lot load generator: N concurrent bidders, each with its own bearer token, bidding on one
// lot over HTTP (keep-alive) for a fixed time. Prints one JSON line with every latency summary.
// Usage: node benchmarks/hotlot_client.js '{"url":..., "lot_id":..., "tokens":[...], "seconds":10}'
"use strict";
const http = require("http");
const { percentile: pct } = require("./percentile");

const args = JSON.parse(process.argv[2]);
const url = new URL(args.url);
const agent = new http.Agent({ keepAlive: true, maxSockets: args.tokens.length });

// DESIGN.md section 4: the increment by current price (cents).
const FLOORS = [0, 100000, 500000, 1000000, 2500000, 5000000, 10000000, 25000000];
const STEPS = [2500, 10000, 25000, 50000, 100000, 250000, 500000, 1000000];
function increment(price) {
  let i = 0;
  while (i + 1 < FLOORS.length && price >= FLOORS[i + 1]) i++;
  return STEPS[i];
}

let minNext = args.start_cents;
const spread = args.spread || 4;  // a bid is the minimum heard of plus 0..spread-1 increments
const latencies = [];
const accepted = [];
const refused = {};
let errors = 0;

function post(path, token, body) {
  return new Promise((resolve) => {
    const data = JSON.stringify(body);
    const started = process.hrtime.bigint();
    const req = http.request({
      host: url.hostname, port: url.port, path, method: "POST", agent,
      headers: { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(data),
                 Authorization: "Bearer " + token },
    }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => {
        const ms = Number(process.hrtime.bigint() - started) / 1e6;
        let parsed = null;
        try { parsed = JSON.parse(Buffer.concat(chunks).toString()); } catch (e) { parsed = null; }
        resolve({ status: res.statusCode, body: parsed, ms });
      });
    });
    req.on("error", (err) => resolve({ status: 0, body: { error: { code: String(err.code) } }, ms: 0 }));
    req.end(data);
  });
}

async function bidder(index, token, deadline) {
  while (Date.now() < deadline) {
    const amount = minNext + Math.floor(Math.random() * spread) * increment(minNext);
    const r = await post(`/api/v1/lots/${args.lot_id}/bids`, token, { max_amount_cents: amount });
    latencies.push(r.ms);
    if (r.status === 200 || r.status === 201) {
      accepted.push([index, amount]);
      const next = r.body && r.body.lot && r.body.lot.min_next_bid_cents;
      if (next && next > minNext) minNext = next;
    } else if (r.status === 0 || r.status >= 500) {
      errors++;
    } else {
      const code = (r.body && r.body.error && r.body.error.code) || String(r.status);
      refused[code] = (refused[code] || 0) + 1;
      if (code === "below_minimum") {
        // The refusal names the lot's minimum as the server saw it (error.details.minimum_cents),
        // as a bidder in the browser sees it live; without it, guess one increment more.
        const floor = r.body && r.body.error && r.body.error.details && r.body.error.details.minimum_cents;
        minNext = floor && floor > minNext ? floor : minNext + increment(minNext);
      }
    }
  }
}


(async () => {
  const started = Date.now();
  const deadline = started + args.seconds * 1000;
  await Promise.all(args.tokens.map((t, i) => bidder(i, t, deadline)));
  const elapsed = (Date.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  console.log(JSON.stringify({
    elapsed, attempts: latencies.length, accepted: accepted.length, refused, errors,
    accepted_per_s: accepted.length / elapsed, attempts_per_s: latencies.length / elapsed,
    p50_ms: pct(latencies, 50), p95_ms: pct(latencies, 95), p99_ms: pct(latencies, 99),
  }));
  agent.destroy();
})();
