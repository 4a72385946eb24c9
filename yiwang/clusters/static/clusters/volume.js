// Weekly volume before and after a governance task opened; numbers from the page's #cl-volume.
(function () {
  "use strict";
  var el = document.getElementById("chart-volume");
  if (!el || !window.echarts) { return; }
  var v = JSON.parse(document.getElementById("cl-volume").textContent);
  var c = window.echarts.init(el);
  c.setOption({
    tooltip: { trigger: "axis" },
    legend: { data: ["本类案工单", "同类工单"] },
    grid: { left: 40, right: 40, bottom: 70 },
    xAxis: { type: "category", data: v.labels, axisLabel: { rotate: 40 } },
    yAxis: [{ type: "value", name: "件/周", minInterval: 1 }],
    series: [
      { name: "本类案工单", type: "bar", data: v.series.members,
        markLine: { symbol: "none", data: [{ xAxis: v.weeks, label: { formatter: "任务开启" } }] } },
      { name: "同类工单", type: "line", data: v.series.kind }
    ]
  });
  window.addEventListener("resize", function () { c.resize(); });
})();
