// The portal's small behaviours, driven by data- attributes in the templates.
//
// The Content-Security-Policy (portal/security.py) forbids inline scripts, on*= attributes
// and htmx's hx-on (htmx runs with allowEval: false), so they live here. Every listener is
// on `document` (event delegation): content htmx swaps in later works without set-up.
// Texts come from the templates (translated there), never from this file.
//
//   data-check-all="<selector>"       a checkbox that checks or unchecks every box matching
//                                     the selector
//   data-stop-change                  a field whose change event stays there (it does not
//                                     reach the form's htmx trigger)
//   data-swap-removes="<selector>"    after htmx swaps new content into this element,
//                                     remove the elements matching the selector
//   data-copy="<id>"                  a button (hidden until this script shows it) that
//                                     copies the text of the element with that id;
//                                     data-copied="<message>" is the toast that says so
//
// Confirmation: one Bootstrap modal (#confirm-modal in base.html) asks before a destructive
// action; Cancel has the focus, and Escape, Cancel or a click outside do nothing.
//   data-confirm="<question>"         on a plain form (or one of its submit buttons): ask
//                                     before sending it
//   hx-confirm="<question>"           on an htmx element: ask before the request
//                                     (htmx:confirm, then issueRequest(true) on confirm)
//   with either, optionally:
//   data-confirm-title="<title>"      the dialog's title (default: "Are you sure?")
//   data-confirm-button="<label>"     the confirm button's label (default: "Confirm")
//   data-confirm-danger               a red confirm button
//   data-confirm-cancel="<label>"     the dismiss button's label (default: "Cancel"), when
//                                     "Cancel" would be ambiguous ("Cancel invoice")
//
// Feedback on every htmx request:
//   progress   the target gets aria-busy="true" at once and, past 150 ms, the class
//              htmx-busy (a spinner over it) and the page a bar at the top; the element
//              that fired (a form: its submit buttons) is disabled until the request ends
//   errors     an alert (role="alert") in #feedback-alerts: a 4xx says the server's message
//              (the HX-Error-Message header, see portal/errors.py); a 5xx or a network
//              failure a generic message and Retry; a 401 "your session ended" with a
//              link to /login?next=<this page>
//   toasts     HX-Trigger: {"toast": "<message>"} (portal/htmx.py with_toast) shows a
//              success toast in #toasts; flashed successes arrive there already rendered
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

  // --- one confirmation dialog -------------------------------------------------------

  var confirmation = null; // the pending question: {proceed, opener, confirmed}
  var confirmedForm = null; // a form whose next submit event was already confirmed

  function attribute(sources, name) {
    for (var i = 0; i < sources.length; i++) {
      if (sources[i] instanceof Element && sources[i].hasAttribute(name)) {
        return sources[i].getAttribute(name);
      }
    }
    return null;
  }

  // Ask `question` in the modal; `sources` carry the optional data-confirm-* attributes.
  function ask(question, sources, proceed) {
    var modal = document.getElementById("confirm-modal");
    if (!modal || !window.bootstrap) {
      // Only on a page without base.html's dialog: still ask, never act unasked.
      if (window.confirm(question)) {
        proceed();
      }
      return;
    }
    var ok = modal.querySelector("#confirm-modal-ok");
    var danger = attribute(sources, "data-confirm-danger") !== null;
    modal.querySelector("#confirm-modal-title").textContent =
      attribute(sources, "data-confirm-title") || modal.dataset.title;
    modal.querySelector("#confirm-modal-question").textContent = question;
    modal.querySelector("#confirm-modal-cancel").textContent =
      attribute(sources, "data-confirm-cancel") || modal.dataset.cancel;
    ok.textContent = attribute(sources, "data-confirm-button") || modal.dataset.button;
    ok.classList.toggle("btn-danger", danger);
    ok.classList.toggle("btn-primary", !danger);
    confirmation = { proceed: proceed, opener: document.activeElement, confirmed: false };
    window.bootstrap.Modal.getOrCreateInstance(modal).show();
  }

  // Cancel is the default: it has the focus once the dialog is shown.
  document.addEventListener("shown.bs.modal", function (event) {
    if (event.target.id === "confirm-modal") {
      event.target.querySelector("#confirm-modal-cancel").focus();
    }
  });

  document.addEventListener("click", function (event) {
    if (!closest(event.target, "#confirm-modal-ok") || !confirmation || confirmation.confirmed) {
      return; // (a second click while the dialog fades out sends nothing more)
    }
    var pending = confirmation;
    pending.confirmed = true;
    window.bootstrap.Modal.getInstance(document.getElementById("confirm-modal")).hide();
    pending.proceed();
  });

  document.addEventListener("hidden.bs.modal", function (event) {
    if (event.target.id !== "confirm-modal" || !confirmation) {
      return;
    }
    var opener = confirmation.opener;
    confirmation = null;
    if (opener instanceof HTMLElement && opener.isConnected && !opener.disabled) {
      opener.focus();
    }
  });

  // A plain form (or its submit button) with data-confirm. Captured at the document, so
  // nothing else (htmx on the form) sees the submit before it is confirmed.
  document.addEventListener(
    "submit",
    function (event) {
      var form = event.target;
      if (!(form instanceof HTMLFormElement)) {
        return;
      }
      if (confirmedForm === form) {
        confirmedForm = null;
        return;
      }
      var submitter = event.submitter;
      var source =
        submitter && submitter.hasAttribute("data-confirm")
          ? submitter
          : form.hasAttribute("data-confirm")
            ? form
            : null;
      if (!source) {
        return;
      }
      event.preventDefault();
      event.stopImmediatePropagation();
      ask(source.getAttribute("data-confirm"), [source, form], function () {
        confirmedForm = form;
        try {
          if (submitter && submitter.form === form) {
            form.requestSubmit(submitter);
          } else {
            form.requestSubmit();
          }
        } finally {
          confirmedForm = null; // the submit event ran (or validation stopped it)
        }
      });
    },
    true
  );

  // Every htmx request passes here first: remember how to issue it again (Retry), and
  // ask when it carries hx-confirm.
  var reissue = new WeakMap();
  document.addEventListener("htmx:confirm", function (event) {
    var detail = event.detail;
    reissue.set(detail.elt, detail.issueRequest);
    if (!detail.question) {
      return;
    }
    event.preventDefault();
    var source = closest(detail.elt, "[hx-confirm], [data-hx-confirm]");
    ask(detail.question, [source, detail.elt], function () {
      detail.issueRequest(true);
    });
  });

  // --- progress ------------------------------------------------------------------------

  var SLOW_MS = 150;
  var requests = new Map(); // xhr -> {target, controls, timer, slow}
  var busyTargets = new Map(); // target -> number of requests running for it
  var slowCount = 0;

  function isSubmit(control) {
    return (
      (control instanceof HTMLButtonElement && control.type === "submit") ||
      (control instanceof HTMLInputElement && (control.type === "submit" || control.type === "image"))
    );
  }

  // What a request disables: the button that fired it, a form's submit buttons, a link.
  // Never a field (it would lose the focus and the caret while the user types).
  function controlsOf(elt) {
    if (elt instanceof HTMLFormElement) {
      return Array.prototype.filter.call(elt.elements, isSubmit);
    }
    if (elt instanceof HTMLButtonElement || isSubmit(elt) || elt instanceof HTMLAnchorElement) {
      return [elt];
    }
    return [];
  }

  function disable(control) {
    var focused = document.activeElement === control;
    if (control instanceof HTMLAnchorElement) {
      if (control.getAttribute("aria-disabled") === "true") {
        return null;
      }
      control.setAttribute("aria-disabled", "true");
      control.classList.add("htmx-pending");
    } else if (control.disabled) {
      return null;
    } else {
      control.disabled = true;
    }
    return { control: control, focused: focused };
  }

  function enable(held) {
    var control = held.control;
    if (control instanceof HTMLAnchorElement) {
      control.removeAttribute("aria-disabled");
      control.classList.remove("htmx-pending");
    } else {
      control.disabled = false;
    }
    var lost = !document.activeElement || document.activeElement === document.body;
    if (held.focused && lost && control.isConnected) {
      control.focus(); // disabling took the focus away; give it back
    }
  }

  function setSlow(delta) {
    slowCount += delta;
    document.documentElement.classList.toggle("requests-slow", slowCount > 0);
  }

  // beforeSend, not beforeRequest: a listener may still cancel a request at beforeRequest,
  // and then it never ends. From beforeSend on, the request always ends (loadend).
  document.addEventListener("htmx:beforeSend", function (event) {
    var detail = event.detail;
    var xhr = detail.xhr;
    if (!xhr || requests.has(xhr)) {
      return;
    }
    var target = detail.target instanceof Element ? detail.target : null;
    var state = { target: target, controls: [], timer: 0, slow: false };
    controlsOf(detail.elt).forEach(function (control) {
      var held = disable(control);
      if (held) {
        state.controls.push(held);
      }
    });
    if (target) {
      busyTargets.set(target, (busyTargets.get(target) || 0) + 1);
      target.setAttribute("aria-busy", "true");
    }
    state.timer = window.setTimeout(function () {
      state.slow = true;
      setSlow(1);
      if (target && busyTargets.has(target)) {
        target.classList.add("htmx-busy");
      }
    }, SLOW_MS);
    requests.set(xhr, state);
    xhr.addEventListener("loadend", function () {
      finish(xhr);
    });
  });

  function finish(xhr) {
    var state = requests.get(xhr);
    if (!state) {
      return;
    }
    requests.delete(xhr);
    window.clearTimeout(state.timer);
    if (state.slow) {
      setSlow(-1);
    }
    var target = state.target;
    if (target) {
      var left = (busyTargets.get(target) || 1) - 1;
      if (left > 0) {
        busyTargets.set(target, left);
      } else {
        busyTargets.delete(target);
        target.removeAttribute("aria-busy");
        target.classList.remove("htmx-busy");
      }
    }
    state.controls.forEach(enable);
  }

  // After the swap (the element may be gone: htmx then fires this on a parent).
  document.addEventListener("htmx:afterRequest", function (event) {
    if (event.detail && event.detail.xhr) {
      finish(event.detail.xhr);
    }
  });

  // --- errors --------------------------------------------------------------------------

  var MAX_ALERTS = 3;

  function serverMessage(xhr) {
    var header = xhr && xhr.getResponseHeader("HX-Error-Message");
    if (!header) {
      return null;
    }
    try {
      return decodeURIComponent(header.replace(/\+/g, " "));
    } catch (error) {
      return null;
    }
  }

  // /login?next=<this page's path and query>, so the filters survive the new login.
  function loginUrl(base) {
    var here = window.location.pathname + window.location.search;
    return base + "?next=" + encodeURIComponent(here).replace(/%2F/g, "/");
  }

  // An alert over the top of the page; `action` is a button (Retry) or a link (Log in).
  function showAlert(kind, message, action) {
    var region = document.getElementById("feedback-alerts");
    if (!region) {
      return null;
    }
    Array.prototype.forEach.call(region.querySelectorAll(".alert"), function (old) {
      if (old.querySelector(".feedback-message").textContent === message) {
        old.remove(); // the same message again: one alert, the newest
      }
    });
    var alert = document.createElement("div");
    alert.className =
      "alert alert-" + kind + " alert-dismissible fade show d-flex flex-wrap align-items-center gap-2";
    alert.setAttribute("role", "alert");
    var text = document.createElement("span");
    text.className = "feedback-message";
    text.textContent = message;
    alert.appendChild(text);
    if (action) {
      alert.appendChild(action);
    }
    var close = document.createElement("button");
    close.type = "button";
    close.className = "btn-close";
    close.setAttribute("data-bs-dismiss", "alert");
    close.setAttribute("aria-label", region.dataset.closeLabel);
    alert.appendChild(close);
    region.appendChild(alert);
    while (region.children.length > MAX_ALERTS) {
      region.firstElementChild.remove();
    }
    return alert;
  }

  function onFailure(event) {
    var detail = event.detail || {};
    var region = document.getElementById("feedback-alerts");
    if (!region) {
      return;
    }
    var texts = region.dataset;
    var status = event.type === "htmx:responseError" && detail.xhr ? detail.xhr.status : 0;
    if (status === 401) {
      var login = document.createElement("a");
      login.className = "alert-link";
      login.href = loginUrl(texts.loginUrl);
      login.textContent = texts.loginLabel;
      showAlert("warning", serverMessage(detail.xhr) || texts.sessionEnded, login);
      return;
    }
    if (status >= 400 && status < 500) {
      showAlert("warning", serverMessage(detail.xhr) || texts.refused);
      return;
    }
    var again = reissue.get(detail.elt);
    var retry = null;
    if (again && detail.elt instanceof Element && detail.elt.isConnected) {
      retry = document.createElement("button");
      retry.type = "button";
      retry.className = "btn btn-sm btn-danger";
      retry.textContent = texts.retryLabel;
      retry.addEventListener("click", function () {
        var alert = closest(retry, ".alert");
        if (alert) {
          alert.remove();
        }
        again(true); // the same request, not asked again: it was confirmed the first time
      });
    }
    showAlert("danger", status ? texts.failed : texts.offline, retry);
  }

  document.addEventListener("htmx:responseError", onFailure);
  document.addEventListener("htmx:sendError", onFailure);
  document.addEventListener("htmx:timeout", onFailure);

  // --- toasts --------------------------------------------------------------------------

  // Long enough to read (longer texts stay longer); hovering or focusing one keeps it.
  function readingTime(toast) {
    return 5000 + 60 * toast.textContent.trim().length;
  }

  function startToast(toast) {
    toast.addEventListener("hidden.bs.toast", function () {
      toast.remove();
    });
    window.bootstrap.Toast.getOrCreateInstance(toast, { delay: readingTime(toast) }).show();
  }

  function showToast(message) {
    var template = document.getElementById("toast-template");
    var region = document.getElementById("toasts");
    if (!template || !region || !window.bootstrap) {
      return;
    }
    var toast = template.content.firstElementChild.cloneNode(true);
    toast.querySelector(".toast-body").textContent = message;
    region.appendChild(toast);
    startToast(toast);
  }

  // HX-Trigger: {"toast": "<message>"}: htmx fires `toast` with detail.value.
  document.addEventListener("toast", function (event) {
    var detail = event.detail || {};
    var message = typeof detail.value === "string" ? detail.value : detail.message;
    if (message) {
      showToast(message);
    }
  });

  // Flashed successes of a full page load, rendered as toasts (readable without JS):
  // they go away after a while like the others.
  if (window.bootstrap) {
    document.querySelectorAll("[data-flash-toast]").forEach(startToast);
  }

  // --- bulk selection and rows changed out of band (the invoices list) ------------------
  //
  //   data-check-all (above) also follows its rows: checked when every row is, mixed
  //   (indeterminate) when only some are, unchecked when none is (or the rows were
  //   re-rendered, their boxes then unchecked)
  //   data-uncheck="<selector>"         content swapped in with it unchecks the boxes
  //                                     matching the selector (a bulk action was applied:
  //                                     its selection is spent)
  //   data-bs-dismiss="alert"           also works without Bootstrap's script (the alert is
  //                                     removed); with data-return-focus="<selector>" the
  //                                     focus then goes there
  //   A table row swapped in out of band (hx-swap-oob: a bulk action re-rendered it) gets
  //   data-updated: portal.css highlights it for a moment (the mark goes once it has played).

  function followRows() {
    document.querySelectorAll("input[type=checkbox][data-check-all]").forEach(function (box) {
      var rows = Array.prototype.filter.call(
        document.querySelectorAll(box.dataset.checkAll),
        function (row) {
          return row !== box;
        }
      );
      var checked = rows.filter(function (row) {
        return row.checked;
      }).length;
      box.checked = rows.length > 0 && checked === rows.length;
      box.indeterminate = checked > 0 && checked < rows.length;
    });
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target instanceof HTMLInputElement && target.type === "checkbox") {
      followRows();
    }
  });

  document.addEventListener("htmx:afterSettle", function () {
    document.querySelectorAll("[data-uncheck]").forEach(function (spent) {
      document.querySelectorAll(spent.dataset.uncheck).forEach(function (box) {
        box.checked = false;
      });
      spent.removeAttribute("data-uncheck");
    });
    followRows();
  });

  // Before the swap: data-* attributes are not settled, so the mark stays on the new row.
  document.addEventListener("htmx:oobBeforeSwap", function (event) {
    var fragment = event.detail && event.detail.fragment;
    var row = fragment && fragment.firstElementChild;
    if (row instanceof HTMLTableRowElement) {
      row.setAttribute("data-updated", "");
    }
  });

  document.addEventListener("animationend", function (event) {
    var row = event.animationName === "row-updated" ? closest(event.target, "tr") : null;
    if (row) {
      row.removeAttribute("data-updated");
    }
  });

  document.addEventListener("click", function (event) {
    var button = closest(event.target, "[data-bs-dismiss=alert]");
    if (!button) {
      return;
    }
    var alert = closest(button, ".alert");
    if (!window.bootstrap && alert) {
      alert.remove();
    }
    var back = button.dataset.returnFocus && document.querySelector(button.dataset.returnFocus);
    if (back instanceof HTMLElement) {
      back.focus();
    }
  });

  // --- copy buttons (the Pix key on My Credits) -----------------------------------------
  //   Without a clipboard (no JS, or not a secure page) the button stays hidden: the text
  //   is selectable (user-select-all) and copied by hand.

  function showCopyButtons() {
    if (!navigator.clipboard) {
      return;
    }
    document.querySelectorAll("button[data-copy][hidden]").forEach(function (button) {
      button.hidden = false;
    });
  }

  showCopyButtons();
  document.addEventListener("htmx:afterSettle", showCopyButtons);

  document.addEventListener("click", function (event) {
    var button = closest(event.target, "button[data-copy]");
    var source = button && document.getElementById(button.dataset.copy);
    if (!source || !navigator.clipboard) {
      return;
    }
    navigator.clipboard.writeText(source.textContent.trim()).then(
      function () {
        if (button.dataset.copied) {
          showToast(button.dataset.copied);
        }
      },
      function () {} // refused (permissions): the text stays there to select by hand
    );
  });
})();
