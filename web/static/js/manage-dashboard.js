/* 数据看板: draws the charts from <script id="pf-dashboard-data">; the tables beside them carry
   the same numbers, so the page reads fine without this script. */
(function () {
  'use strict';
  var el = document.getElementById('pf-dashboard-data');
  if (!el || typeof Chart === 'undefined') return;
  var data = JSON.parse(el.textContent);
  var COLORS = {
    running: '#1456f0', waiting: '#c77700', suspended: '#722ed1', error: '#c02a2a',
    person: '#c02a2a', group: '#fa8c16', bar: '#1456f0', line: '#1a7f37', kpi: '#13a8a8'
  };
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.animation = false;
  window.pfCharts = {};

  function draw(id, config) {
    var canvas = document.getElementById(id);
    if (!canvas) return;
    config.options = Object.assign({ responsive: true, maintainAspectRatio: false }, config.options || {});
    config.data.datasets.forEach(function (d) { if (config.type === 'bar') d.maxBarThickness = 36; });
    window.pfCharts[id] = new Chart(canvas, config);
  }
  var intAxis = { beginAtZero: true, ticks: { precision: 0 } };

  draw('chart-process', {
    type: 'bar',
    data: {
      labels: data.process.labels,
      datasets: data.process.series.map(function (s) {
        return { label: s.label, data: s.data, backgroundColor: COLORS[s.status] };
      })
    },
    options: { indexAxis: 'y', scales: { x: Object.assign({ stacked: true }, intAxis), y: { stacked: true } } }
  });
  // "流程 · 环节" on two lines (one long line is cut off on a narrow screen), every one shown:
  // the chart grows with the number of steps.
  var stageBox = document.getElementById('chart-stage');
  if (stageBox) stageBox.parentNode.style.height = Math.max(260, 36 * data.stage.labels.length + 40) + 'px';
  draw('chart-stage', {
    type: 'bar',
    data: { labels: data.stage.labels.map(function (l) { return l.split(' · '); }), datasets: [{ label: data.stage.label, data: data.stage.data, backgroundColor: COLORS.bar }] },
    options: {
      indexAxis: 'y', scales: { x: intAxis, y: { ticks: { autoSkip: false } } },
      plugins: { legend: { display: false } }
    }
  });
  draw('chart-overdue', {
    type: 'bar',
    data: {
      labels: data.overdue.labels,
      datasets: [{
        label: data.overdue.label, data: data.overdue.data,
        backgroundColor: data.overdue.kinds.map(function (k) { return COLORS[k]; })
      }]
    },
    options: { indexAxis: 'y', scales: { x: intAxis }, plugins: { legend: { display: false } } }
  });
  draw('chart-timers', {
    type: 'bar',
    data: { labels: data.timers.labels, datasets: [{ label: data.timers.label, data: data.timers.data, backgroundColor: COLORS.waiting }] },
    options: { scales: { y: intAxis }, plugins: { legend: { display: false } } }
  });
  draw('chart-throughput', {
    type: 'bar',
    data: {
      labels: data.throughput.labels,
      datasets: [{ label: data.throughput.label, data: data.throughput.data, backgroundColor: COLORS.line }]
    },
    options: { scales: { y: intAxis }, plugins: { legend: { display: false } } }
  });
  draw('chart-kpi', {
    type: 'bar',
    data: { labels: data.kpi.labels, datasets: [{ label: data.kpi.label, data: data.kpi.data, backgroundColor: COLORS.kpi }] },
    options: {
      scales: { y: { beginAtZero: true, suggestedMax: 100, ticks: { callback: function (v) { return v + '%'; } } } },
      plugins: { legend: { display: false } }
    }
  });
  window.__dashboardReady = true;
})();
