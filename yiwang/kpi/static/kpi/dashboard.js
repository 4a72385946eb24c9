// The dashboard: each panel loads its own JSON endpoint and refreshes every 60 s.
(function () {
  "use strict";
  var root = document.getElementById("dashboard");
  if (!root || !window.echarts) { return; }
  var urlFor = function (name) { return root.dataset.panelUrl.replace("PANEL", name); };
  var charts = {};
  var text = { color: "#dfe8f3" };
  function chart(name) {
    if (!charts[name]) { charts[name] = window.echarts.init(document.getElementById("panel-" + name)); }
    return charts[name];
  }
  function pct(v) { return v === null || v === undefined ? null : +(v * 100).toFixed(2); }
  function bars(names, values, color, horizontal) {
    var cat = { type: "category", data: names, axisLabel: text, inverse: !!horizontal };
    var val = { type: "value", minInterval: 1, axisLabel: text, splitLine: { lineStyle: { color: "#1f3f6e" } } };
    return { tooltip: { trigger: "axis" }, grid: { left: horizontal ? 110 : 40, right: 16, top: 16, bottom: 40 },
             xAxis: horizontal ? val : cat, yAxis: horizontal ? cat : val,
             series: [{ type: "bar", data: values, itemStyle: { color: color } }] };
  }
  var render = {
    volumes: function (d) {
      document.getElementById("vol-today").textContent = d.today;
      document.getElementById("vol-week").textContent = d.week;
      var shown = d.channels.filter(function (c) { return c.week > 0; });
      chart("volumes").setOption({
        tooltip: { trigger: "axis" }, legend: { top: 0, data: ["今日", "本周"], textStyle: text },
        grid: { left: 40, right: 12, top: 30, bottom: 40 },
        xAxis: { type: "category", data: shown.map(function (c) { return c.label; }), axisLabel: text },
        yAxis: { type: "value", minInterval: 1, axisLabel: text, splitLine: { lineStyle: { color: "#1f3f6e" } } },
        series: [{ name: "今日", type: "bar", data: shown.map(function (c) { return c.today; }) },
                 { name: "本周", type: "bar", data: shown.map(function (c) { return c.week; }) }]
      }, true);
    },
    rates: function (d) {
      chart("rates").setOption({
        tooltip: { trigger: "axis", valueFormatter: function (v) { return v === null || v === undefined ? "—" : v + "%"; } },
        legend: { top: 0, data: d.series.map(function (s) { return s.name; }), textStyle: text },
        grid: { left: 48, right: 16, top: 30, bottom: 40 },
        xAxis: { type: "category", data: d.weeks, axisLabel: text },
        yAxis: { type: "value", min: function (v) { return Math.max(0, Math.floor(v.min / 10) * 10); }, max: 100,
                 axisLabel: { color: text.color, formatter: "{value}%" }, splitLine: { lineStyle: { color: "#1f3f6e" } } },
        series: d.series.map(function (s) { return { name: s.name, type: "line", data: s.rates.map(pct) }; })
      }, true);
    },
    categories: function (d) {
      chart("categories").setOption(bars(d.items.map(function (i) { return i.name; }),
        d.items.map(function (i) { return { value: i.count, name: i.path }; }), "#4fa3ff", true), true);
    },
    streets: function (d) {
      chart("streets").setOption(bars(d.items.map(function (i) { return i.name; }),
        d.items.map(function (i) { return i.count; }), "#36cfc9", true), true);
    },
    overdue: function (d) {
      var names = d.items.map(function (i) { return i.unit; });
      chart("overdue").setOption({
        tooltip: { trigger: "axis" }, legend: { top: 0, data: ["红灯超期", "黄灯预警"], textStyle: text },
        grid: { left: 130, right: 16, top: 30, bottom: 30 },
        xAxis: { type: "value", minInterval: 1, axisLabel: text, splitLine: { lineStyle: { color: "#1f3f6e" } } },
        yAxis: { type: "category", data: names, inverse: true, axisLabel: text },
        // An empty chart reads as a failed one: say that nothing is late.
        graphic: names.length ? [] : [{ type: "text", left: "center", top: "middle",
                                        style: { text: "暂无超期或预警工单", fill: "#8fa8c8", fontSize: 14 } }],
        series: [{ name: "红灯超期", type: "bar", stack: "s", data: d.items.map(function (i) { return i.red; }), itemStyle: { color: "#ff4d4f" } },
                 { name: "黄灯预警", type: "bar", stack: "s", data: d.items.map(function (i) { return i.yellow; }), itemStyle: { color: "#faad14" } }]
      }, true);
    },
    map: function (d) {
      window.echarts.registerMap("hongkou", d.outline);
      var max = Math.max.apply(null, d.streets.map(function (s) { return s.recent; }).concat([1]));
      var points = d.streets.filter(function (s) { return s.lon !== null; }).map(function (s) {
        return { name: s.name, value: [s.lon, s.lat, s.recent], open: s.open, red: s.red };
      });
      // A street with a neighbour just east of it at about its latitude (四川北路 and 嘉兴路)
      // puts its name on the left, where the two names would otherwise run into each other.
      points.forEach(function (p) {
        var crowded = points.some(function (q) {
          var east = q.value[0] - p.value[0];
          return q !== p && Math.abs(q.value[1] - p.value[1]) < 0.004 && east > 0 && east < 0.02;
        });
        if (crowded) { p.label = { position: "left" }; }
      });
      document.getElementById("map-note").textContent = d.note;
      chart("map").setOption({
        tooltip: { formatter: function (p) { var v = p.data; return v && v.value ?
          v.name + "<br>近 " + d.days + " 天受理 " + v.value[2] + "<br>在办 " + v.open + "，红灯 " + v.red : p.name; } },
        geo: { map: "hongkou", roam: true, itemStyle: { areaColor: "#163a66", borderColor: "#4fa3ff" }, label: { show: false },
               emphasis: { disabled: true } },
        series: [{ type: "scatter", coordinateSystem: "geo", data: points,
                   symbolSize: function (v) { return 12 + 36 * Math.sqrt(v[2] / max); },
                   itemStyle: { color: function (p) { return p.data.red > 0 ? "#ff4d4f" : "#36cfc9"; }, opacity: 0.85 },
                   label: { show: true, position: "right", color: "#fff", formatter: function (p) {
                     return p.name + " " + p.value[2] + (p.data.red ? "（红灯 " + p.data.red + "）" : ""); } } }]
      }, true);
    }
  };
  function load(name) {
    var started = performance.now();
    var stamp = root.querySelector('[data-time="' + name + '"]');
    return fetch(urlFor(name), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); })
      .then(function (d) {
        render[name](d);
        if (stamp) { stamp.textContent = Math.round(performance.now() - started) + " ms"; stamp.className = ""; }
      })
      .catch(function (e) { if (stamp) { stamp.textContent = "加载失败：" + e.message; stamp.className = "dash-error"; } });
  }
  function refresh() {
    Promise.all(Object.keys(render).map(load)).then(function () {
      document.getElementById("dash-updated").textContent = new Date().toLocaleTimeString("zh-CN");
    });
  }
  refresh();
  setInterval(refresh, (+root.dataset.refresh || 60) * 1000);
  window.addEventListener("resize", function () { Object.keys(charts).forEach(function (k) { charts[k].resize(); }); });
})();
