// Progressive help only: every page works without it.
(function () {
  "use strict";
  // A form is sent once: its buttons are disabled after the first submit.
  document.querySelectorAll("form[data-once]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (form.dataset.sent) { event.preventDefault(); return; }
      form.dataset.sent = "1";
      setTimeout(function () {
        form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; });
      }, 0);
    });
  });
  // Print buttons appear only where printing can be started from the page.
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });
  // After a refused submission, focus the list of what is missing.
  var errors = document.getElementById("errors");
  if (errors) { errors.focus(); }
})();
