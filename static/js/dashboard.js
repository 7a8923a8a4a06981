// Draws the aging bar chart from the JSON block the dashboard template renders.
(function () {
  "use strict";

  function draw() {
    var canvas = document.getElementById("aging-chart");
    var source = document.getElementById("aging-data");
    if (!canvas || !source || typeof Chart === "undefined" || Chart.getChart(canvas)) {
      return;
    }
    var data = JSON.parse(source.textContent);
    var styles = getComputedStyle(document.documentElement);
    var colors = data.keys.map(function (_key, i) {
      return styles.getPropertyValue("--aging-" + i).trim() || "#6c757d";
    });
    new Chart(canvas, {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: [{
          data: data.amounts.map(Number),
          backgroundColor: colors,
          borderRadius: 4,
        }],
      },
      options: {
        maintainAspectRatio: false,
        animation: false,
        plugins: {
          legend: { display: false },
          tooltip: {
            callbacks: {
              label: function (context) {
                var i = context.dataIndex;
                return data.formatted[i] + " (" + data.counts[i] + ")";
              },
            },
          },
        },
        scales: {
          y: { beginAtZero: true, ticks: { maxTicksLimit: 6 } },
        },
      },
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
  document.addEventListener("htmx:afterSettle", draw);
})();
