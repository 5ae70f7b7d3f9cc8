/* Draws each chart of the reports page from the JSON block the page carries (the same
   numbers as the table beside it). Chart.js is served by the gateway itself. */
(function () {
  "use strict";
  var source = document.getElementById("report-data");
  if (!source || typeof window.Chart === "undefined") {
    return;
  }
  var colors = ["#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777"];
  var charts = JSON.parse(source.textContent || "[]");
  charts.forEach(function (chart) {
    var canvas = document.getElementById("canvas-" + chart.key);
    if (!canvas) {
      return;
    }
    var datasets = chart.datasets.map(function (set, index) {
      var color = colors[index % colors.length];
      return {
        label: set.label,
        data: set.data,
        borderColor: color,
        backgroundColor: chart.kind === "bar" ? color : color + "33",
        borderWidth: 2,
        pointRadius: chart.labels.length > 60 ? 0 : 2,
        tension: 0
      };
    });
    new window.Chart(canvas, {
      type: chart.kind === "bar" ? "bar" : "line",
      data: { labels: chart.labels, datasets: datasets },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        interaction: { mode: "index", intersect: false },
        plugins: { legend: { position: "bottom", labels: { boxWidth: 12 } } },
        scales: { y: { beginAtZero: true } }
      }
    });
    canvas.setAttribute("data-drawn", "true");
  });
}());
