/* Paying for a waiting order with the saved card, the buyer present.
 *
 *   POST /orders/<id>/pay          -> {status}  paid, or requires_action with a client_secret
 *   stripe.confirmCardPayment()    the bank's check, shown by Stripe.js
 *   POST /orders/<id>/pay/confirm  -> {status}  the server asks Stripe and carries the order on
 *
 * A refusal (402) names where to go next (another card). Nothing here decides that an order is
 * paid: only the server's answer does.
 */
(function () {
  "use strict";

  var HX = window.HX;
  var root = document.getElementById("pay-page");
  if (!root || !HX) return;
  var t = HX.t;
  var button = root.querySelector('[data-testid="pay-now"]');
  var errorBox = root.querySelector('[data-testid="pay-error"]');
  var done = root.querySelector('[data-testid="pay-done"]');
  var doneTemplate = root.querySelector('[data-field="done-template"]');
  var pending = root.querySelector('[data-field="pending"]');
  if (!button) return;
  var label = button.textContent;
  var stripe = null;
  var busy = false;
  var PAID = ["paid", "transferred", "completed"];

  function showError(text, link) {
    errorBox.textContent = text || "";
    if (link) {
      var a = document.createElement("a");
      a.href = link.href;
      a.textContent = link.text;
      a.setAttribute("data-testid", "pay-error-action");
      errorBox.appendChild(document.createTextNode(" "));
      errorBox.appendChild(a);
    }
  }

  function setBusy(on) {
    busy = on;
    button.disabled = on || !stripe;
    button.setAttribute("aria-busy", on ? "true" : "false");
    button.textContent = on ? t("pay_paying") : label;
  }

  function post(url) {
    return HX.postJSON(url, {}, t("pay_failed")).then(function (data) {
      if (typeof data.status !== "string") throw { message: t("pay_failed") };
      return data;
    });
  }

  function finish() {
    root.setAttribute("data-status", "paid");
    if (pending) pending.hidden = true;
    done.textContent = "";
    done.appendChild(doneTemplate.content.cloneNode(true));
    var link = done.querySelector("a");
    if (link) link.focus();
  }

  function confirmWithBank(answer) {
    var method = root.getAttribute("data-payment-method") || "";
    var confirming;
    try {
      confirming = method ? stripe.confirmCardPayment(answer.client_secret, { payment_method: method })
        : stripe.confirmCardPayment(answer.client_secret);
    } catch (err) {
      confirming = Promise.resolve({ error: err });
    }
    return Promise.resolve(confirming).then(function (result) {
      return result && result.error ? result.error : null;
    }, function (err) {
      return err || {};
    }).then(function (bankError) {
      return post(root.getAttribute("data-confirm-url")).then(function (order) {
        if (PAID.indexOf(order.status) < 0) {
          throw { message: (bankError && bankError.message) || t("pay_not_confirmed") };
        }
        return order;
      });
    });
  }

  function pay() {
    if (busy || !stripe) return;
    setBusy(true);
    showError("");
    post(root.getAttribute("data-pay-url")).then(function (answer) {
      if (answer.status === "requires_action" && answer.client_secret) return confirmWithBank(answer);
      if (PAID.indexOf(answer.status) < 0) throw { message: t("pay_failed") };
      return answer;
    }).then(finish, function (err) {
      setBusy(false);
      var action = err && err.action ? { href: err.action, text: t("bid_action_declined") } : null;
      showError((err && err.message) || t("pay_failed"), action);
    });
  }

  button.addEventListener("click", pay);
  if (typeof window.Stripe !== "function" || !window.fetch) {
    showError(t("card_unavailable"));
    return;
  }
  try {
    stripe = window.Stripe(root.getAttribute("data-publishable-key") || "");
  } catch (err) {
    showError(t("card_unavailable"));
    return;
  }
  setBusy(false);
})();
