/* Confirming a card authorisation the bank asked about (3-D Secure), with Stripe.js.
 *
 *   stripe.confirmCardPayment(client_secret)   Stripe shows the bank's check
 *   POST /holds/<id>/refresh -> {status}       our server asks Stripe how it went
 *
 * "authorized": the buyer goes back to the lot and bids again (the hold now covers that maximum).
 * "failed"/"cancelled": it is over; they can bid again or save another card. Anything else (the
 * check was abandoned, the network dropped): say so and let them try again.
 */
(function () {
  "use strict";

  var HX = window.HX;
  var root = document.getElementById("hold-page");
  if (!root || !HX) return;

  var t = HX.t;

  function q(selector) {
    return root.querySelector(selector);
  }

  var els = {
    pending: q('[data-field="pending"]'),
    button: q('[data-testid="authenticate-hold"]'),
    error: q('[data-testid="hold-error"]'),
    authorized: q('[data-testid="hold-authorized"]'),
    failed: q('[data-testid="hold-failed"]'),
    authorizedTemplate: q('[data-field="authorized-template"]'),
    failedTemplate: q('[data-field="failed-template"]')
  };
  if (!els.button) return;

  var buttonLabel = els.button.textContent;
  var busy = false;
  var stripe = null;

  function showError(text) {
    if (els.error) els.error.textContent = text || "";
  }

  function setBusy(on) {
    busy = on;
    els.button.disabled = on || !stripe;
    els.button.classList.toggle("is-busy", on);
    els.button.setAttribute("aria-busy", on ? "true" : "false");
    els.button.textContent = on ? t("hold_confirming") : buttonLabel;
  }

  /** Fill a live region from its <template> (text written by the server, translated). */
  function fill(target, template) {
    if (!target || !template) return;
    target.textContent = "";
    target.appendChild(template.content.cloneNode(true));
  }

  function finish(status) {
    root.setAttribute("data-status", status);
    if (els.pending) els.pending.hidden = true;
    if (status === "authorized" || status === "captured") {
      fill(els.authorized, els.authorizedTemplate);
      var link = els.authorized && els.authorized.querySelector("a");
      if (link) link.focus();
    } else {
      fill(els.failed, els.failedTemplate);
    }
  }

  function messageOf(err, fallback) {
    if (err && !(err instanceof Error) && typeof err.message === "string" && err.message) return err.message;
    return fallback;
  }

  function refresh() {
    return HX.postJSON(root.getAttribute("data-refresh-url"), {}, t("hold_check_failed")).then(function (data) {
      if (typeof data.status !== "string") throw { message: t("hold_check_failed") };
      return data;
    });
  }

  function authenticate() {
    if (busy || !stripe) return;
    setBusy(true);
    showError("");
    var secret = root.getAttribute("data-client-secret") || "";
    var paymentMethod = root.getAttribute("data-payment-method") || "";
    var confirmError = null;
    var confirming;
    try {
      // After an off-session attempt Stripe wants the card named again to retry it on-session.
      confirming = paymentMethod ? stripe.confirmCardPayment(secret, { payment_method: paymentMethod })
        : stripe.confirmCardPayment(secret);
    } catch (err) {
      confirming = Promise.resolve({ error: err });
    }
    Promise.resolve(confirming).then(function (result) {
      confirmError = result && result.error ? result.error : null;
    }, function (err) {
      confirmError = err || {};
    }).then(refresh).then(function (hold) {
      if (hold.status === "authorized" || hold.status === "captured" ||
          hold.status === "failed" || hold.status === "cancelled") {
        finish(hold.status);
        return;
      }
      // Still waiting for the bank: nothing was decided, so the buyer can try again.
      setBusy(false);
      showError(messageOf(confirmError, t("hold_not_confirmed")));
      els.button.focus();
    }).catch(function (err) {
      setBusy(false);
      showError(messageOf(err, t("hold_check_failed")));
    });
  }

  els.button.addEventListener("click", authenticate);

  if (typeof window.Stripe !== "function" || !window.fetch) {
    showError(t("card_unavailable"));
    return;
  }
  try {
    stripe = window.Stripe(root.getAttribute("data-publishable-key") || "");
  } catch (err) {
    if (window.console) console.error(err);
    showError(t("card_unavailable"));
    return;
  }
  setBusy(false);
})();
