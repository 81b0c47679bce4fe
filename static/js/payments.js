/* Paying an order with the buyer present: the pay page (pay.js) and a lot's Buy (checkout.js).
 *
 *   POST /orders/<id>/pay          -> {status}  paid, or requires_action with a client_secret
 *   stripe.confirmCardPayment()    the bank's check, shown by Stripe.js (localstripe in development)
 *   POST /orders/<id>/pay/confirm  -> {status}  the server asks Stripe and carries the order on
 *
 * Nothing here decides that an order is paid: only the server's answer does. A refusal rejects
 * with {code, message, action} (action: where to put it right, e.g. another card).
 */
(function () {
  "use strict";

  var HX = window.HX;
  if (!HX) return;
  var t = HX.t;
  var PAID = ["paid", "transferred", "completed"];
  var stripes = {};

  /** Stripe.js for a publishable key, or null when it did not load. */
  function stripeFor(key) {
    if (typeof window.Stripe !== "function") return null;
    if (!stripes[key]) {
      try {
        stripes[key] = window.Stripe(key || "");
      } catch (err) {
        return null;
      }
    }
    return stripes[key];
  }

  function post(url) {
    return HX.postJSON(url, {}, t("pay_failed")).then(function (data) {
      if (typeof data.status !== "string") throw { message: t("pay_failed") };
      return data;
    });
  }

  function confirmWithBank(stripe, options, answer) {
    var confirming;
    try {
      confirming = options.paymentMethod
        ? stripe.confirmCardPayment(answer.client_secret, { payment_method: options.paymentMethod })
        : stripe.confirmCardPayment(answer.client_secret);
    } catch (err) {
      confirming = Promise.resolve({ error: err });
    }
    return Promise.resolve(confirming).then(function (result) {
      return result && result.error ? result.error : null;
    }, function (err) {
      return err || {};
    }).then(function (bankError) {
      // Whatever the bank said, the server asks Stripe: it alone says whether the order is paid.
      return post(options.confirmUrl).then(function (order) {
        if (PAID.indexOf(order.status) < 0) {
          throw { code: "not_confirmed", message: (bankError && bankError.message) || t("pay_not_confirmed") };
        }
        return order;
      });
    });
  }

  /**
   * Pay an order now: options {payUrl, confirmUrl, publishableKey, paymentMethod}. Resolves with
   * the server's answer once the order is paid; rejects with {code, message, action}.
   */
  function payOrder(options) {
    var stripe = stripeFor(options.publishableKey || "");
    if (!stripe) return Promise.reject({ code: "stripe_unavailable", message: t("card_unavailable") });
    return post(options.payUrl).then(function (answer) {
      if (answer.status === "requires_action" && answer.client_secret) return confirmWithBank(stripe, options, answer);
      if (PAID.indexOf(answer.status) < 0) throw { message: t("pay_failed") };
      return answer;
    });
  }

  HX.payOrder = payOrder;
  HX.stripeReady = function (key) { return stripeFor(key || "") !== null; };
  HX.PAID = PAID;
})();
