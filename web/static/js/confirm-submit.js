/* planflow — a form that cannot be undone asks first. <form data-confirm="…"> is submitted
 * only after the person accepts the browser's confirmation dialog showing that text (终止流程:
 * a terminated process cannot be resumed). Cancelling leaves the page as it is, typed reason
 * included. The browser's own checks (a required reason) come first: the dialog only shows
 * for a form that would really be sent. */
(function () {
  'use strict';

  if (window.planflowConfirmSubmit) { return; }  // loaded twice on one page: one handler
  window.planflowConfirmSubmit = true;

  document.addEventListener('submit', function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute('data-confirm')) { return; }
    if (!window.confirm(form.getAttribute('data-confirm'))) {
      event.preventDefault();
    }
  });
}());
