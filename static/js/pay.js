/* Paying for a waiting order with the saved card, the buyer present (payments.js does the
 * paying; this page shows the button, the refusal and, once paid, the way to the receipt).
 */
(function () {
  "use strict";

  var HX = window.HX;
  var root = document.getElementById("pay-page");
  if (!root || !HX || !HX.payOrder) return;
  var t = HX.t;
  var button = root.querySelector('[data-testid="pay-now"]');
  var errorBox = root.querySelector('[data-testid="pay-error"]');
  var done = root.querySelector('[data-testid="pay-done"]');
  var doneTemplate = root.querySelector('[data-field="done-template"]');
  var pending = root.querySelector('[data-field="pending"]');
  if (!button) return;
  var label = button.textContent;
  var key = root.getAttribute("data-publishable-key") || "";
  var ready = false;
  var busy = false;

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
    button.disabled = on || !ready;
    button.setAttribute("aria-busy", on ? "true" : "false");
    button.textContent = on ? t("pay_paying") : label;
  }

  function finish() {
    root.setAttribute("data-status", "paid");
    if (pending) pending.hidden = true;
    done.textContent = "";
    done.appendChild(doneTemplate.content.cloneNode(true));
    var link = done.querySelector("a");
    if (link) link.focus();
  }

  function pay() {
    if (busy || !ready) return;
    setBusy(true);
    showError("");
    HX.payOrder({
      payUrl: root.getAttribute("data-pay-url"),
      confirmUrl: root.getAttribute("data-confirm-url"),
      publishableKey: key,
      paymentMethod: root.getAttribute("data-payment-method") || ""
    }).then(finish, function (err) {
      setBusy(false);
      var action = err && err.action ? { href: err.action, text: t("bid_action_declined") } : null;
      showError((err && err.message) || t("pay_failed"), action);
    });
  }

  button.addEventListener("click", pay);
  ready = Boolean(window.fetch) && HX.stripeReady(key);
  if (!ready) {
    showError(t("card_unavailable"));
    return;
  }
  setBusy(false);
})();
