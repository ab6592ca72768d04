// Draw every figure the page carries (json_script elements named by data-figure), and keep each
// chart when its live region is refreshed (static/js/live.js): the drawn chart is moved into
// the new region and given the new figure with Plotly.react, under a uirevision named by the
// chart, so that a zoom, a pan and the series someone hid in the legend stay as they were while
// the new points come in.
(function () {
  "use strict";
  var config = {displayModeBar: false, responsive: true};
  var kept = new Map();

  function figureFor(target) {
    var source = document.getElementById(target.dataset.figure);
    if (!source) return null;
    var figure = JSON.parse(source.textContent);
    figure.layout = figure.layout || {};
    figure.layout.uirevision = target.dataset.figure;
    return figure;
  }

  function draw(root) {
    if (!window.Plotly) return;
    root.querySelectorAll("[data-figure]").forEach(function (target) {
      var figure = figureFor(target);
      if (!figure) return;
      var old = kept.get(target.dataset.figure);
      if (old) {
        kept.delete(target.dataset.figure);
        target.replaceWith(old);
        window.Plotly.react(old, figure.data, figure.layout, config);
      } else {
        window.Plotly.newPlot(target, figure.data, figure.layout, config).then(function (gd) {
          // a marker (runbook run, edit, silence, ...) opens its record
          gd.on("plotly_click", function (event) {
            var point = event.points && event.points[0];
            var link = point && point.customdata;
            if (typeof link === "string" && link.charAt(0) === "/" && link.charAt(1) !== "/") {
              window.location.assign(link);
            }
          });
        });
      }
    });
    kept.forEach(function (old) { window.Plotly.purge(old); });  // charts gone from the page
    kept.clear();
  }

  document.addEventListener("live:before", function (event) {
    event.target.querySelectorAll("[data-figure]").forEach(function (drawn) {
      if (drawn.classList.contains("js-plotly-plot")) kept.set(drawn.dataset.figure, drawn);
    });
  });
  document.addEventListener("live:after", function (event) { draw(event.target); });
  document.addEventListener("DOMContentLoaded", function () { draw(document); });
})();
