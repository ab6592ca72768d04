// Runbook forms (no inline script: the Content-Security-Policy refuses it).
// A refused form comes back with its errors summed up at its top ([data-error-summary]):
// that summary is scrolled into view and the first field in error focused, so the eye lands
// on what to fix rather than at the top of a long runbook. A bounded field with a
// [data-counter-for] hint beside it counts its characters as they are typed.
// A pod picker ([data-pod-picker], an input with a <datalist> of at most 50 pods) asks the
// runbook page for the pods matching what is typed (?pod_filter=), a quarter second after the
// last keystroke, and swaps in the new options and the "N more: type to narrow" hint.
(function () {
  function podPickers(root) {
    root.querySelectorAll("input[data-pod-picker]").forEach(function (input) {
      if (input.dataset.podPickerReady) return;
      input.dataset.podPickerReady = "1";
      var label = input.closest("label");
      var form = input.closest("form");
      var list = document.getElementById(input.getAttribute("list"));
      var hint = label && label.querySelector("[data-pod-hint]");
      if (!list || !form) return;
      var namespace = form.querySelector('[name$="-namespace"]');
      var timer = null;
      var asked = 0;
      function ask() {
        var ticket = ++asked;
        var query = new URLSearchParams({
          pod_filter: input.value,
          pod_namespace: namespace ? namespace.value : "",
        });
        fetch(window.location.pathname + "?" + query.toString(), {
          credentials: "same-origin",
          headers: { Accept: "text/html" },
        })
          .then(function (response) { return response.ok ? response.text() : null; })
          .then(function (html) {
            if (html === null || ticket !== asked) return; // a later keystroke's answer wins
            var fragment = new DOMParser().parseFromString(html, "text/html");
            var options = fragment.querySelector("[data-pod-options]");
            var said = fragment.querySelector("[data-pod-hint]");
            if (options) list.innerHTML = options.innerHTML;
            if (said && hint) hint.textContent = said.textContent;
          })
          .catch(function () { /* the list shown stays; typing the name still works */ });
      }
      function later() {
        clearTimeout(timer);
        timer = setTimeout(ask, 250);
      }
      input.addEventListener("input", later);
      if (namespace) namespace.addEventListener("change", later);
    });
  }

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
  document.addEventListener("live:after", function (event) {
    counters(event.target);
    podPickers(event.target);
  });

  function start() {
    focusFirstError();
    counters(document);
    podPickers(document);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
