// Draws the backtest chart each time htmx swaps a new backtest in under the threshold form.
(function () {
  function draw(root) {
    root.querySelectorAll("[data-figure]").forEach(function (el) {
      var data = document.getElementById(el.dataset.figure);
      if (!data || !window.Plotly) return;
      var figure = JSON.parse(data.textContent);
      window.Plotly.newPlot(el, figure.data, figure.layout, { displayModeBar: false, responsive: true });
    });
  }
  document.addEventListener("htmx:afterSwap", function (event) { draw(event.target); });
  // Levels the backtest refuses come back as 400 with the reason: show it in place.
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.xhr.status === 400 && event.detail.target.id === "backtest") {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
})();
