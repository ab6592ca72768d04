// Small page behaviours without inline handlers (the Content-Security-Policy refuses those):
// a form with data-confirm asks before it is sent; a button with data-print prints the page.
(function () {
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  });
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-print]");
    if (button) window.print();
  });
})();
