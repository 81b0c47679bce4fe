/* Handle Exchange: the order page.
 *
 * Listens on the user's private Socket.IO room (joined on connect, see marketplace/lots/events.py)
 * for the events settlement pushes. When one names this order, it fetches the order from the API
 * and redraws the status, the progress stepper, the dates and the state panel, without a reload.
 * The page's words come from data- attributes rendered by the server (translated there).
 */
(function () {
  "use strict";

  var root = document.querySelector('[data-testid="order-page"]');
  if (!root || !window.HX) return;

  var HX = window.HX;
  var orderId = Number(root.getAttribute("data-order-id"));
  var apiUrl = root.getAttribute("data-api-url");
  var EVENTS = ["payment_taken", "payment_needed", "handle_transferred", "payout_sent", "refunded",
                "order_lapsed", "payout_reversed", "order_completed"];
  var STEPS = ["paid", "transferred", "completed"];
  var STOPPED = ["lapsed", "refunded", "declined"];

  function labels(name) {
    try {
      return JSON.parse(root.getAttribute(name) || "{}");
    } catch (err) {
      return {};
    }
  }
  var statusLabels = labels("data-status-labels");
  var payoutLabels = labels("data-payout-labels");

  function setTime(el, iso) {
    if (!el) return;
    el.textContent = "";
    if (iso) el.appendChild(HX.timeElement(iso));
    else if (el.tagName === "DD") el.textContent = "—";
  }

  function payoutState(order, previous) {
    if (order.status === "completed") return "paid_out";
    if (order.status === "refunded") return previous === "paid_out" || previous === "reversed" ? "reversed" : "none";
    if (order.status === "paid" || order.status === "transferred") return previous === "needs_account" ? previous : "pending";
    if (["awaiting_payment", "action_required", "offered"].indexOf(order.status) >= 0) return "awaiting_payment";
    return "none";
  }

  function redraw(order, extra) {
    root.setAttribute("data-status", order.status);
    var label = statusLabels[order.status] || order.status;
    Array.prototype.forEach.call(root.querySelectorAll("[data-status]"), function (badge) {
      if (badge === root) return;
      badge.className = "badge badge-order badge-order-" + order.status;
      badge.setAttribute("data-status", order.status);
      badge.textContent = label;
    });
    var statusField = root.querySelector('dd[data-field="status"]');
    if (statusField) statusField.textContent = label;

    // The stepper: a step is done once it has a time; the next one is current unless the order stopped.
    var reached = 0;
    STEPS.forEach(function (name) {
      if (order[name + "_at"]) reached += 1;
    });
    STEPS.forEach(function (name, index) {
      var at = order[name + "_at"];
      var step = root.querySelector('.step[data-step="' + name + '"]');
      if (!step) return;
      var waiting = STOPPED.indexOf(order.status) < 0 && order.status !== "offered";
      var state = at ? "done" : (waiting && index === reached ? "current" : "todo");
      step.setAttribute("data-state", state);
      if (state === "current") step.setAttribute("aria-current", "step");
      else step.removeAttribute("aria-current");
      setTime(step.querySelector(".step-time"), at);
    });
    ["paid_at", "transferred_at", "completed_at"].forEach(function (field) {
      setTime(root.querySelector('dd[data-field="' + field + '"]'), order[field]);
    });

    Array.prototype.forEach.call(root.querySelectorAll("[data-status-panel]"), function (panel) {
      panel.hidden = panel.getAttribute("data-status-panel") !== order.status;
    });
    Array.prototype.forEach.call(root.querySelectorAll('[data-field="pay_by"]'), function (el) {
      if (order.pay_by) setTime(el, order.pay_by);
    });
    if (extra && extra.reason) {
      var reason = root.querySelector('[data-field="reason"]');
      if (reason) reason.textContent = extra.reason;
    }

    // A receipt once paid; before that, an order summary (and nothing to print).
    var paid = Boolean(order.paid_at);
    Array.prototype.forEach.call(root.querySelectorAll("[data-paid-text]"), function (el) {
      el.textContent = el.getAttribute(paid ? "data-paid-text" : "data-unpaid-text");
    });
    if (print) print.hidden = !paid;

    var payout = root.querySelector('[data-field="payout"]');
    if (payout) {
      var state = payoutState(order, root.getAttribute("data-payout"));
      root.setAttribute("data-payout", state);
      payout.textContent = payoutLabels[state] || state;
    }
  }

  var print = root.querySelector("[data-print]");
  var inFlight = null;

  function refresh(extra) {
    if (inFlight) return inFlight;
    inFlight = fetch(apiUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (order) {
        redraw(order, extra);
      })
      .catch(function (err) {
        if (window.console) console.warn("order refresh failed", err);
      })
      .then(function () {
        inFlight = null;
      });
    return inFlight;
  }

  if (HX.socket) {
    EVENTS.forEach(function (name) {
      HX.socket.on(name, function (data) {
        if (data && Number(data.order_id) === orderId) refresh(data);
      });
    });
    // Events pushed between rendering the page and joining the room, or while the connection was
    // down, are missed: ask once on every (re)connect.
    HX.onConnect(function () {
      refresh();
    });
  }

  if (print) {
    print.hidden = root.getAttribute("data-paid") !== "true";
    print.addEventListener("click", function () {
      window.print();
    });
  }
})();
