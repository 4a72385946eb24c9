// Charts of the 随申查 district view; the numbers come from the page's #insp-data.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("insp-data").textContent);
  var COLOURS = { green: "#1a7f37", yellow: "#bf8700", red: "#cf222e", none: "#8c959f" };
  var LABELS = { green: "绿（合格）", yellow: "黄（基本合格）", red: "红（不合格）", none: "未检查" };
  function chart(id, option) {
    var el = document.getElementById(id);
    if (!el || !window.echarts) { return; }
    var c = window.echarts.init(el);
    c.setOption(option);
    window.addEventListener("resize", function () { c.resize(); });
  }
  // Points on plain longitude/latitude axes: no base map or invented street polygons.
  var series = Object.keys(COLOURS).map(function (key) {
    return {
      name: LABELS[key], type: "scatter", symbolSize: 9, itemStyle: { color: COLOURS[key] },
      data: data.points.filter(function (p) { return p.colour === key; }).map(function (p) {
        return { value: [p.lng, p.lat], name: p.code + " " + p.name + (p.overdue ? "（自查逾期）" : "") };
      })
    };
  });
  chart("chart-map", {
    tooltip: { formatter: function (p) { return p.name; } },
    legend: { top: 0 },
    xAxis: { type: "value", scale: true, name: "经度" },
    yAxis: { type: "value", scale: true, name: "纬度" },
    series: series
  });
  chart("chart-completion", {
    tooltip: {},
    grid: { left: 80 },
    xAxis: { type: "value", min: 0, max: 1, axisLabel: { formatter: function (v) { return Math.round(v * 100) + "%"; } } },
    yAxis: { type: "category", data: data.completion.map(function (s) { return s.street; }) },
    series: [{ type: "bar", data: data.completion.map(function (s) { return s.rate || 0; }) }]
  });
  chart("chart-sections", {
    tooltip: {},
    xAxis: { type: "category", data: data.by_section.map(function (s) { return s.section; }), axisLabel: { rotate: 30 } },
    yAxis: { type: "value", name: "项" },
    series: [{ type: "bar", data: data.by_section.map(function (s) { return s.n; }) }]
  });
})();
