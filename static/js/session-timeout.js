/* Warns before the idle limit signs a person out, and lets them extend the session (DESIGN.md §8).
   The server keeps the real clock; this only mirrors it from the moment the page loaded. */
(function () {
  "use strict";
  var dialog = document.getElementById("session-timeout");
  if (!dialog || typeof dialog.showModal !== "function" || !window.fetch) {
    return;
  }
  var warnAfter = Number(dialog.getAttribute("data-warn-after-seconds")) * 1000;
  var signOutAfter = Number(dialog.getAttribute("data-sign-out-after-seconds")) * 1000;
  var extendForm = dialog.querySelector("form[data-extend-session]");
  var warnTimer = null;
  var endTimer = null;
  var focusBefore = null;

  function schedule() {
    window.clearTimeout(warnTimer);
    window.clearTimeout(endTimer);
    warnTimer = window.setTimeout(warn, warnAfter);
    // A little after the server's limit, so the next page load finds the session ended.
    endTimer = window.setTimeout(end, signOutAfter + 2000);
  }

  function warn() {
    focusBefore = document.activeElement;
    dialog.showModal();
  }

  function end() {
    window.location.assign(dialog.getAttribute("data-ended-url"));
  }

  function extended() {
    dialog.close();
    if (focusBefore && typeof focusBefore.focus === "function") {
      focusBefore.focus();
    }
    schedule();
  }

  extendForm.addEventListener("submit", function (event) {
    event.preventDefault();
    window.fetch(extendForm.action, {
      method: "POST",
      body: new FormData(extendForm),
      headers: { Accept: "application/json" },
      credentials: "same-origin"
    }).then(function (response) {
      if (response.ok && !response.redirected) {
        extended();
      } else {
        end();
      }
    }, function () {
      extendForm.submit();
    });
  });

  // Escape would close the dialog without extending the session; treat it as "continue".
  dialog.addEventListener("cancel", function (event) {
    event.preventDefault();
    extendForm.requestSubmit();
  });

  schedule();
})();
