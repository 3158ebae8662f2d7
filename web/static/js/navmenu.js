// The top bar's dropdown (web/templates/partials/nav.html): <details> opens and closes on its
// own entry; this closes it on a click anywhere else or on Escape, as a menu is expected to.
(function () {
  "use strict";
  function closeAll(except) {
    document.querySelectorAll("details.navmenu[open]").forEach(function (menu) {
      if (menu !== except) { menu.removeAttribute("open"); }
    });
  }
  document.addEventListener("click", function (event) {
    closeAll(event.target.closest ? event.target.closest("details.navmenu") : null);
  });
  // At phone width the menu opens within the bar, which scrolls sideways: bring it into view.
  document.querySelectorAll("details.navmenu").forEach(function (menu) {
    menu.addEventListener("toggle", function () {
      var last = menu.querySelector(".navmenu-list a:last-child");
      if (menu.open && last) { last.scrollIntoView({ block: "nearest", inline: "nearest" }); }
    });
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") { return; }
    var open = document.querySelector("details.navmenu[open]");
    if (open) {
      open.removeAttribute("open");
      open.querySelector("summary").focus();
    }
  });
})();
