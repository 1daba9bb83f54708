/*
 * The report page's script, inlined into report.html by harness/report/inline.ts without this
 * comment. Plain ES5-style browser JavaScript: it runs as written, never transpiled, next to the
 * inlined Chart.js (the global Chart). Reads the chart specs (harness/report/charts.ts ChartSpec)
 * from script#fkb-charts, draws each chart without animation, reports failures in the figure and
 * on the console, and sets window.__fkbChartsRendered to the number of charts drawn.
 */
(function () {
  'use strict';
  var specs = JSON.parse(document.getElementById('fkb-charts').textContent);
  var drawn = 0;
  function num(v, unit) {
    var a = Math.abs(v), s;
    if (a === 0) s = '0';
    else if (a >= 1e4) s = v.toExponential(1);
    else if (a >= 100) s = v.toFixed(0);
    else if (a >= 10) s = trim(v.toFixed(1));
    else if (a >= 1) s = trim(v.toFixed(2));
    else if (a >= 0.01) s = trim(v.toPrecision(2));
    else s = v.toExponential(0);
    return s + (unit || '');
  }
  function trim(t) { return t.indexOf('.') < 0 ? t : t.replace(/\.?0+$/, ''); }
  function axis(a, isValueAxis, isLog) {
    var o = {
      type: isLog ? 'logarithmic' : (isValueAxis ? 'linear' : 'category'),
      title: { display: !!a.title, text: a.title },
      grid: { color: '#e3e7eb' }
    };
    if (isValueAxis) {
      o.ticks = { maxRotation: 0, callback: function (v) { return isLog && !isNiceLog(v) ? '' : num(Number(v), a.unit); } };
      if (typeof a.min === 'number') o.min = a.min;
      if (typeof a.max === 'number') o.max = a.max;
      if (typeof a.suggestedMax === 'number') o.suggestedMax = a.suggestedMax;
    } else {
      o.ticks = { autoSkip: false, maxRotation: 60, minRotation: 0 };
      o.grid = { display: false };
    }
    return o;
  }
  function isNiceLog(v) {
    var m = v / Math.pow(10, Math.floor(Math.log10(v) + 1e-9));
    return Math.abs(m - 1) < 1e-6 || Math.abs(m - 2) < 1e-6 || Math.abs(m - 5) < 1e-6;
  }
  function config(s) {
    var bar = s.type === 'bar';
    var datasets = s.datasets.map(function (d) {
      var o = { label: d.label, data: d.data, backgroundColor: d.color, borderColor: d.color };
      if (bar) {
        o.skipNull = true;
        if (s.minBarLength) o.minBarLength = s.minBarLength;
        o.maxBarThickness = 56;
        o.barPercentage = 0.9;
        o.categoryPercentage = 0.85;
      } else if (d.line) {
        o.showLine = true; o.pointRadius = 0; o.pointHitRadius = 6; o.borderWidth = 2; o.fill = false;
        if (d.dashed) o.borderDash = [6, 4];
      } else {
        o.pointRadius = 5; o.pointHoverRadius = 7; o.backgroundColor = d.color + 'cc';
      }
      return o;
    });
    var valueAxis = s.horizontal ? 'x' : 'y';
    var scales = {};
    scales.x = axis(s.x, !bar || valueAxis === 'x', !!s.x.log);
    scales.y = axis(s.y, !bar || valueAxis === 'y', !!s.y.log);
    return {
      type: s.type,
      data: { labels: s.labels, datasets: datasets },
      options: {
        indexAxis: s.horizontal ? 'y' : 'x',
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        devicePixelRatio: Math.max(2, window.devicePixelRatio || 1),
        interaction: { mode: 'nearest', intersect: true },
        plugins: {
          legend: { position: 'top', labels: { boxWidth: 14 } },
          tooltip: {
            callbacks: {
              title: function (items) {
                if (!items.length) return '';
                var it = items[0];
                if (bar) return (s.fullLabels && s.fullLabels[it.dataIndex]) || it.label;
                return it.dataset.label;
              },
              label: function (it) {
                var d = s.datasets[it.datasetIndex];
                if (!bar) return d.data[it.dataIndex].label;
                var unit = (s.horizontal ? s.x.unit : s.y.unit) || '';
                return d.label + ': ' + num(it.parsed[s.horizontal ? 'x' : 'y'], unit);
              },
              afterLabel: function (it) {
                var d = s.datasets[it.datasetIndex];
                return bar && d.notes ? d.notes[it.dataIndex] || '' : '';
              }
            }
          }
        },
        scales: scales
      }
    };
  }
  Chart.defaults.font.family = 'system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif';
  Chart.defaults.color = '#3a424c';
  specs.forEach(function (s) {
    var canvas = document.querySelector('canvas[data-chart="' + s.id + '"]');
    if (!canvas) return;
    try {
      new Chart(canvas, config(s));
      drawn++;
    } catch (e) {
      var p = document.createElement('p');
      p.className = 'chart-error';
      p.textContent = 'This chart could not be drawn: ' + (e && e.message ? e.message : String(e));
      canvas.parentNode.parentNode.appendChild(p);
      console.error('chart ' + s.id + ': ' + (e && e.stack ? e.stack : e));
    }
  });
  window.addEventListener('beforeprint', function () {
    Object.keys(Chart.instances).forEach(function (k) { Chart.instances[k].resize(); });
  });
  window.__fkbChartsRendered = drawn;
})();
