/* Saving a card with Stripe.js: a SetupIntent from our server, confirmed in the browser.
 *
 * The card details go from Stripe's card Element straight to Stripe; our server sees only the
 * SetupIntent id and keeps the card's brand and last four digits.
 *
 *   POST /account/card/setup              -> {setup_intent, client_secret, publishable_key}
 *   stripe.confirmCardSetup(client_secret, {payment_method: {card}})
 *   POST /account/card/confirm {setup_intent} -> {has_payment_method, brand, last4}
 *
 * Our endpoints answer errors as {error: {code, message}}. In development the fake Stripe server
 * serves a stand-in Stripe.js whose card Element is a row of plain inputs; real Stripe's is an
 * iframe. This file works with both.
 */
(function () {
  "use strict";

  var HX = window.HX;
  var root = document.getElementById("card-page");
  if (!root || !HX) return;

  var t = HX.t;

  function q(selector) {
    return root.querySelector(selector);
  }

  var els = {
    form: q('[data-testid="card-form"]'),
    element: q('[data-testid="card-element"]'),
    submit: q('[data-testid="save-card"]'),
    error: q('[data-testid="card-error"]'),
    saved: q('[data-testid="card-saved"]'),
    replace: q('[data-testid="replace-card"]'),
    cancel: q('[data-testid="cancel-replace"]'),
    back: q('[data-testid="card-back"]')
  };
  if (!els.form || !els.element || !els.submit) return;

  var brandNames = {};
  try {
    brandNames = JSON.parse(root.getAttribute("data-brand-names") || "{}");
  } catch (err) {
    brandNames = {};
  }

  var state = {
    stripe: null,
    card: null,
    busy: false,
    done: false
  };

  /* ---- messages --------------------------------------------------------------------------- */

  function showError(text) {
    if (els.error) els.error.textContent = text || "";
  }

  function showSaved(text) {
    if (els.saved) els.saved.textContent = text || "";
  }

  var submitLabel = els.submit.textContent;

  /** While saving, the button says so ("Saving your card…") and cannot be pressed again. */
  function setBusy(busy) {
    state.busy = busy;
    els.submit.disabled = busy || !state.card;
    els.submit.classList.toggle("is-busy", busy);
    els.submit.setAttribute("aria-busy", busy ? "true" : "false");
    els.submit.textContent = busy ? t("card_saving") : submitLabel;
    if (els.cancel) els.cancel.disabled = busy;
  }

  /** "Visa ending 4242", with the network's own name for the brand Stripe reports. */
  function cardLabel(brand, last4) {
    var key = String(brand || "").toLowerCase();
    var name = Object.prototype.hasOwnProperty.call(brandNames, key) ? brandNames[key]
      : key ? key.charAt(0).toUpperCase() + key.slice(1) : "";
    return t("card_label", { brand: name, last4: last4 || "" });
  }

  /** Only a path on this site: "/lots/3", never "//elsewhere" or "/\elsewhere" or a full URL. */
  function safeNext(url) {
    if (typeof url !== "string" || url.charAt(0) !== "/") return "";
    if (url.charAt(1) === "/" || url.charAt(1) === "\\" || url.indexOf("\\") !== -1) return "";
    if (/[\u0000-\u0020\u007f]/.test(url)) return "";
    return url;
  }

  /** A failure's message for people: ours and Stripe's are written for them, JS exceptions are not. */
  function messageOf(err, fallback) {
    if (err && !(err instanceof Error) && typeof err.message === "string" && err.message) return err.message;
    return fallback;
  }

  /* ---- our endpoints ---------------------------------------------------------------------- */

  /** POST JSON; resolves with the answer, rejects with {code, message} (ours, or a generic one). */
  function postJSON(url, body) {
    return HX.postJSON(url, body, t("card_failed"));
  }

  /* ---- the card Element ------------------------------------------------------------------- */

  // The development stand-in (localstripe's Stripe.js) renders a row of bare inputs whose only
  // names are their placeholders ("exp_month", "postal_code"), cut short by their size: give each
  // a visible, translated label (the <label> also names it for screen readers), an example in
  // place of the raw name, and the browser's autofill hints; its "localstripe:" prefix gives way
  // to a line saying which test card to use. Real Stripe's Element is an iframe, left alone.
  var STAND_IN_FIELDS = {
    number: { label: "card_number", autocomplete: "cc-number", inputmode: "numeric", example: "4242 4242 4242 4242" },
    exp_month: { label: "card_exp_month", autocomplete: "cc-exp-month", inputmode: "numeric", example: "12" },
    exp_year: { label: "card_exp_year", autocomplete: "cc-exp-year", inputmode: "numeric", example: "34" },
    cvc: { label: "card_cvc", autocomplete: "cc-csc", inputmode: "numeric", example: "123" },
    postal_code: { label: "card_postal_code", autocomplete: "postal-code", inputmode: "text", example: "" }
  };

  function labelStandInInputs() {
    var inputs = els.element.querySelectorAll("input");
    Array.prototype.forEach.call(inputs, function (input) {
      var name = input.getAttribute("data-field") || input.getAttribute("placeholder");
      var field = STAND_IN_FIELDS[name];
      if (!field || input.closest(".card-part")) return;
      input.setAttribute("data-field", name);
      input.setAttribute("autocomplete", field.autocomplete);
      input.setAttribute("inputmode", field.inputmode);
      input.setAttribute("spellcheck", "false");
      input.removeAttribute("size");
      input.removeAttribute("aria-label");
      if (field.example) input.setAttribute("placeholder", field.example);
      else input.removeAttribute("placeholder");
      var part = document.createElement("label");
      part.className = "card-part";
      part.setAttribute("data-part", name);
      var text = document.createElement("span");
      text.className = "card-part-label";
      text.textContent = t(field.label);
      input.parentNode.insertBefore(part, input);
      part.appendChild(text);
      part.appendChild(input);
    });
    if (!inputs.length) return;
    els.element.classList.add("card-element-stand-in");
    Array.prototype.forEach.call(els.element.children, function (child) {
      if (child.tagName === "SPAN" && /localstripe/.test(child.textContent)) child.hidden = true;
    });
    var hint = root.querySelector('[data-testid="card-dev-note"]');
    if (hint) hint.hidden = false;
  }

  function focusCard() {
    if (state.card && typeof state.card.focus === "function") {
      state.card.focus();
      return;
    }
    var first = els.element.querySelector("input");
    if (first) first.focus();
  }

  /** Create and mount the card Element once (on load, or when "Replace card" opens the form). */
  function mountCard() {
    if (state.card) return true;
    if (!state.stripe) {
      showError(t("card_unavailable"));
      return false;
    }
    try {
      var elements = state.stripe.elements();
      var card = elements.create("card", {
        style: {
          base: {
            color: "#111827",
            fontFamily: 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif',
            fontSize: "16px",
            "::placeholder": { color: "#6b7280" }
          },
          invalid: { color: "#b91c1c" }
        }
      });
      card.mount(els.element);
      // Real Stripe reports problems as they are typed; the stand-in calls with no event.
      card.on("change", function (event) {
        if (!event) return;
        showError(event.error ? event.error.message : "");
      });
      state.card = card;
    } catch (err) {
      if (window.console) console.error(err);
      showError(t("card_unavailable"));
      return false;
    }
    labelStandInInputs();
    setBusy(false);
    return true;
  }

  /* ---- saving ----------------------------------------------------------------------------- */

  function saved(answer) {
    state.done = true;
    showError("");
    els.submit.classList.remove("is-busy");
    els.submit.setAttribute("aria-busy", "false");
    els.submit.textContent = t("card_saved_button");
    if (els.back) (els.back.closest(".card-back") || els.back).hidden = true;
    var next = safeNext(root.getAttribute("data-next-url") || "");
    showSaved(t(next ? "card_saved_next" : "card_saved", { card: cardLabel(answer.brand, answer.last4) }));
    // A moment to read (and hear) it, then on to where the buyer was, or this page, now with the card.
    window.setTimeout(function () {
      if (next) window.location.assign(next);
      else window.location.reload();
    }, 1200);
  }

  function save() {
    setBusy(true);
    showError("");
    postJSON(root.getAttribute("data-setup-url"), {}).then(function (setup) {
      if (!setup || typeof setup.client_secret !== "string") throw { message: t("card_failed") };
      return state.stripe.confirmCardSetup(setup.client_secret, { payment_method: { card: state.card } });
    }).then(function (result) {
      if (!result || result.error || !result.setupIntent) {
        throw { message: messageOf(result && result.error, t("card_failed")) };
      }
      return postJSON(root.getAttribute("data-confirm-url"), { setup_intent: result.setupIntent.id });
    }).then(function (answer) {
      if (!answer || !answer.has_payment_method) throw { message: t("card_failed") };
      saved(answer);
    }).catch(function (err) {
      if (window.console && err instanceof Error) console.error(err);
      showError(messageOf(err, t("card_failed")));
      setBusy(false);
      focusCard();
    });
  }

  els.form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (state.busy || state.done || !state.card) return;
    save();
  });

  /* ---- replacing a saved card --------------------------------------------------------------- */

  function openForm() {
    els.form.hidden = false;
    if (els.replace) {
      els.replace.setAttribute("aria-expanded", "true");
      els.replace.hidden = true;
    }
    if (mountCard()) focusCard();
  }

  function closeForm() {
    if (state.busy) return;
    els.form.hidden = true;
    showError("");
    if (els.replace) {
      els.replace.hidden = false;
      els.replace.setAttribute("aria-expanded", "false");
      els.replace.focus();
    }
  }

  if (els.replace) {
    els.replace.hidden = false;
    els.replace.addEventListener("click", openForm);
  }
  if (els.cancel) els.cancel.addEventListener("click", closeForm);

  /* ---- start ------------------------------------------------------------------------------ */

  if (typeof window.Stripe !== "function" || !window.fetch) {
    showError(t("card_unavailable"));
    if (els.replace) els.replace.disabled = true;
    return;
  }
  try {
    state.stripe = window.Stripe(root.getAttribute("data-publishable-key") || "");
  } catch (err) {
    if (window.console) console.error(err);
    showError(t("card_unavailable"));
    return;
  }
  // No saved card: the form is open now. With one, it opens on "Replace card".
  if (!els.form.hidden) mountCard();
})();
