/* Buying a lot at its price from its page: Buy (fixed price, Dutch) and Buy now (an auction
 * before its first bid).
 *
 * Buy opens the confirmation (templates/lots/_buy_dialog.html): the handle, the price, what
 * happens next. Confirming sends POST /api/v1/lots/<id>/buy {max_price_cents, key}: the price
 * shown (the order is never above it; a Dutch price that fell meanwhile is charged lower) and this
 * page load's key (a double click or a resend is one order). The saved card is charged at once;
 * then, by the order's answer:
 *   paid                         -> the receipt (the order's page)
 *   next_action "authenticate"   -> the bank's check with Stripe.js here (payments.js), then the receipt
 *   next_action "update_card"    -> the refusal, and the way to pay with another card
 * Without JavaScript the Buy form opens the confirmation page instead (lots.confirm_buy).
 */
(function () {
  "use strict";

  var HX = window.HX;
  var page = HX && HX.lotPage;
  var root = document.getElementById("lot");
  var dialog = document.querySelector('[data-testid="buy-dialog"]');
  if (!HX || !page || !root || !dialog || typeof dialog.showModal !== "function" || !window.fetch) return;

  var t = HX.t;
  var usd = HX.usd;
  var priceEl = dialog.querySelector('[data-field="dialog-price"]');
  var confirmButton = dialog.querySelector('[data-testid="confirm-buy"]');
  var key = dialog.getAttribute("data-key") || HX.newKey();
  var shownPrice = null;   // what the open dialog offers to pay
  var busy = false;
  var result = root.querySelector('[data-field="buy-result"]');

  function showPrice() {
    var cents = page.buyPrice();
    if (cents === null || cents === undefined) return false;
    shownPrice = cents;
    if (priceEl) priceEl.textContent = usd(cents);
    if (confirmButton) confirmButton.textContent = t("buy_confirm_pay", { price: usd(cents) });
    return true;
  }

  /** How the purchase goes, under the Buy buttons: a sentence and, when there is one, the way on. */
  function say(outcome, text, links) {
    if (!result) return;
    result.hidden = !text;
    result.setAttribute("data-outcome", outcome);
    result.textContent = "";
    var p = document.createElement("p");
    p.textContent = text || "";
    result.appendChild(p);
    (links || []).forEach(function (link) {
      var a = document.createElement("a");
      a.href = link.href;
      a.className = "buy-result-link";
      a.textContent = link.text;
      a.setAttribute("data-testid", link.testid);
      result.appendChild(document.createTextNode(" "));
      result.appendChild(a);
    });
    var first = result.querySelector("a");
    if (first) first.focus();
  }

  function setBusy(on) {
    busy = on;
    page.setBuyPending(on);
  }

  function toReceipt(order) {
    say("paid", t("buy_paid"));
    window.location.assign(order.url || "/orders/" + order.id);
  }

  /** The saved card was refused (or the bank's check failed): say why, and where to pay again. */
  function refused(order, message) {
    var payUrl = order.next_action ? order.next_action.url : "/orders/" + order.id + "/pay";
    var links = [
      { href: "/account/card?next=" + encodeURIComponent(payUrl), text: t("buy_other_card"), testid: "buy-other-card" },
      { href: order.url || "/orders/" + order.id, text: t("buy_see_order"), testid: "buy-see-order" }
    ];
    say("declined", t("buy_declined", { reason: message || (order.next_action && order.next_action.reason) || "" }), links);
    page.setStanding({ state: "payment_needed", amount_cents: order.amount_cents, pay_by: order.pay_by,
                       order_id: order.id, order_status: order.status });
  }

  function paid(order) {
    return HX.PAID.indexOf(order.status) >= 0;
  }

  function afterOrder(order) {
    if (paid(order)) return toReceipt(order);
    if (order.status === "action_required" && order.next_action && order.next_action.type === "authenticate") {
      say("authenticating", t("buy_bank_check"));
      return HX.payOrder({
        payUrl: order.next_action.url,
        confirmUrl: order.next_action.url + "/confirm",
        publishableKey: dialog.getAttribute("data-publishable-key") || "",
        paymentMethod: dialog.getAttribute("data-payment-method") || ""
      }).then(function () {
        toReceipt(order);
      }, function (err) {
        setBusy(false);
        refused(order, err && err.message);
      });
    }
    if (order.status === "action_required") {
      setBusy(false);
      return refused(order, null);
    }
    // Payments were briefly out of reach: the worker takes the payment; the order page follows it.
    return toReceipt(order);
  }

  function buy(cents) {
    if (busy) return;
    setBusy(true);
    root.dataset.checkingOut = "true"; // our own lot_held is no hold "for another buyer"
    say("pending", t("buy_placing"));
    HX.postJSON(dialog.getAttribute("data-buy-url"), { max_price_cents: cents, key: key }, t("buy_failed"))
      .then(afterOrder, function (err) {
        setBusy(false);
        root.dataset.checkingOut = "false";
        var error = err || {};
        if (error.code === "held_by_other" && error.details) page.setHold(error.details.held_until, false);
        var links = [];
        if (error.code === "payment_method_required") {
          links.push({ href: dialog.getAttribute("data-card-url"), text: t("bid_action_card"), testid: "buy-save-card" });
        }
        say("error", t("buy_refused", { message: error.message || t("buy_failed") }), links);
      });
  }

  function open(form) {
    if (busy || page.isClosed()) return;
    if (!showPrice()) return;
    dialog.returnValue = "";
    dialog.showModal();
  }

  Array.prototype.forEach.call(root.querySelectorAll("[data-buy-form]"), function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      open(form);
    });
  });

  dialog.addEventListener("close", function () {
    var cents = shownPrice;
    shownPrice = null;
    // Confirmed: the dialog is closed first, so a bank's check (Stripe.js) can show above the page.
    if (dialog.returnValue === "confirm" && cents !== null && !page.isClosed()) buy(cents);
  });

  // A Dutch price falls while the dialog is open: it offers (and confirms) the new, lower one.
  HX.onTick(function () {
    if (dialog.open) showPrice();
  });

  // Buy-now ends at the first bid, and any sale ends every Buy: an open dialog closes with a word why.
  root.addEventListener("hx:bid-placed", function () {
    if (page.kind === "auction" && dialog.open) {
      dialog.close("cancel");
      say("error", t("buy_now_gone"));
    }
  });
  root.addEventListener("hx:closed", function () {
    if (dialog.open) {
      dialog.close("cancel");
      say("error", t("buy_sold"));
    }
  });
  // Our checkout lapsed (or the lot came back on sale): a new Buy is a new order.
  function freshKey() {
    if (!busy) key = HX.newKey();
  }
  root.addEventListener("hx:hold-ended", freshKey);
  root.addEventListener("hx:reopened", freshKey);
})();
