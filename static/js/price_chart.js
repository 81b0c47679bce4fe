/* A lot's price over time, drawn with uPlot (static/vendor, from npm).
 *
 * Auctions: one point per accepted bid (its time, and the price it moved the lot to), from the
 * page's data-points (BiddingService.price_points); lot.js sends `hx:bid-placed` for each live
 * bid and `hx:history-gap` after missing events, when the points are reloaded from the history
 * API. Dutch lots: the price curve from the formula (HX.dutch), with a marker at now.
 * The chart is role="img" labelled by the sentence under it, which is kept up to date; the
 * container's data-point-count says how many points are drawn (the browser test reads it).
 */
(function () {
  "use strict";

  var HX = window.HX;
  var box = document.querySelector("[data-price-chart]");
  var root = document.getElementById("lot");
  if (!HX || !box || !root || typeof window.uPlot !== "function") return;

  var uPlot = window.uPlot;
  var t = HX.t;
  var plotEl = box.querySelector('[data-field="chart-plot"]');
  var summary = box.querySelector('[data-field="chart-summary"]');
  var kind = box.getAttribute("data-kind");
  var points = [];
  try {
    points = JSON.parse(box.getAttribute("data-points") || "[]");
  } catch (err) {
    points = [];
  }

  function intOrNull(value) {
    if (value === undefined || value === null || value === "") return null;
    var n = parseInt(value, 10);
    return isNaN(n) ? null : n;
  }

  function cssVar(name, fallback) {
    var value = window.getComputedStyle(document.documentElement).getPropertyValue(name);
    return value && value.trim() ? value.trim() : fallback;
  }

  var colors = {
    line: cssVar("--brand", "#4338ca"),
    fill: cssVar("--brand-soft", "#eef0ff"),
    axis: cssVar("--text-muted", "#4b5563"),
    grid: cssVar("--border", "#e5e7eb")
  };

  var timeSeconds = null;
  var timeShort = null;
  var timeLong = null;
  try {
    timeSeconds = new Intl.DateTimeFormat(HX.lang, { hour: "numeric", minute: "2-digit", second: "2-digit" });
    timeShort = new Intl.DateTimeFormat(HX.lang, { hour: "numeric", minute: "2-digit" });
    timeLong = new Intl.DateTimeFormat(HX.lang, { month: "short", day: "numeric", hour: "numeric", minute: "2-digit" });
  } catch (err) { /* uPlot's own labels */ }

  // Whole seconds and up: bids are seconds apart at the closest, and labels never repeat.
  var TIME_STEPS = [1, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200,
    86400, 172800, 604800, 2592000];

  /** Axis labels in the reader's language: with seconds within a quarter hour, times of day
   *  within a day, dates beyond. */
  function timeLabels(u, splits) {
    var range = u.scales.x.max - u.scales.x.min;
    var format = range > 86400 ? timeLong : range > 900 ? timeShort : timeSeconds;
    return splits.map(function (s) {
      return format ? format.format(new Date(s * 1000)) : String(s);
    });
  }

  function moneyLabels(u, splits) {
    return splits.map(function (v) { return HX.usd(Math.round(v)); });
  }

  /** Keep a one-point chart readable: a range around the point instead of a zero-width one. */
  function padRange(pad) {
    return function (u, min, max) {
      if (min === null || max === null) return [0, 1];
      if (min === max) return [min - pad(min), max + pad(max)];
      var extra = (max - min) * 0.08;
      return [min - extra, max + extra];
    };
  }

  /* ---- the data: [x seconds], [line cents], [dot cents] -------------------------------------- */

  function auctionData() {
    var xs = [];
    var line = [];
    var dots = [];
    points.forEach(function (p) {
      var ms = HX.parseTime(p.at);
      if (ms === null) return;
      xs.push(ms / 1000);
      line.push(p.amount_cents);
      dots.push(p.amount_cents);
    });
    // The last price holds until now (or the end): a tail without a dot.
    if (xs.length) {
      var endsAt = HX.parseTime(root.dataset.endsAt);
      var until = HX.now();
      if (endsAt !== null && endsAt < until) until = endsAt;
      if (until / 1000 > xs[xs.length - 1]) {
        xs.push(until / 1000);
        line.push(line[line.length - 1]);
        dots.push(null);
      }
    }
    return [xs, line, dots];
  }

  function dutchParams() {
    return {
      startPriceCents: intOrNull(root.dataset.startPriceCents),
      floorPriceCents: intOrNull(root.dataset.floorPriceCents),
      halfLifeSeconds: intOrNull(root.dataset.halfLifeSeconds),
      startsAt: HX.parseTime(root.dataset.startsAt),
      endsAt: HX.parseTime(root.dataset.endsAt)
    };
  }

  var markerCents = null;

  function dutchData() {
    var p = dutchParams();
    if (p.startPriceCents === null || p.startsAt === null || !p.halfLifeSeconds) return [[], [], []];
    var half = p.halfLifeSeconds * 1000;
    var steps = [];
    var at = p.startsAt;
    for (var k = 0; k < 64; k++) {
      if (p.endsAt !== null && at >= p.endsAt) break;
      var price = HX.dutch(p, at).price;
      steps.push([at, price]);
      if (price <= p.floorPriceCents) break;
      at = p.startsAt + (k + 1) * half;
    }
    var last = steps[steps.length - 1];
    var end = p.endsAt !== null ? p.endsAt : last[0] + half;
    if (end > last[0]) steps.push([end, last[1]]);
    var now = HX.now();
    var xs = [];
    var line = [];
    var dots = [];
    // The marker is the live price (the one lot.js shows, from the same formula and clock) at
    // now, only while the lot is on sale; `markerCents` lets the tick notice the next drop.
    var marker = dutchMarkerAt(now);
    var marked = marker === null;
    steps.forEach(function (step) {
      if (!marked && now < step[0]) {
        xs.push(now / 1000);
        line.push(marker);
        dots.push(marker);
        marked = true;
      }
      xs.push(step[0] / 1000);
      line.push(step[1]);
      dots.push(null);
    });
    if (!marked) {  // at the floor, past the drawn curve: the line runs on to now
      xs.push(now / 1000);
      line.push(marker);
      dots.push(marker);
    }
    markerCents = marker;
    return [xs, line, dots];
  }

  function data() {
    return kind === "dutch" ? dutchData() : auctionData();
  }

  /* ---- the words ------------------------------------------------------------------------------ */

  function describe() {
    if (kind !== "auction" || !summary) return;
    var count = intOrNull(root.dataset.bidCount);
    if (count === null || count < points.length) count = points.length;
    if (!points.length) {
      summary.textContent = t("chart_none");
    } else if (points.length === 1) {
      summary.textContent = t("chart_one", { price: HX.usd(points[0].amount_cents) });
    } else {
      summary.textContent = t("chart_many", {
        from: HX.usd(points[0].amount_cents), to: HX.usd(points[points.length - 1].amount_cents), n: count
      });
    }
  }

  /* ---- drawing -------------------------------------------------------------------------------- */

  function height() {
    return box.clientWidth < 480 ? 200 : 260;
  }

  var chart = null;

  function draw() {
    var d = data();
    var count = kind === "dutch" ? d[0].length : points.length;
    box.setAttribute("data-point-count", String(count));
    if (kind === "dutch") box.setAttribute("data-marker-cents", markerCents === null ? "" : String(markerCents));
    describe();
    if (!d[0].length) {
      plotEl.hidden = true;
      return;
    }
    plotEl.hidden = false;
    if (chart) {
      chart.setData(d);
      return;
    }
    chart = new uPlot({
      width: Math.max(200, plotEl.clientWidth || box.clientWidth),
      height: height(),
      legend: { show: false },
      cursor: { drag: { x: false, y: false }, points: { size: 8 } },
      scales: {
        x: { time: true, range: padRange(function () { return 60; }) },
        y: { range: padRange(function (v) { return Math.max(100, Math.abs(v) * 0.1); }) }
      },
      axes: [
        { stroke: colors.axis, grid: { stroke: colors.grid, width: 1 }, ticks: { stroke: colors.grid }, values: timeLabels,
          space: 110, incrs: TIME_STEPS },
        { stroke: colors.axis, grid: { stroke: colors.grid, width: 1 }, ticks: { stroke: colors.grid }, values: moneyLabels, size: 84 }
      ],
      series: [
        {},
        { label: t("chart_price"), stroke: colors.line, width: 2, fill: colors.fill,
          paths: uPlot.paths.stepped({ align: 1 }), points: { show: false } },
        { label: t("chart_price"), stroke: colors.line, fill: "#ffffff", width: 2,
          paths: function () { return null; }, points: { show: true, size: 8, width: 2 } }
      ]
    }, d, plotEl);
    box.setAttribute("data-drawn", "true");
  }

  function addPoint(point) {
    if (!point || typeof point.seq !== "number" || HX.parseTime(point.at) === null) return false;
    for (var i = 0; i < points.length; i++) {
      if (points[i].seq === point.seq) return false;
    }
    points.push({ seq: point.seq, at: point.at, amount_cents: point.amount_cents });
    points.sort(function (a, b) { return a.seq - b.seq; });
    return true;
  }

  root.addEventListener("hx:bid-placed", function (event) {
    if (kind === "auction" && addPoint(event.detail)) draw();
  });

  /** After missed events: reload the newest bids from the history API and merge them in. */
  root.addEventListener("hx:history-gap", function () {
    var url = root.dataset.historyUrl;
    if (!url || !window.fetch) return;
    window.fetch(url + "?per_page=100", { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (page) {
        if (!page || !page.items) return;
        var changed = false;
        page.items.forEach(function (entry) { changed = addPoint(entry) || changed; });
        if (changed) draw();
      })
      .catch(function () { /* the next event or reconnect tries again */ });
  });

  // An auction's tail follows the clock, redrawn every 15 seconds. A Dutch lot's marker is the
  // live price at now: redrawn every second while there is one (a curve of a few points), and at
  // once when the lot stops selling, so it never sits on the old price after a drop.
  var ticks = 0;
  HX.onTick(function (at) {
    ticks += 1;
    if (!chart) return;
    if (kind === "dutch" ? (markerCents !== null || dutchMarkerAt(at) !== null) : ticks % 15 === 0) draw();
  });

  /** What the Dutch marker should show at `at`: the live price, or null when there is none. */
  function dutchMarkerAt(at) {
    var p = dutchParams();
    var open = root.dataset.status === undefined || root.dataset.status === "live";
    if (!open || p.startPriceCents === null || p.startsAt === null || !p.halfLifeSeconds) return null;
    if (at <= p.startsAt || (p.endsAt !== null && at >= p.endsAt)) return null;
    return HX.dutch(p, at).price;
  }

  if (window.ResizeObserver) {
    var lastWidth = 0;
    new window.ResizeObserver(function () {
      var width = Math.max(200, plotEl.clientWidth || box.clientWidth);
      if (chart && width !== lastWidth) {
        lastWidth = width;
        chart.setSize({ width: width, height: height() });
      }
    }).observe(box);
  }

  draw();
})();
