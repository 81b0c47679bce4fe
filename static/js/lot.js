/* A lot's page, live: watch the lot, apply its events in sequence order, count down, bid.
 *
 * Protocol (marketplace/lots/events.py): on every (re)connect emit `watch {lot_id, since_seq}`;
 * the server replays what we missed, then sends `lot_state`. Events carry `seq`: anything at or
 * below the last seq we applied is a duplicate; a jump past seq+1 means we missed something,
 * so we watch again from our last seq to catch up.
 */
(function () {
  "use strict";

  var HX = window.HX;
  var root = document.getElementById("lot");
  if (!root || !HX) return;

  var t = HX.t;
  var usd = HX.usd;

  function q(selector) {
    return root.querySelector(selector);
  }

  function intOrNull(value) {
    if (value === undefined || value === null || value === "") return null;
    var n = parseInt(value, 10);
    return isNaN(n) ? null : n;
  }

  var lotId = intOrNull(root.dataset.lotId);
  var kind = root.dataset.kind;
  var handle = root.dataset.handle || "";
  var CLOSED = ["ended", "sold", "unsold", "cancelled"];

  var els = {
    status: q('[data-testid="lot-status"]'),
    price: q('[data-testid="price"]'),
    priceLabel: q('[data-field="price-label"]'),
    winner: q('[data-testid="winner"]'),
    bidCount: q('[data-testid="bid-count"]'),
    leader: q('[data-testid="leader"]'),
    minNext: q('[data-testid="min-next-bid"]'),
    minNextWrap: q('[data-field="min-next-bid-wrap"]'),
    reserve: q('[data-testid="reserve"]'),
    reserveWrap: q('[data-field="reserve-wrap"]'),
    countdown: q('[data-testid="countdown"]'),
    countdownValue: q('[data-field="countdown-value"]'),
    countdownLabel: q('[data-field="countdown-label"]'),
    countdownBox: q('[data-field="countdown-box"]'),
    endsAtLine: q('[data-field="ends-at-line"]'),
    nextDrop: q('[data-field="next-drop"]'),
    form: q('[data-testid="bid-form"]'),
    input: q('[data-testid="bid-input"]'),
    submit: q('[data-testid="bid-submit"]'),
    key: q('[data-field="bid-key"]'),
    help: q("#bid-help"),
    opensNote: q('[data-field="opens-note"]'),
    softClose: q('[data-testid="soft-close-note"]'),
    result: q('[data-testid="bid-result"]'),
    buyNow: q('[data-field="buy-now"]'),
    cardCta: q('[data-field="card-cta"]'),
    buyBox: q('[data-field="buy-box"]'),
    announcer: q('[data-field="announcer"]'),
    notice: q('[data-field="notice"]'),
    history: q('[data-testid="history"]'),
    historyRows: q('[data-field="history-rows"]'),
    historyEmpty: q('[data-field="history-empty"]'),
    dialog: document.querySelector('[data-testid="confirm-dialog"]'),
    confirmText: document.querySelector('[data-testid="confirm-text"]'),
    confirmButton: document.querySelector('[data-testid="confirm-bid"]')
  };

  var state = {
    seq: intOrNull(root.dataset.seq) || 0,
    status: root.dataset.status,
    startsAt: HX.parseTime(root.dataset.startsAt),
    endsAt: HX.parseTime(root.dataset.endsAt),
    minNext: intOrNull(root.dataset.minNextBidCents),
    price: null,
    closed: !!(els.winner && !els.winner.hidden),
    watching: false,       // a watch is in flight
    missedSeq: 0,          // the highest seq skipped while a watch was in flight
    bidPending: false,
    pendingAmount: null,
    startPoll: 0,
    dutch: null
  };

  if (kind === "dutch") {
    state.dutch = {
      startPriceCents: intOrNull(root.dataset.startPriceCents),
      floorPriceCents: intOrNull(root.dataset.floorPriceCents),
      halfLifeSeconds: intOrNull(root.dataset.halfLifeSeconds),
      startsAt: state.startsAt,
      endsAt: state.endsAt
    };
  }

  /* ---- small renderers ------------------------------------------------------------------ */

  function announce(text) {
    if (!els.announcer) return;
    // Clear first so the same sentence twice is still read out.
    els.announcer.textContent = "";
    window.setTimeout(function () { els.announcer.textContent = text; }, 60);
  }

  function showNotice(text) {
    if (!els.notice) return;
    els.notice.textContent = text || "";
    els.notice.hidden = !text;
  }

  function setStatus(status) {
    if (!status) return;
    state.status = status;
    root.dataset.status = status;
    if (els.status) {
      els.status.textContent = t("status_" + status);
      els.status.className = els.status.className.replace(/badge-status-\w+/, "badge-status-" + status);
    }
    var open = status === "live" || status === "scheduled";
    if (els.form) els.form.hidden = status !== "live" || state.closed;
    if (els.opensNote) els.opensNote.hidden = status !== "scheduled";
    if (els.minNextWrap) els.minNextWrap.hidden = !open;
    if (els.buyBox) els.buyBox.hidden = !open;
    if (!open && els.buyNow) els.buyNow.hidden = true;
    if (els.countdownLabel) {
      els.countdownLabel.textContent = status === "scheduled" ? t("opens_in") : open ? t("time_left") : "";
    }
  }

  function setPrice(cents, quiet) {
    if (cents === null || cents === undefined) return;
    if (state.price === cents) return;
    var changed = state.price !== null;
    state.price = cents;
    if (els.price) {
      els.price.textContent = usd(cents);
      if (changed) {
        els.price.classList.remove("is-changed");
        void els.price.offsetWidth; // restart the highlight
        els.price.classList.add("is-changed");
      }
    }
    if (changed && !quiet) announce(t("announce_price", { price: usd(cents) }));
  }

  function setPriceLabel(key) {
    if (els.priceLabel) els.priceLabel.textContent = t(key);
  }

  function setBidCount(n) {
    if (typeof n !== "number") return;
    root.dataset.bidCount = String(n);
    if (els.bidCount) els.bidCount.textContent = String(n);
    if (kind === "auction" && !state.closed) setPriceLabel(n > 0 ? "price_current" : "price_start");
    if (n > 0 && els.buyNow) els.buyNow.hidden = true; // buy-now is offered only until the first bid
  }

  function setLeader(alias) {
    if (els.leader) els.leader.textContent = alias || t("no_bids");
  }

  function setMinNext(cents) {
    if (cents === undefined) return;
    state.minNext = cents;
    if (els.minNext) els.minNext.textContent = usd(cents);
    if (cents === null) return;
    if (els.input) els.input.placeholder = usd(cents);
    if (els.help) els.help.textContent = t("bid_help", { price: usd(cents) });
  }

  function setReserve(met) {
    if (!els.reserve || !els.reserveWrap) return;
    if (met === null || met === undefined) {
      els.reserveWrap.hidden = true;
      return;
    }
    els.reserveWrap.hidden = false;
    els.reserve.textContent = met ? t("reserve_met") : t("reserve_not_met");
    els.reserve.classList.toggle("is-met", !!met);
    els.reserve.classList.toggle("is-not-met", !met);
  }

  function setBuyNow(cents) {
    if (!els.buyNow) return; // only rendered when the page had a buy-now price
    els.buyNow.hidden = !cents || state.closed;
  }

  function setEndsAt(iso) {
    if (iso === undefined) return;
    state.endsAt = HX.parseTime(iso);
    root.dataset.endsAt = iso || "";
    if (state.dutch) state.dutch.endsAt = state.endsAt;
    if (els.endsAtLine && iso) {
      els.endsAtLine.textContent = "";
      // The sentence comes translated with a {time} slot; put a live <time> element in it.
      // Closed, the box already says "Ended" above the time.
      var parts = state.closed ? ["", ""] : t("ends_at").split("{time}");
      els.endsAtLine.appendChild(document.createTextNode(parts[0] || ""));
      els.endsAtLine.appendChild(HX.timeElement(iso, true));
      els.endsAtLine.appendChild(document.createTextNode(parts[1] || ""));
    }
    if (els.countdownBox) els.countdownBox.hidden = !state.endsAt && state.status !== "scheduled";
  }

  function setCountdown(text, urgent) {
    if (els.countdownValue) els.countdownValue.textContent = text;
    if (els.countdown) {
      els.countdown.classList.toggle("is-urgent", !!urgent);
      els.countdown.setAttribute("data-urgent", urgent ? "true" : "false");
    }
  }

  function flagExtended() {
    if (!els.countdown) return;
    var old = els.countdown.querySelector(".flag-extended");
    if (old) old.remove();
    var flag = document.createElement("span");
    flag.className = "flag-extended";
    flag.setAttribute("data-testid", "extended");
    flag.textContent = t("extended");
    els.countdown.appendChild(flag);
    window.setTimeout(function () { flag.remove(); }, 5000);
  }

  function showWinner(winnerAlias, amountCents) {
    if (!els.winner) return;
    els.winner.hidden = false;
    if (winnerAlias) {
      els.winner.textContent = t("won_by", { alias: winnerAlias, price: usd(amountCents) });
      els.winner.classList.remove("is-none");
    } else {
      els.winner.textContent = t("no_winner");
      els.winner.classList.add("is-none");
    }
  }

  /* ---- history --------------------------------------------------------------------------- */

  function historyRow(entry, fresh) {
    var tr = document.createElement("tr");
    tr.setAttribute("data-seq", String(entry.seq));
    tr.setAttribute("data-testid", "history-row");
    if (fresh) tr.className = "is-new";
    var alias = document.createElement("td");
    alias.className = "alias";
    alias.textContent = entry.alias;
    var amount = document.createElement("td");
    amount.className = "num";
    amount.textContent = usd(entry.amount_cents);
    var at = document.createElement("td");
    at.className = "time-col";
    at.appendChild(HX.timeElement(entry.at, true));
    tr.appendChild(alias);
    tr.appendChild(amount);
    tr.appendChild(at);
    return tr;
  }

  function showHistory(hasRows) {
    if (els.history) els.history.hidden = !hasRows;
    if (els.historyEmpty) els.historyEmpty.hidden = hasRows;
  }

  function prependHistory(entry) {
    if (!els.historyRows || !entry || entry.alias === undefined) return;
    if (els.historyRows.querySelector('tr[data-seq="' + entry.seq + '"]')) return;
    // Keep newest first even if rows arrive out of order.
    var row = historyRow(entry, true);
    var before = null;
    Array.prototype.some.call(els.historyRows.children, function (tr) {
      if (intOrNull(tr.getAttribute("data-seq")) < entry.seq) {
        before = tr;
        return true;
      }
      return false;
    });
    els.historyRows.insertBefore(row, before);
    while (els.historyRows.children.length > 50) els.historyRows.removeChild(els.historyRows.lastElementChild);
    showHistory(true);
  }

  /** Reload the newest history from the API (after a gap too large to replay). */
  function refreshHistory() {
    var url = root.dataset.historyUrl;
    if (!els.historyRows || !window.fetch || !url) return;
    window.fetch(url + "?per_page=20", {
      credentials: "same-origin",
      headers: { Accept: "application/json" }
    }).then(function (response) {
      return response.ok ? response.json() : null;
    }).then(function (page) {
      if (!page || !page.items) return;
      els.historyRows.textContent = "";
      page.items.forEach(function (entry) { els.historyRows.appendChild(historyRow(entry, false)); });
      showHistory(page.items.length > 0);
    }).catch(function () { /* the next event or reconnect tries again */ });
  }

  /* ---- closing ---------------------------------------------------------------------------- */

  function close(status, winnerAlias, amountCents, quiet) {
    var wasClosed = state.closed;
    state.closed = true;
    setStatus(status);
    showWinner(winnerAlias, amountCents);
    if (winnerAlias && amountCents) {
      setPrice(amountCents, true);
      setPriceLabel("price_final");
    }
    setCountdown(t("ended"), false);
    if (els.form) els.form.hidden = true;
    if (els.dialog && els.dialog.open) els.dialog.close("cancel");
    if (els.buyNow) els.buyNow.hidden = true;
    if (els.buyBox) els.buyBox.hidden = true;
    if (els.cardCta) els.cardCta.hidden = true;
    if (els.opensNote) els.opensNote.hidden = true;
    if (els.softClose) els.softClose.hidden = true;
    if (els.result && !state.bidPending) els.result.hidden = true; // the winner line says how it ended
    if (els.nextDrop) els.nextDrop.textContent = "—";
    if (root.dataset.endsAt) setEndsAt(root.dataset.endsAt);
    if (!wasClosed && !quiet) announce(t("announce_closed"));
  }

  /* ---- applying what the server says -------------------------------------------------------- */

  /** A full lot (lot_state, or a bid's ack): refresh everything it says. */
  function applyLot(lot, fromWatch) {
    if (!lot || lot.id !== lotId) return;
    if (typeof lot.seq === "number") {
      if (lot.seq < state.seq) return; // older than what we show
      if (fromWatch) {
        var gap = lot.seq > state.seq;
        state.seq = lot.seq;
        root.dataset.seq = String(lot.seq);
        // More happened than the server replayed: reload the history rows we could not see.
        if (gap && kind === "auction") {
          refreshHistory();
          root.dispatchEvent(new CustomEvent("hx:history-gap"));
        }
      }
    }
    if (lot.starts_at) {
      state.startsAt = HX.parseTime(lot.starts_at);
      root.dataset.startsAt = lot.starts_at;
    }
    if (kind === "auction") {
      setBidCount(lot.bid_count);
      setLeader(lot.leader_alias);
      setMinNext(lot.min_next_bid_cents);
      setReserve(Object.prototype.hasOwnProperty.call(lot, "reserve_met") ? lot.reserve_met : null);
      setBuyNow(lot.buy_now_price_cents);
    }
    if (kind === "dutch" && state.dutch) {
      state.dutch.startPriceCents = lot.start_price_cents;
      state.dutch.floorPriceCents = lot.floor_price_cents;
      state.dutch.halfLifeSeconds = lot.half_life_seconds;
      state.dutch.startsAt = state.startsAt;
    }
    setEndsAt(lot.ends_at);
    if (Object.prototype.hasOwnProperty.call(lot, "winner_alias")) {
      close(lot.status, lot.winner_alias, lot.final_price_cents, true);
    } else {
      setStatus(lot.status);
      setPrice(lot.current_price_cents);
    }
    tick(HX.now());
  }

  /** Should this event be applied? Drops duplicates; a gap starts a catch-up instead. */
  function accept(ev) {
    if (!ev || ev.lot_id !== lotId || typeof ev.seq !== "number") return false;
    if (ev.seq <= state.seq) return false;
    if (ev.seq > state.seq + 1) {
      state.missedSeq = Math.max(state.missedSeq, ev.seq);
      if (!state.watching) watch();
      return false;
    }
    state.seq = ev.seq;
    root.dataset.seq = String(ev.seq);
    return true;
  }

  function onBidPlaced(ev) {
    if (!accept(ev)) return;
    var price = ev.current_price_cents !== undefined ? ev.current_price_cents : ev.amount_cents;
    setPrice(price, true);
    setBidCount(ev.bid_count);
    setLeader(ev.leader_alias || ev.alias);
    setMinNext(ev.min_next_bid_cents);
    if (Object.prototype.hasOwnProperty.call(ev, "reserve_met")) setReserve(ev.reserve_met);
    setEndsAt(ev.ends_at);
    prependHistory({ seq: ev.seq, alias: ev.alias, amount_cents: ev.amount_cents, at: ev.at });
    // The price chart (price_chart.js) adds the point.
    root.dispatchEvent(new CustomEvent("hx:bid-placed", {
      detail: { seq: ev.seq, at: ev.at, amount_cents: ev.amount_cents, bid_count: ev.bid_count }
    }));
    // "You lead" is stale once someone else leads (the outbid alert says so too).
    if (els.result && els.result.getAttribute("data-outcome") === "leading" &&
        HX.userAlias && ev.leader_alias && ev.leader_alias !== HX.userAlias) {
      els.result.hidden = true;
      els.result.removeAttribute("data-outcome");
    }
    announce(t("announce_bid", { price: usd(price), alias: ev.alias }));
  }

  function onExtended(ev) {
    if (!accept(ev)) return;
    setEndsAt(ev.ends_at);
    flagExtended();
    tick(HX.now());
    announce(t("announce_extended", { time: HX.formatTime(ev.ends_at, true) }));
  }

  function onUpdated(ev) {
    if (!accept(ev)) return;
    setPrice(ev.current_price_cents);
    setMinNext(ev.min_next_bid_cents);
    if (Object.prototype.hasOwnProperty.call(ev, "reserve_met")) setReserve(ev.reserve_met);
    setBuyNow(ev.buy_now_price_cents);
    setEndsAt(ev.ends_at);
    // An admin's void can hand the lead to someone else, or to nobody: the leader and the count follow.
    if (Object.prototype.hasOwnProperty.call(ev, "leader_alias")) setLeader(ev.leader_alias);
    if (typeof ev.bid_count === "number") setBidCount(ev.bid_count);
  }

  function onClosed(ev) {
    if (!accept(ev)) return;
    close(ev.status, ev.winner_alias, ev.amount_cents, false);
  }

  /* ---- watching --------------------------------------------------------------------------- */

  function watch() {
    var socket = HX.socket;
    if (!socket || !socket.connected || lotId === null) return;
    state.watching = true;
    socket.emit("watch", { lot_id: lotId, since_seq: state.seq }, function (ack) {
      state.watching = false;
      if (ack && ack.error) {
        showNotice(ack.error.message);
        return;
      }
      showNotice("");
      // Something newer arrived while we were catching up and was skipped: go again.
      if (state.missedSeq > state.seq) watch();
    });
  }

  if (HX.socket) {
    HX.onConnect(function () {
      state.watching = false;
      watch();
    });
    HX.socket.on("lot_state", function (lot) { applyLot(lot, true); });
    HX.socket.on("bid_placed", onBidPlaced);
    HX.socket.on("lot_extended", onExtended);
    HX.socket.on("lot_updated", onUpdated);
    HX.socket.on("lot_closed", onClosed);
    HX.socket.on("error", function (err) {
      if (!err || (err.lot_id !== undefined && err.lot_id !== lotId)) return;
      if (state.bidPending) return; // the bid's ack reports it
      showNotice(err.message || "");
    });
  }

  /* ---- every second ------------------------------------------------------------------------ */

  function tick(at) {
    if (state.dutch && state.status !== "scheduled" && !state.closed) {
      var d = HX.dutch(state.dutch, at);
      setPrice(d.price);
      if (els.nextDrop) {
        els.nextDrop.textContent = d.nextDrop !== null ? HX.duration(d.nextDrop - at) : t("at_floor");
      }
    }
    if (state.closed) return;

    if (state.status === "scheduled") {
      var toStart = state.startsAt === null ? 0 : state.startsAt - at;
      if (toStart > 0) {
        setCountdown(HX.duration(toStart), false);
        return;
      }
      setCountdown(t("starting"), false);
      // Ask the server (its clock decides); without a connection, trust ours.
      if (HX.socket && HX.socket.connected) {
        if (state.startPoll++ % 3 === 0 && !state.watching) watch();
      } else {
        setStatus("live");
      }
      return;
    }

    if (state.endsAt === null) return;
    var left = state.endsAt - at;
    if (left > 0) {
      setCountdown(HX.duration(left), left < HX.URGENT_MS);
      if (els.submit && !state.bidPending) els.submit.disabled = false;
    } else {
      // The worker closes the lot within a moment; lot_closed will say how it ended.
      setCountdown(t("closing"), false);
      if (els.submit) els.submit.disabled = true;
    }
  }

  HX.onTick(tick);

  /* ---- bidding ------------------------------------------------------------------------------ */

  function showResult(outcome, text) {
    if (!els.result) return;
    els.result.hidden = false;
    els.result.setAttribute("data-outcome", outcome);
    els.result.textContent = text;
  }

  // A refused bid the buyer can fix elsewhere (the error's action_url): what its link says.
  var ACTION_LABELS = {
    payment_method_required: "bid_action_card",
    card_declined: "bid_action_declined",
    authentication_required: "bid_action_authenticate"
  };

  /** Only a page on this site; a card page link brings the buyer back here once the card is saved. */
  function actionHref(code, url) {
    if (typeof url !== "string" || url.charAt(0) !== "/" || url.charAt(1) === "/" || url.indexOf("\\") !== -1) {
      return null;
    }
    if (code === "authentication_required") return url; // that page links back to the lot itself
    try {
      var parsed = new URL(url, window.location.origin);
      if (!parsed.searchParams.has("next")) parsed.searchParams.set("next", window.location.pathname);
      return parsed.pathname + parsed.search + parsed.hash;
    } catch (err) {
      return url;
    }
  }

  /** A refused bid: its message, and a link to where it can be put right when there is one. */
  function showRefusal(error) {
    var message = error && error.message ? error.message : "";
    showResult("error", t("bid_failed", { message: message }));
    var href = error ? actionHref(error.code, error.action_url) : null;
    if (!href || !els.result) return;
    var link = document.createElement("a");
    link.className = "bid-action-link";
    link.href = href;
    link.setAttribute("data-testid", "bid-action-link");
    link.textContent = t(ACTION_LABELS[error.code] || "bid_action");
    els.result.appendChild(document.createTextNode(" "));
    els.result.appendChild(link);
  }

  function setBusy(busy) {
    state.bidPending = busy;
    [els.submit, els.confirmButton].forEach(function (button) {
      if (!button) return;
      button.disabled = busy;
      button.classList.toggle("is-busy", busy);
    });
  }

  /** With no live connection, place the already-confirmed bid through the plain form route. */
  function postBid(cents, key) {
    var form = document.createElement("form");
    form.method = "post";
    form.action = root.dataset.placeUrl;
    form.hidden = true;
    [["csrf_token", HX.csrfToken()], ["max_amount_cents", String(cents)], ["key", key]].forEach(function (pair) {
      var input = document.createElement("input");
      input.type = "hidden";
      input.name = pair[0];
      input.value = pair[1];
      form.appendChild(input);
    });
    document.body.appendChild(form);
    form.submit();
  }

  function sendBid(cents) {
    var key = els.key ? els.key.value : HX.newKey();
    var socket = HX.socket;
    if (!socket || !socket.connected) {
      setBusy(true);
      postBid(cents, key);
      return;
    }
    setBusy(true);
    showResult("pending", t("placing"));
    socket.timeout(15000).emit("bid", { lot_id: lotId, max_amount_cents: cents, key: key }, function (err, ack) {
      setBusy(false);
      if (err) {
        // No answer: keep the same key, so trying again cannot place the bid twice.
        showResult("error", t("no_answer"));
        return;
      }
      if (!ack || ack.error || !ack.ok) {
        var error = ack && ack.error ? ack.error : null;
        showRefusal(error);
        if (els.key) els.key.value = HX.newKey();
        // With a way to put it right, lead there; otherwise back to the amount.
        var action = els.result && els.result.querySelector('[data-testid="bid-action-link"]');
        if (action) action.focus();
        else if (els.input) els.input.focus();
        return;
      }
      // Show the answer's numbers now, but leave seq alone: the bid_placed event (same seq)
      // still has to arrive to add the history row.
      if (ack.lot) applyLot(ack.lot, false);
      var price = ack.lot ? ack.lot.current_price_cents : null;
      if (ack.leading) {
        showResult("leading", t("leading", { price: usd(price), max: usd(ack.your_max_cents) }));
      } else {
        showResult("outbid", t("outbid_now", { price: usd(price) }));
      }
      if (els.input) els.input.value = "";
      if (els.key) els.key.value = HX.newKey();
    });
  }

  var canConfirm = els.dialog && typeof els.dialog.showModal === "function";

  if (els.form && els.input && canConfirm) {
    els.form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (state.bidPending) return;
      var cents = HX.parseDollars(els.input.value);
      if (cents === null) {
        els.input.setAttribute("aria-invalid", "true");
        showResult("error", t("enter_amount"));
        els.input.focus();
        return;
      }
      if (state.minNext !== null && cents < state.minNext) {
        els.input.setAttribute("aria-invalid", "true");
        showResult("error", t("at_least", { price: usd(state.minNext) }));
        els.input.focus();
        return;
      }
      els.input.removeAttribute("aria-invalid");
      state.pendingAmount = cents;
      els.confirmText.textContent = t("confirm_text", { amount: usd(cents), handle: handle });
      els.dialog.returnValue = "";
      els.dialog.showModal();
    });

    els.dialog.addEventListener("close", function () {
      var cents = state.pendingAmount;
      state.pendingAmount = null;
      if (els.dialog.returnValue === "confirm" && cents !== null && !state.closed) {
        sendBid(cents);
      } else if (els.input) {
        els.input.focus();
      }
    });

    els.input.addEventListener("input", function () {
      els.input.removeAttribute("aria-invalid");
    });
  }

  /* ---- start -------------------------------------------------------------------------------- */
  // The amount as integer cents from the page; its text is formatted for the reader's language.
  if (els.price) state.price = Number(els.price.dataset.cents) || HX.parseDollars(els.price.textContent);
  if (!state.closed) {
    // The server's page reads well without JS ("Ends <date>"); switch to the live countdown.
    setStatus(state.status);
    if (root.dataset.endsAt) setEndsAt(root.dataset.endsAt);
    if (els.endsAtLine) els.endsAtLine.hidden = !state.endsAt;
  }
  tick(HX.now());
})();
