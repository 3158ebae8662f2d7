/* 考核数据: a bar chart of each person's 目标完成率 and 按时完成率 (percent, left axis) and the
   ideas adopted (right axis), from <script id="rp-kpi-data">; the table below it carries the
   same numbers, so the page reads fine without this script. */
(function () {
  'use strict';
  var el = document.getElementById('rp-kpi-data');
  var canvas = document.getElementById('chart-people');
  if (!el || !canvas || typeof Chart === 'undefined') return;
  var data = JSON.parse(el.textContent);
  var COLORS = { completion: '#13a8a8', on_time: '#1456f0', ideas: '#fa8c16' };
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.animation = false;
  var datasets = data.series.map(function (s) {
    return { type: 'bar', label: s.label, data: s.data, backgroundColor: COLORS[s.kind],
             maxBarThickness: 28, yAxisID: 'y' };
  });
  datasets.push({ type: 'line', label: data.ideas.label, data: data.ideas.data,
                  borderColor: COLORS.ideas, backgroundColor: COLORS.ideas, yAxisID: 'ideas',
                  showLine: false, pointRadius: 6, pointStyle: 'rectRot' });
  window.rpKpiChart = new Chart(canvas, {
    data: { labels: data.labels, datasets: datasets },
    options: {
      responsive: true, maintainAspectRatio: false,
      scales: {
        y: { beginAtZero: true, suggestedMax: 100,
             ticks: { callback: function (v) { return v + '%'; } } },
        ideas: { position: 'right', beginAtZero: true, ticks: { precision: 0 },
                 grid: { drawOnChartArea: false } }
      }
    }
  });
  window.__kpiChartReady = true;
})();
