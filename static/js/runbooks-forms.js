// Runbook forms (no inline script: the Content-Security-Policy refuses it).
// A refused form comes back with its errors summed up at its top ([data-error-summary]):
// that summary is scrolled into view and the first field in error focused, so the eye lands
// on what to fix rather than at the top of a long runbook. A bounded field with a
// [data-counter-for] hint beside it counts its characters as they are typed.
(function () {
  function focusFirstError() {
    var summary = document.querySelector("[data-error-summary]");
    if (!summary) return;
    summary.scrollIntoView({ block: "center" });
    var form = summary.closest("form");
    var field = form && form.querySelector('[aria-invalid="true"]');
    (field || summary).focus({ preventScroll: true });
  }

  function counters(root) {
    root.querySelectorAll("[data-counter-for]").forEach(function (hint) {
      var field = document.getElementById(hint.dataset.counterFor);
      var limit = field && Number(field.getAttribute("maxlength"));
      if (!limit) return;
      var said = hint.textContent;
      function update() {
        hint.textContent = said + " " + field.value.length + " / " + limit + ".";
      }
      field.addEventListener("input", update);
      update();
    });
  }

  // a region the live refresh replaced (static/js/live.js) brings new fields to count
  document.addEventListener("live:after", function (event) { counters(event.target); });

  function start() {
    focusFirstError();
    counters(document);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
