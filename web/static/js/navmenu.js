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
  // At phone width the bar scrolls sideways: its edges fade where more entries lie beyond
  // them (nothing else would tell that 流程实例 or 数据看板 exist), and the current entry is
  // scrolled into view.
  document.querySelectorAll(".mainnav").forEach(function (bar) {
    function edges() {
      var more = bar.scrollWidth - bar.clientWidth;
      bar.classList.toggle("more-left", more > 1 && bar.scrollLeft > 1);
      bar.classList.toggle("more-right", more > 1 && bar.scrollLeft < more - 1);
    }
    var current = bar.querySelector('[aria-current="page"], details.navmenu.current');
    if (current && bar.scrollWidth > bar.clientWidth) {
      var offset = current.getBoundingClientRect().left - bar.getBoundingClientRect().left;
      bar.scrollLeft = Math.max(0, bar.scrollLeft + offset - bar.clientWidth / 3);
    }
    bar.addEventListener("scroll", edges, { passive: true });
    window.addEventListener("resize", edges);
    edges();
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
