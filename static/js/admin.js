/* Admin pages: the new-lot form shows only the fields the chosen kind uses.
 * Without JavaScript every field stays visible, and the server ignores the ones a kind does not use. */
(function () {
  "use strict";

  Array.prototype.forEach.call(document.querySelectorAll("[data-kind-form]"), function (form) {
    var select = form.querySelector('select[name="kind"]');
    if (!select) return;
    var fields = form.querySelectorAll("[data-kinds]");

    function sync() {
      var kind = select.value;
      Array.prototype.forEach.call(fields, function (field) {
        var kinds = (field.getAttribute("data-kinds") || "").split(/\s+/);
        var show = kinds.indexOf(kind) !== -1;
        field.hidden = !show;
        // Hidden inputs are not submitted, so a stale value of another kind cannot trip validation.
        Array.prototype.forEach.call(field.querySelectorAll("input, select, textarea"), function (input) {
          input.disabled = !show;
        });
      });
    }

    select.addEventListener("change", sync);
    sync();
  });
})();
