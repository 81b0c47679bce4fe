/* The market grid, live: Dutch prices fall on the second, and open lots follow their bids.
 *
 * Each open card is watched (`watch {lot_id}`); every lot event carries absolute values and a
 * seq, so a card simply applies anything newer than what it shows.
 */
(function () {
  "use strict";

  var HX = window.HX;
  if (!HX) return;
  var t = HX.t;

  function intOrNull(value) {
    if (value === undefined || value === null || value === "") return null;
    var n = parseInt(value, 10);
    return isNaN(n) ? null : n;
  }

  var OPEN = ["live", "scheduled"];
  var cards = {};

  Array.prototype.forEach.call(document.querySelectorAll('[data-testid="lot-card"]'), function (el) {
    var id = intOrNull(el.dataset.lotId);
    if (id === null) return;
    var card = {
      id: id,
      el: el,
      kind: el.dataset.kind,
      status: el.dataset.status,
      seq: intOrNull(el.dataset.seq) || 0,
      startsAt: HX.parseTime(el.dataset.startsAt),
      endsAt: HX.parseTime(el.dataset.endsAt),
      price: el.querySelector('[data-field="price"]'),
      label: el.querySelector('[data-field="price-label"]'),
      meta: el.querySelector(".lot-card-meta"),
      bids: el.querySelector('[data-field="bid-count"]'),
      dutch: null
    };
    if (card.kind === "dutch") {
      card.dutch = {
        startPriceCents: intOrNull(el.dataset.startPriceCents),
        floorPriceCents: intOrNull(el.dataset.floorPriceCents),
        halfLifeSeconds: intOrNull(el.dataset.halfLifeSeconds),
        startsAt: card.startsAt,
        endsAt: card.endsAt
      };
    }
    cards[id] = card;
  });

  function iso(ms) {
    return ms === null ? "" : new Date(ms).toISOString();
  }

  /** The card's right-hand timer (or status), from its current state. */
  function renderTimer(card, at) {
    var timer = card.meta ? card.meta.querySelector('[data-countdown], [data-field="status"], [data-field="timer"]') : null;
    if (!card.meta) return;
    if (!timer) {
      timer = document.createElement("span");
      card.meta.appendChild(timer);
    }
    var to = null;
    var template = "";
    var done = "";
    if (card.status === "scheduled") {
      to = card.startsAt; template = "starts_in"; done = "starting";
    } else if (card.status === "live" && card.dutch) {
      to = HX.dutch(card.dutch, at).nextDrop; template = "drops_in";
    } else if (card.status === "live") {
      to = card.endsAt; template = "ends_in"; done = "closing";
    }
    if (to !== null) {
      var toIso = iso(to);
      if (timer.getAttribute("data-to") !== toIso) timer.removeAttribute("data-fired");
      timer.className = "countdown";
      timer.setAttribute("data-countdown", "");
      timer.setAttribute("data-to", toIso);
      timer.setAttribute("data-template", template);
      timer.setAttribute("data-done", done);
      timer.removeAttribute("data-field");
      return;
    }
    timer.removeAttribute("data-countdown");
    timer.removeAttribute("data-to");
    timer.classList.remove("is-urgent", "countdown");
    if (card.status === "live" && card.dutch) {
      timer.setAttribute("data-field", "timer");
      timer.textContent = t("at_floor");
    } else if (card.status === "live") {
      timer.setAttribute("data-field", "timer");
      timer.textContent = "";
    } else {
      timer.className = "lot-card-status";
      timer.setAttribute("data-field", "status");
      timer.textContent = t("status_" + card.status);
    }
  }

  function flash(card) {
    card.el.classList.remove("is-flash");
    void card.el.offsetWidth;
    card.el.classList.add("is-flash");
  }

  function setPrice(card, cents) {
    if (!card.price || cents === null || cents === undefined) return;
    var text = HX.usd(cents);
    if (card.price.textContent !== text) card.price.textContent = text;
  }

  function setBids(card, n) {
    if (typeof n !== "number") return;
    if (card.bids) card.bids.textContent = HX.bidsText(n);
    if (card.kind === "auction" && card.label && OPEN.indexOf(card.status) !== -1) {
      card.label.textContent = t(n > 0 ? "price_current" : "price_start");
    }
  }

  function setStatus(card, status) {
    if (!status || status === card.status) return;
    card.status = status;
    card.el.dataset.status = status;
    card.el.className = card.el.className.replace(/status-\w+/, "status-" + status);
  }

  function newer(card, ev) {
    if (!card || typeof ev.seq !== "number" || ev.seq <= card.seq) return false;
    card.seq = ev.seq;
    card.el.dataset.seq = String(ev.seq);
    return true;
  }

  function cardFor(ev) {
    return ev && typeof ev.lot_id === "number" ? cards[ev.lot_id] : null;
  }

  /* ---- live events ------------------------------------------------------------------------ */
  if (HX.socket) {
    var watchOpen = function () {
      Object.keys(cards).forEach(function (id) {
        var card = cards[id];
        if (OPEN.indexOf(card.status) !== -1) HX.socket.emit("watch", { lot_id: card.id });
      });
    };
    HX.onConnect(watchOpen);

    HX.socket.on("lot_state", function (lot) {
      var card = lot ? cards[lot.id] : null;
      if (!card || (typeof lot.seq === "number" && lot.seq < card.seq)) return;
      card.seq = lot.seq;
      card.startsAt = HX.parseTime(lot.starts_at);
      card.endsAt = HX.parseTime(lot.ends_at);
      if (card.dutch) {
        card.dutch.startsAt = card.startsAt;
        card.dutch.endsAt = card.endsAt;
      }
      setStatus(card, lot.status);
      var closed = Object.prototype.hasOwnProperty.call(lot, "winner_alias");
      if (closed && lot.final_price_cents) {
        setPrice(card, lot.final_price_cents);
        if (card.label) card.label.textContent = t("price_final");
      } else {
        setPrice(card, lot.current_price_cents);
      }
      setBids(card, lot.bid_count);
      renderTimer(card, HX.now());
    });

    HX.socket.on("bid_placed", function (ev) {
      var card = cardFor(ev);
      if (!newer(card, ev)) return;
      setPrice(card, ev.current_price_cents !== undefined ? ev.current_price_cents : ev.amount_cents);
      setBids(card, ev.bid_count);
      if (ev.ends_at) card.endsAt = HX.parseTime(ev.ends_at);
      renderTimer(card, HX.now());
      flash(card);
    });

    HX.socket.on("lot_extended", function (ev) {
      var card = cardFor(ev);
      if (!newer(card, ev)) return;
      card.endsAt = HX.parseTime(ev.ends_at);
      renderTimer(card, HX.now());
    });

    HX.socket.on("lot_updated", function (ev) {
      var card = cardFor(ev);
      if (!newer(card, ev)) return;
      setPrice(card, ev.current_price_cents);
      if (ev.ends_at) card.endsAt = HX.parseTime(ev.ends_at);
      renderTimer(card, HX.now());
    });

    HX.socket.on("lot_closed", function (ev) {
      var card = cardFor(ev);
      if (!newer(card, ev)) return;
      setStatus(card, ev.status);
      if (ev.winner_alias && ev.amount_cents) {
        setPrice(card, ev.amount_cents);
        if (card.label) card.label.textContent = t("price_final");
      }
      renderTimer(card, HX.now());
      flash(card);
    });

    // A scheduled lot reached its start: ask the server for its state (its clock decides).
    document.addEventListener("hx:countdown-done", function (event) {
      var el = event.target.closest ? event.target.closest('[data-testid="lot-card"]') : null;
      var card = el ? cards[intOrNull(el.dataset.lotId)] : null;
      if (card && card.status === "scheduled" && HX.socket.connected) {
        window.setTimeout(function () { HX.socket.emit("watch", { lot_id: card.id }); }, 1000);
      }
    });
  }

  /* ---- every second: Dutch prices ------------------------------------------------------- */
  HX.onTick(function (at) {
    Object.keys(cards).forEach(function (id) {
      var card = cards[id];
      if (!card.dutch || card.status !== "live") return;
      var d = HX.dutch(card.dutch, at);
      setPrice(card, d.price);
      renderTimer(card, at);
    });
  });
})();
