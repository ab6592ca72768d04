// Draw every figure the page carries (json_script elements named by data-figure).
document.addEventListener("DOMContentLoaded", () => {
  for (const target of document.querySelectorAll("[data-figure]")) {
    const source = document.getElementById(target.dataset.figure);
    if (!source || !window.Plotly) continue;
    const figure = JSON.parse(source.textContent);
    window.Plotly.newPlot(target, figure.data, figure.layout,
                          {displayModeBar: false, responsive: true});
  }
});
