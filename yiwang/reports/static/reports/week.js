// The weekly report page's daily volume chart; numbers from #report-daily-data (selectors.volumes).
(function () {
  "use strict";
  var node = document.getElementById("report-daily-data");
  var el = document.getElementById("report-daily");
  if (!node || !el || !window.echarts) { return; }
  var days = JSON.parse(node.textContent);
  var chart = window.echarts.init(el);
  chart.setOption({
    tooltip: { trigger: "axis" },
    legend: { top: 0, right: 16, data: ["上周同日", "本周"] },
    grid: { left: 40, right: 16, top: 36, bottom: 28 },
    xAxis: { type: "category", data: days.map(function (d) { return d.day.slice(5) + " 周" + d.weekday; }) },
    yAxis: { type: "value", minInterval: 1 },
    series: [
      { name: "上周同日", type: "bar", itemStyle: { color: "#b4c0d8" }, data: days.map(function (d) { return d.previous; }) },
      { name: "本周", type: "bar", itemStyle: { color: "#2f5597" }, label: { show: true, position: "top" },
        data: days.map(function (d) { return d.count; }) }
    ]
  });
  window.addEventListener("resize", function () { chart.resize(); });
})();
