// Charts from data the page carries (data-* attributes, a JSON block): Chart.js, served by the service.
"use strict";
(function () {
  var INK = "#1f4e79", WARN = "#b8470b", GRID = "rgba(0,0,0,0.08)";
  function pct(v) { return Math.round(v * 100) + "%"; }
  function sparks() {
    document.querySelectorAll("canvas.spark").forEach(function (canvas) {
      var values = JSON.parse(canvas.getAttribute("data-series") || "[]");
      new Chart(canvas, {type: "line", data: {labels: values.map(function (_, i) { return i; }),
        datasets: [{data: values, borderColor: INK, borderWidth: 1.5, pointRadius: 0, fill: false, tension: 0.3}]},
        options: {responsive: false, animation: false, plugins: {legend: {display: false}, tooltip: {enabled: false}},
                  scales: {x: {display: false}, y: {display: false, beginAtZero: true}}}});
    });
  }
  function timelines() {
    document.querySelectorAll("canvas.timeline").forEach(function (canvas) {
      var points = JSON.parse(canvas.getAttribute("data-timeline") || "[]");
      new Chart(canvas, {type: "line", data: {labels: points.map(function (p) { return p.t.slice(11, 16); }),
        datasets: [{label: "tickets", data: points.map(function (p) { return p.n; }), borderColor: WARN,
                    stepped: true, pointRadius: 2}]},
        options: {animation: false, plugins: {legend: {display: false}},
                  scales: {y: {beginAtZero: true, ticks: {precision: 0}, grid: {color: GRID}}}}});
    });
  }
  function escalations() {
    var block = document.getElementById("escalation-data");
    if (!block) { return; }
    var q = JSON.parse(block.textContent);
    var time = document.getElementById("chart-time");
    if (time) {
      var sets = [{label: "ready for L3", data: q.series.map(function (s) { return s.ready; }), borderColor: INK}];
      if (q.bounced !== null) {
        sets.push({label: "bounced by L3", data: q.series.map(function (s) { return s.bounced; }), borderColor: WARN});
      }
      new Chart(time, {type: "line", data: {labels: q.series.map(function (s) { return s.period; }), datasets: sets},
        options: {animation: false, scales: {y: {min: 0, max: 1, ticks: {callback: pct}, grid: {color: GRID}}}}});
    }
    var missing = document.getElementById("chart-missing");
    if (missing) {
      new Chart(missing, {type: "bar", data: {labels: q.most_missing.map(function (m) { return m[0].replace(/_/g, " "); }),
        datasets: [{label: "missing", data: q.most_missing.map(function (m) { return m[1]; }), backgroundColor: WARN}]},
        options: {indexAxis: "y", animation: false, plugins: {legend: {display: false}},
                  scales: {x: {min: 0, max: 1, ticks: {callback: pct}, grid: {color: GRID}}}}});
    }
  }
  function heat() {
    document.querySelectorAll("td.heat").forEach(function (td) {
      var v = parseFloat(td.getAttribute("data-v"));
      td.style.backgroundColor = "rgba(184, 71, 11, " + (0.08 + 0.6 * v).toFixed(2) + ")";  // CSSOM: CSP-safe
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    if (window.Chart) { sparks(); timelines(); escalations(); }
    heat();
  });
})();
