/* Watch / Unwatch buttons (templates/lots/_watch.html), toggled in place.
 *
 * Each button is a form that posts the state it wants (works without JavaScript). Here the
 * submit becomes PUT or DELETE /api/v1/lots/<id>/watch with the CSRF token, and the button flips
 * without a reload. Anything unexpected (signed out since, a network error) falls back to the
 * plain form post, which says what happened.
 */
(function () {
  "use strict";

  var HX = window.HX;
  if (!HX || !window.fetch) return;
  var t = HX.t;

  var announcer = document.createElement("p");
  announcer.className = "sr-only";
  announcer.setAttribute("role", "status");
  announcer.setAttribute("aria-live", "polite");
  document.body.appendChild(announcer);

  function announce(text) {
    announcer.textContent = "";
    window.setTimeout(function () { announcer.textContent = text; }, 60);
  }

  /** Show the form as watching or not, and make its next submit ask for the other state. */
  function render(form, watching) {
    var button = form.querySelector('[data-testid="watch-button"]');
    var want = form.querySelector('[data-field="watch-want"]');
    var label = form.querySelector('[data-field="watch-label"]');
    var icon = form.querySelector('[data-field="watch-icon"]');
    if (want) want.value = watching ? "0" : "1";
    if (label) label.textContent = watching ? t("unwatch") : t("watch");
    if (icon) icon.textContent = watching ? "★" : "☆";
    if (button) {
      button.setAttribute("data-watching", watching ? "true" : "false");
      button.classList.toggle("is-watching", watching);
    }
  }

  function onSubmit(event) {
    var form = event.currentTarget;
    var want = form.querySelector('[data-field="watch-want"]');
    var url = form.getAttribute("data-api-url");
    if (!want || !url) return;
    event.preventDefault();
    if (form.getAttribute("data-busy") === "true") return;
    var watching = want.value === "1";
    form.setAttribute("data-busy", "true");
    window.fetch(url, {
      method: watching ? "PUT" : "DELETE",
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRFToken": HX.csrfToken() }
    }).then(function (response) {
      form.removeAttribute("data-busy");
      if (!response.ok) {
        form.submit(); // the page answers with the reason (sign in again, no such lot)
        return;
      }
      // The same lot may have a button in several places on the page (its card and its page).
      var id = url;
      Array.prototype.forEach.call(document.querySelectorAll("form[data-watch-form]"), function (other) {
        if (other.getAttribute("data-api-url") === id) render(other, watching);
      });
      var handle = form.getAttribute("data-handle") || "";
      announce(t(watching ? "watch_added" : "watch_removed", { handle: handle }));
    }, function () {
      form.removeAttribute("data-busy");
      form.submit();
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll("form[data-watch-form]"), function (form) {
    form.addEventListener("submit", onSubmit);
  });
})();
