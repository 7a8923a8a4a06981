// The portal's small behaviours, driven by data- attributes in the templates.
//
// The Content-Security-Policy (portal/security.py) forbids inline scripts, on*= attributes
// and htmx's hx-on (htmx runs with allowEval: false), so they live here. Every listener is
// on `document` (event delegation): content htmx swaps in later works without set-up.
//
//   data-check-all="<selector>"       a checkbox that checks or unchecks every box matching
//                                     the selector
//   data-stop-change                  a field whose change event stays there (it does not
//                                     reach the form's htmx trigger)
//   data-swap-removes="<selector>"    after htmx swaps new content into this element,
//                                     remove the elements matching the selector
//   data-confirm="<question>"         on a form (or its submit button): ask before sending
(function () {
  "use strict";

  function closest(target, selector) {
    return target instanceof Element ? target.closest(selector) : null;
  }

  // Captured at the document, before the event reaches the form htmx listens on.
  document.addEventListener(
    "change",
    function (event) {
      if (closest(event.target, "[data-stop-change]") === event.target) {
        event.stopPropagation();
      }
    },
    true
  );

  document.addEventListener("change", function (event) {
    var box = closest(event.target, "input[type=checkbox][data-check-all]");
    if (box !== event.target) {
      return;
    }
    document.querySelectorAll(box.dataset.checkAll).forEach(function (other) {
      if (other !== box && other.checked !== box.checked) {
        other.checked = box.checked;
      }
    });
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail && event.detail.target;
    if (target instanceof Element && target.hasAttribute("data-swap-removes")) {
      document.querySelectorAll(target.dataset.swapRemoves).forEach(function (stale) {
        stale.remove();
      });
    }
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var submitter = event.submitter;
    var question =
      (submitter && submitter.getAttribute("data-confirm")) ||
      (form instanceof Element ? form.getAttribute("data-confirm") : null);
    if (question && !window.confirm(question)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  });
})();
