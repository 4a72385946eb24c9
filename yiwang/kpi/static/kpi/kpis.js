// The KPI page's trend chart; the numbers come from #kpi-trend-data (selectors.trend).
(function () {
  "use strict";
  var node = document.getElementById("kpi-trend-data");
  var el = document.getElementById("kpi-trend");
  if (!node || !el || !window.echarts) { return; }
  var rows = JSON.parse(node.textContent);
  var names = { sign: "签收及时率", resolution: "实际解决率", satisfaction: "满意率", closure: "按时办结率",
                "return": "退单率", repeat: "重复来电率" };
  var series = Object.keys(names).map(function (code) {
    return { name: names[code], type: "line", connectNulls: false,
             data: rows.map(function (r) { return r[code].rate === null ? null : +(r[code].rate * 100).toFixed(2); }) };
  });
  var chart = window.echarts.init(el);
  chart.setOption({
    tooltip: { trigger: "axis", valueFormatter: function (v) { return v === null || v === undefined ? "—" : v + "%"; } },
    legend: { top: 0, data: Object.keys(names).map(function (c) { return names[c]; }) },
    grid: { left: 48, right: 16, top: 36, bottom: 32 },
    xAxis: { type: "category", data: rows.map(function (r) { return r.bucket; }) },
    yAxis: { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value}%" } },
    series: series
  });
  window.addEventListener("resize", function () { chart.resize(); });
})();
