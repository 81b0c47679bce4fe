/* Handle Exchange: the unread-notices badge in the nav, kept current over the live socket.
 *
 * Every private notice (won, payment_needed, outbid, ...) arrives on the user's own Socket.IO
 * room as an event named by its kind; the badge lists those kinds in data-kinds, rendered from
 * the server's list, so this file never needs to know them. Each one counts as one more unread
 * notice. The server's count on the next page load is the truth; this only keeps the open page
 * honest until then.
 */
(function () {
  "use strict";

  var badge = document.querySelector('[data-testid="notice-count"]');
  if (!badge || !window.HX || !window.HX.socket) return;
  var number = badge.querySelector(".notice-count-number");
  var kinds = (badge.getAttribute("data-kinds") || "").split(/\s+/).filter(Boolean);

  function show(count) {
    badge.setAttribute("data-count", String(count));
    if (number) number.textContent = String(count);
    badge.hidden = count <= 0;
  }

  function bump() {
    var count = parseInt(badge.getAttribute("data-count") || "0", 10);
    show((isNaN(count) ? 0 : count) + 1);
  }

  kinds.forEach(function (kind) {
    window.HX.socket.on(kind, bump);
  });
})();
