// Charts of the intelligent-dispatch analytics page; the numbers come from the page's #sd-data.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("sd-data").textContent);
  function chart(id, option) {
    var el = document.getElementById(id);
    if (!el || !window.echarts) { return; }
    var c = window.echarts.init(el);
    c.setOption(option);
    window.addEventListener("resize", function () { c.resize(); });
  }
  var weeks = data.weekly.map(function (w) { return w.week; });
  chart("chart-weekly", {
    tooltip: { trigger: "axis" },
    legend: { data: ["确认", "改派", "退单", "准确率"] },
    xAxis: { type: "category", data: weeks },
    yAxis: [{ type: "value", name: "件" }, { type: "value", name: "准确率", min: 0, max: 1 }],
    series: [
      { name: "确认", type: "bar", stack: "n", data: data.weekly.map(function (w) { return w.confirmed; }) },
      { name: "改派", type: "bar", stack: "n", data: data.weekly.map(function (w) { return w.corrected; }) },
      { name: "退单", type: "bar", stack: "n", data: data.weekly.map(function (w) { return w.returned; }) },
      { name: "准确率", type: "line", yAxisIndex: 1, data: data.weekly.map(function (w) { return w.accuracy; }) }
    ]
  });
  var labels = data.confusion.labels;
  var max = data.confusion.cells.reduce(function (m, c) { return Math.max(m, c[2]); }, 1);
  chart("chart-confusion", {
    tooltip: { formatter: function (p) { return "建议 " + labels[p.value[0]] + " → 最终 " + labels[p.value[1]] + "：" + p.value[2] + " 件"; } },
    grid: { left: 110, bottom: 90 },
    xAxis: { type: "category", data: labels, name: "建议", axisLabel: { rotate: 40 } },
    yAxis: { type: "category", data: labels, name: "最终" },
    visualMap: { min: 0, max: max, calculable: true, orient: "horizontal", left: "center", bottom: 0 },
    series: [{ type: "heatmap", data: data.confusion.cells, label: { show: true } }]
  });
  chart("chart-returns", {
    tooltip: {},
    xAxis: { type: "category", data: ["自动派单", "人工派单"] },
    yAxis: { type: "value", min: 0, axisLabel: { formatter: function (v) { return Math.round(v * 100) + "%"; } } },
    series: [{ type: "bar", data: [data.returns.auto.rate || 0, data.returns.manual.rate || 0] }]
  });
})();
