// The silence form without inline handlers (the Content-Security-Policy refuses those):
// typing a custom length ticks "Custom", picking an end time ticks "Until a time" (fields
// with data-ticks name the choice they tick), and ticking a preset clears both, so that
// the form never holds two different ends (the server refuses that too, saying so).
(function () {
  "use strict";
  document.addEventListener("input", function (event) {
    var field = event.target;
    if (!field.dataset || !field.dataset.ticks || !field.form) return;
    var choice = field.form.querySelector(
      'input[name="duration"][value="' + field.dataset.ticks + '"]');
    if (choice && field.value) choice.checked = true;
  });
  document.addEventListener("change", function (event) {
    var radio = event.target;
    if (!radio.form || radio.name !== "duration" || !radio.checked) return;
    radio.form.querySelectorAll("[data-ticks]").forEach(function (field) {
      if (field.dataset.ticks !== radio.value) field.value = "";
    });
  });
})();
