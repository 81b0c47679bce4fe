/* Handle Exchange: code every page shares.
 *
 * One Socket.IO connection, the server's clock, money and time formatting, translated strings,
 * countdowns, dismissable flashes and private alerts (outbid, won). Page scripts (lot.js,
 * market.js, admin.js) use it through window.HX. Data comes from <meta> tags and data-
 * attributes: no inline scripts, so a strict Content-Security-Policy can forbid them.
 */
(function () {
  "use strict";

  function meta(name) {
    var el = document.querySelector('meta[name="' + name + '"]');
    return el ? el.getAttribute("content") || "" : "";
  }

  var lang = document.documentElement.getAttribute("lang") || "en";

  /* ---- translated strings ------------------------------------------------------------ */
  var strings = {};
  try {
    strings = JSON.parse(meta("hx-i18n") || "{}");
  } catch (err) {
    strings = {};
  }

  /** A translated string with its {placeholders} filled in; never concatenate sentences. */
  function t(key, params) {
    var text = Object.prototype.hasOwnProperty.call(strings, key) ? strings[key] : key;
    if (!params) return text;
    return text.replace(/\{(\w+)\}/g, function (whole, name) {
      return Object.prototype.hasOwnProperty.call(params, name) ? String(params[name]) : whole;
    });
  }

  /** "1 bid" / "3 bids", in the form the language's plural rules pick (_i18n.html carries each). */
  function bidsText(n) {
    var rule = n === 1 ? "one" : "other";
    try {
      rule = new Intl.PluralRules(lang).select(n);
    } catch (err) { /* old browser: English rules */ }
    var key = "bids_" + rule;
    return t(Object.prototype.hasOwnProperty.call(strings, key) ? key : "bids_other", { n: n });
  }

  /* ---- the server's clock ------------------------------------------------------------ */
  // Countdowns use the server's time, whatever the browser's clock says: offset = server - local.
  var offset = 0;

  function setServerTime(iso) {
    var ms = typeof iso === "string" ? Date.parse(iso) : NaN;
    if (!isNaN(ms)) offset = ms - Date.now();
  }

  function now() {
    return Date.now() + offset;
  }

  setServerTime(meta("server-time"));

  function parseTime(iso) {
    if (!iso) return null;
    var ms = Date.parse(iso);
    return isNaN(ms) ? null : ms;
  }

  /* ---- money -------------------------------------------------------------------------- */
  // The page's language, as the server's `usd` filter formats it ("$50,000", "50 000 $US"), with
  // Latin digits in Arabic as Babel writes them on the server.
  var numberLocale = lang || "en";
  function currencyFormat(fractionDigits) {
    var options = { style: "currency", currency: "USD", numberingSystem: "latn",
                    minimumFractionDigits: fractionDigits, maximumFractionDigits: fractionDigits };
    try {
      return new Intl.NumberFormat(numberLocale, options);
    } catch (err) {
      return new Intl.NumberFormat("en-US", options);
    }
  }
  var rightToLeft = document.documentElement.dir === "rtl";
  var wholeDollars = currencyFormat(0);
  var withCents = currencyFormat(2);

  /** Integer cents as dollars, like the server's `usd` filter: "$50,000", or "$1,025.50". */
  function usd(cents) {
    if (cents === null || cents === undefined || cents === "") return "—";
    var n = Number(cents);
    if (!isFinite(n)) return "—";
    // Division happens only here, for display; amounts stay integer cents everywhere else.
    var text = (n % 100 === 0 ? wholeDollars : withCents).format(n / 100);
    // As the server's filter: a left-to-right mark keeps "US$" in one piece in right-to-left text.
    return rightToLeft ? text.replace("US$", "US$\u200e") : text;
  }

  var decimalComma = false;
  try {
    decimalComma = new Intl.NumberFormat(numberLocale, { numberingSystem: "latn" }).formatToParts(1.5)
      .some(function (part) { return part.type === "decimal" && part.value === ","; });
  } catch (err) { /* English reading below */ }

  /** What a person typed ("1,025", "$1025.50") as integer cents, or null. No floating point. */
  function parseDollars(text) {
    if (typeof text !== "string") return null;
    // Spaces, the dollar sign and its "US" (as "50 000 $US" or "US$ 50,000" show it) carry nothing.
    var cleaned = text.replace(/[\s$\u200e\u200f]|US/g, "");
    // Where the language writes decimals with a comma ("1 025,50" in French), read it so.
    if (decimalComma && cleaned.indexOf(".") === -1) cleaned = cleaned.replace(/,(\d{1,2})$/, ".$1");
    cleaned = cleaned.replace(/,/g, "");
    if (!cleaned) return null;
    var parts = cleaned.split(".");
    if (parts.length > 2) return null;
    var whole = parts[0];
    var frac = parts.length === 2 ? parts[1] : "";
    if (!/^\d*$/.test(whole) || !/^\d{0,2}$/.test(frac) || (whole === "" && frac === "")) return null;
    whole = whole.replace(/^0+(?=\d)/, "");
    if (whole.length > 12) return null; // far above any bid we accept; keeps the integer exact
    var cents = Number(whole || "0") * 100 + Number((frac + "00").slice(0, 2));
    if (!Number.isSafeInteger(cents) || cents <= 0) return null;
    return cents;
  }

  /* ---- time --------------------------------------------------------------------------- */
  function pad(n) {
    return (n < 10 ? "0" : "") + n;
  }

  /** A duration for countdowns: "2d 4h 05m", "4h 05m 09s", "4m 09s". */
  function duration(ms) {
    var total = Math.max(0, Math.ceil(ms / 1000));
    var d = Math.floor(total / 86400);
    var h = Math.floor((total % 86400) / 3600);
    var m = Math.floor((total % 3600) / 60);
    var s = total % 60;
    if (d > 0) return t("duration_days", { d: d, h: h, m: pad(m) });
    if (h > 0) return t("duration_hours", { h: h, m: pad(m), s: pad(s) });
    return t("duration_minutes", { m: m, s: pad(s) });
  }

  /* One rule for every time shown (the server's <time data-local-time> and the ones scripts make):
   * the reader's own time with its zone's name ("Dec 8, 2026, 3:04 PM GMT+1"), and the same
   * moment in UTC in the element's title, for hover. Without JavaScript the server's text says
   * "UTC" (the `ui.when` macro in templates/_macros.html). dateStyle/timeStyle cannot be combined
   * with timeZoneName, hence the separate fields. */
  function timeFormat(withSeconds, zone) {
    var options = { year: "numeric", month: "short", day: "numeric", hour: "numeric", minute: "2-digit",
                    timeZoneName: "short", numberingSystem: "latn" };
    if (withSeconds) options.second = "2-digit";
    if (zone) options.timeZone = zone;
    try {
      return new Intl.DateTimeFormat(lang, options);
    } catch (err) {
      return null; /* an old browser keeps the server's UTC text */
    }
  }
  var localTimeFormats = [timeFormat(false), timeFormat(true)];
  var utcTimeFormats = [timeFormat(false, "UTC"), timeFormat(true, "UTC")];

  function formatWith(formats, iso, withSeconds) {
    var ms = parseTime(iso);
    if (ms === null) return "—";
    var format = formats[withSeconds ? 1 : 0];
    return format ? format.format(new Date(ms)) : iso;
  }

  /** An ISO time in the reader's time zone, naming the zone: "Dec 8, 2026, 3:04 PM GMT+1". */
  function formatTime(iso, withSeconds) {
    return formatWith(localTimeFormats, iso, withSeconds);
  }

  /** The same moment in UTC ("Dec 8, 2026, 2:04 PM UTC"), for titles. */
  function formatUtcTime(iso, withSeconds) {
    return formatWith(utcTimeFormats, iso, withSeconds);
  }

  /** Show one <time> element's moment by the rule above; `iso` is its datetime. */
  function showTime(el, iso, withSeconds) {
    if (!localTimeFormats[0]) return;
    // The server's title (its translated UTC text) stays while the moment is the server's; a
    // script-made element, or one whose moment a script changed, gets its title here.
    if (!el.title || el.dataset.localized) el.title = formatUtcTime(iso, withSeconds);
    el.textContent = formatTime(iso, withSeconds);
    el.dataset.localized = iso;
  }

  /** Show every <time data-local-time> under root in local time; keep UTC in the tooltip. */
  function localizeTimes(root) {
    var nodes = (root || document).querySelectorAll("time[data-local-time]");
    Array.prototype.forEach.call(nodes, function (el) {
      var iso = el.getAttribute("datetime");
      if (!iso || el.dataset.localized === iso) return;
      showTime(el, iso, el.getAttribute("data-local-time") === "seconds");
    });
  }

  /** A <time> element for an ISO time, shown locally (UTC in its title). */
  function timeElement(iso, withSeconds) {
    var el = document.createElement("time");
    el.setAttribute("datetime", iso || "");
    el.setAttribute("data-local-time", withSeconds ? "seconds" : "");
    el.textContent = formatTime(iso, withSeconds);
    if (iso) showTime(el, iso, withSeconds);
    return el;
  }

  /* ---- Dutch prices ------------------------------------------------------------------- */
  /**
   * The Dutch price at `at` (ms, server time), as the engine computes it, in integers:
   * price = max(floor, floor_div(start, 2**n)), n = whole half-lives since the start.
   * Returns {price, nextDrop} with nextDrop null at the floor or past the end.
   */
  function dutch(p, at) {
    var start = BigInt(p.startPriceCents);
    var floor = BigInt(p.floorPriceCents);
    var half = BigInt(p.halfLifeSeconds) * 1000n;
    var n = 0n;
    if (p.startsAt !== null && at >= p.startsAt && half > 0n) {
      n = BigInt(Math.floor(at - p.startsAt)) / half;
    }
    var bits = BigInt(start.toString(2).length);
    if (n > bits) n = bits;
    var price = start >> n;
    if (price < floor) price = floor;
    var nextDrop = null;
    if (price > floor && p.startsAt !== null && half > 0n) {
      nextDrop = p.startsAt + Number((n + 1n) * half);
      if (p.endsAt !== null && nextDrop >= p.endsAt) nextDrop = null;
    }
    return { price: Number(price), nextDrop: nextDrop };
  }

  /* ---- a per-second tick, on the server's second boundaries ---------------------------- */
  var tickers = [];

  function onTick(fn) {
    tickers.push(fn);
  }

  function tick() {
    var at = now();
    for (var i = 0; i < tickers.length; i++) {
      try {
        tickers[i](at);
      } catch (err) {
        if (window.console) console.error(err);
      }
    }
    // Last, so countdowns that page scripts just retargeted show their new time at once.
    updateCountdowns(at);
    window.setTimeout(tick, 1000 - (now() % 1000) + 15);
  }

  /* Generic countdowns: <span data-countdown data-to="ISO" data-template="ends_in" data-done="closing">. */
  var URGENT_MS = 5 * 60 * 1000;

  function updateCountdowns(at) {
    var nodes = document.querySelectorAll("[data-countdown]");
    Array.prototype.forEach.call(nodes, function (el) {
      var to = parseTime(el.getAttribute("data-to"));
      if (to === null) return;
      var left = to - at;
      var template = el.getAttribute("data-template");
      if (left > 0) {
        var time = duration(left);
        el.textContent = template ? t(template, { time: time }) : time;
        el.classList.toggle("is-urgent", template === "ends_in" && left < URGENT_MS);
      } else {
        var done = el.getAttribute("data-done");
        el.textContent = done ? t(done) : "";
        el.classList.remove("is-urgent");
        if (!el.hasAttribute("data-fired")) {
          el.setAttribute("data-fired", "");
          el.dispatchEvent(new CustomEvent("hx:countdown-done", { bubbles: true }));
        }
      }
    });
  }


  /* ---- idempotency keys --------------------------------------------------------------- */
  function newKey() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") return window.crypto.randomUUID();
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return (b < 16 ? "0" : "") + b.toString(16); }).join("");
  }

  /* ---- the live badge ------------------------------------------------------------------ */
  var badge = document.querySelector('[data-testid="live-badge"]');

  function setBadge(state) {
    if (!badge) return;
    badge.hidden = false;
    badge.setAttribute("data-state", state);
    var label = badge.querySelector(".live-label");
    if (label) label.textContent = t(state);
    badge.title = state === "live" ? t("live_title") : state === "reconnecting" ? t("reconnecting_title") : "";
  }

  /* ---- toasts: private alerts ------------------------------------------------------------- */
  var toastBox = document.getElementById("toasts");
  var lotUrlPrefix = toastBox ? toastBox.getAttribute("data-lot-url-prefix") || "/lots/" : "/lots/";

  function lotUrl(id) {
    return lotUrlPrefix + encodeURIComponent(id);
  }

  function dismissible(el, closeButton) {
    closeButton.addEventListener("click", function () {
      el.remove();
    });
  }

  /** A private alert in the corner; `key` names its sentence in _i18n.html (the kind by default). */
  function showAlert(kind, data, key) {
    if (!toastBox || !data) return;
    var toast = document.createElement("div");
    toast.className = "toast toast-" + kind.replace(/_/g, "-");
    toast.setAttribute("data-testid", kind.replace(/_/g, "-") + "-alert");
    toast.setAttribute("data-lot-id", String(data.lot_id));

    var body = document.createElement("div");
    body.className = "toast-body";
    var text = document.createElement("p");
    text.textContent = t(key || kind, { handle: data.handle || "", price: usd(data.amount_cents),
                                        time: data.ends_at ? formatTime(data.ends_at) : "" });
    body.appendChild(text);
    if (kind === "won" && data.order_id !== undefined && data.order_id !== null) {
      // A win leads to its order: that is where the winner pays, or finds the receipt.
      var orderLink = document.createElement("a");
      orderLink.href = "/orders/" + encodeURIComponent(data.order_id);
      orderLink.textContent = t("standing_order");
      body.appendChild(orderLink);
    } else if (data.lot_id !== undefined && data.lot_id !== null) {
      var link = document.createElement("a");
      link.href = lotUrl(data.lot_id);
      link.textContent = t("view_lot");
      body.appendChild(link);
    }

    var close = document.createElement("button");
    close.type = "button";
    close.className = "toast-close";
    close.setAttribute("aria-label", t("dismiss"));
    close.textContent = "×";
    dismissible(toast, close);

    toast.appendChild(body);
    toast.appendChild(close);
    toastBox.appendChild(toast);
    // Keep the corner readable: the newest few alerts only.
    while (toastBox.children.length > 4) toastBox.removeChild(toastBox.firstElementChild);
  }

  /* ---- forms that undo something: asked once more (data-confirm holds the question) ----- */
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form && form.getAttribute ? form.getAttribute("data-confirm") : null;
    if (question && !window.confirm(question)) event.preventDefault();
  });

  /* ---- flashes ------------------------------------------------------------------------- */
  Array.prototype.forEach.call(document.querySelectorAll(".flash [data-dismiss]"), function (button) {
    button.hidden = false;
    dismissible(button.closest(".flash"), button);
  });

  /* ---- the header's nav on a phone: one line that scrolls sideways ----------------------- */
  // app.css keeps the nav on one line on narrow screens; where a language's words do not fit,
  // a fade at the edge says there is more (data-more-start / data-more-end), and the current
  // page's link is scrolled into view.
  var siteNav = document.querySelector(".site-nav");

  function markNavOverflow() {
    var max = siteNav.scrollWidth - siteNav.clientWidth;
    var pos = Math.abs(siteNav.scrollLeft); // negative when right to left
    siteNav.toggleAttribute("data-more-end", max > 1 && pos < max - 1);
    siteNav.toggleAttribute("data-more-start", max > 1 && pos > 1);
  }

  if (siteNav) {
    var currentLink = siteNav.querySelector("[aria-current=page]");
    if (currentLink && siteNav.scrollWidth > siteNav.clientWidth + 1) {
      currentLink.scrollIntoView({ block: "nearest", inline: "nearest" });
    }
    siteNav.addEventListener("scroll", markNavOverflow, { passive: true });
    // The nav's own size changes with the window, the language and the unread count.
    if (window.ResizeObserver) new window.ResizeObserver(markNavOverflow).observe(siteNav);
    else window.addEventListener("resize", markNavOverflow);
    markNavOverflow();
  }

  /* ---- the socket ---------------------------------------------------------------------- */
  var socket = null;
  var connectHandlers = [];

  function onConnect(fn) {
    connectHandlers.push(fn);
    if (socket && socket.connected) fn(socket);
  }

  if (typeof window.io === "function") {
    setBadge("connecting");
    socket = window.io({ transports: ["websocket", "polling"] });
    socket.on("connect", function () {
      setBadge("live");
      connectHandlers.forEach(function (fn) {
        try {
          fn(socket);
        } catch (err) {
          if (window.console) console.error(err);
        }
      });
    });
    socket.on("disconnect", function () {
      setBadge("reconnecting");
    });
    socket.on("connect_error", function () {
      setBadge("reconnecting");
    });
    socket.on("hello", function (data) {
      if (data) setServerTime(data.server_time);
    });
    // Any event that carries the server's time (lot_state, a bid's ack) corrects the clock.
    socket.onAny(function (event, data) {
      if (data && typeof data.server_time === "string") setServerTime(data.server_time);
    });
    socket.on("outbid", function (data) {
      showAlert("outbid", data);
    });
    socket.on("won", function (data) {
      showAlert("won", data);
    });
    // A watched lot ends soon: the watcher leads, may bid, or may still buy it.
    socket.on("lot_ending", function (data) {
      if (!data) return;
      showAlert("lot_ending", data, data.leading ? "lot_ending_leading"
        : data.lot_kind === "auction" ? "lot_ending_bid" : "lot_ending_buy");
    });
  } else {
    setBadge("offline");
  }

  /** POST JSON to one of our endpoints (with the CSRF token); resolves with the answer, rejects
   *  with {code, message, action} (our error, or a generic sentence: `fallback` or page expired). */
  function postJSON(url, body, fallback) {
    return window.fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": meta("csrf-token") },
      body: JSON.stringify(body || {})
    }).then(function (response) {
      return response.json().catch(function () { return null; }).then(function (data) {
        if (response.ok && data && !data.error) return data;
        var error = data && data.error && typeof data.error === "object" ? data.error : {};
        throw {
          code: error.code || "http_" + response.status,
          message: error.message || (response.status === 400 || response.status === 403 ? t("page_expired") : fallback),
          action: error.action_url,
          details: error.details || null
        };
      });
    }, function () {
      throw { code: "network", message: t("network_error") };
    });
  }

  window.HX = {
    postJSON: postJSON,
    lang: lang,
    t: t,
    bidsText: bidsText,
    now: now,
    setServerTime: setServerTime,
    parseTime: parseTime,
    usd: usd,
    parseDollars: parseDollars,
    duration: duration,
    formatTime: formatTime,
    formatUtcTime: formatUtcTime,
    localizeTimes: localizeTimes,
    timeElement: timeElement,
    dutch: dutch,
    onTick: onTick,
    newKey: newKey,
    lotUrl: lotUrl,
    csrfToken: function () { return meta("csrf-token"); },
    userAlias: meta("user-alias"),
    socket: socket,
    onConnect: onConnect,
    URGENT_MS: URGENT_MS
  };

  localizeTimes(document);
  // Start ticking after page scripts have registered (they run right after this file).
  window.setTimeout(tick, 0);
})();
