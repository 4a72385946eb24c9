// The alert page's chart: the key's orders per hour around the burst against the expected count.
(function () {
  "use strict";
  var el = document.getElementById("alert-chart");
  var data = JSON.parse(document.getElementById("alert-chart-data").textContent);
  if (!el || !window.echarts) { return; }
  var chart = window.echarts.init(el);
  chart.setOption({
    tooltip: { trigger: "axis" },
    legend: { data: ["实际", "常态"] },
    grid: { left: 40, right: 20, bottom: 60 },
    xAxis: { type: "category", data: data.labels, axisLabel: { rotate: 40 } },
    yAxis: { type: "value", name: "件/小时", minInterval: 1 },
    series: [
      { name: "实际", type: "bar", data: data.observed },
      { name: "常态", type: "line", step: "middle", symbol: "none", data: data.expected }
    ]
  });
  window.addEventListener("resize", function () { chart.resize(); });
}());
