// Real provincial statistics on the monitor page: the chosen indicator for Beijing,
// Tianjin and Hebei over time, their multiples of Hebei, and all provinces ranked.
// Kept apart from monitor.js because the section also shows when the 13-city monitor
// has no data.
(function () {
  "use strict";
  var node = document.getElementById("provinces-data");
  if (!node) { return; }
  var data = JSON.parse(node.textContent);
  var charts = window.UrbanPulseCharts;
  // Words in the page's language (i18n.js defines t()); as written if it has not.
  var t = window.t || function (text, params) {
    return !params ? text : text.replace(/\{(\w+)\}/g, function (m, k) { return k in params ? String(params[k]) : m; });
  };
  var font = { family: "system-ui, -apple-system, 'Segoe UI', 'Noto Sans CJK SC', sans-serif" };
  var colours = { "110000": "#c0392b", "120000": "#2471a3", "130000": "#1e8449" };
  var areas = {};
  data.areas.forEach(function (a) { areas[a.region_code] = a.name_zh + " " + a.name_en; });
  var indicators = {};
  data.indicators.forEach(function (i) { indicators[i.code] = i; });

  function $(id) { return document.getElementById(id); }
  function layout(height, extra) {
    var out = { height: height, margin: { l: 56, r: 12, t: 64, b: 36 }, font: font,
      paper_bgcolor: "white", plot_bgcolor: "#f7f7f7", hovermode: "x unified",
      legend: { orientation: "h", x: 0, y: 1.0, yanchor: "bottom" } };
    Object.keys(extra || {}).forEach(function (k) { out[k] = extra[k]; });
    return out;
  }
  function draw(id, traces, lay) {
    return charts.draw($(id), traces, lay);
  }

  function drawValues(code) {
    var series = data.series[code] || {};
    var traces = data.areas.map(function (a) {
      var s = series[a.region_code] || { years: [], values: [] };
      return { x: s.years, y: s.values, name: areas[a.region_code], mode: "lines+markers",
        line: { color: colours[a.region_code], width: 2 },
        hovertemplate: "%{y:,.2f}<extra>" + areas[a.region_code] + "</extra>" };
    });
    var unit = indicators[code].unit;
    return draw("chart-provinces-values", traces, layout(340, {
      title: { text: indicators[code].name, x: 0.01, xanchor: "left", y: 0.97, font: { size: 14 } },
      yaxis: { title: { text: unit }, rangemode: "tozero" }, xaxis: { dtick: 2 } }));
  }

  function drawRatios(code) {
    var rows = data.ratios.filter(function (r) { return r.indicator === code; });
    var x = rows.map(function (r) { return r.year; });
    var traces = [["beijing", "110000"], ["tianjin", "120000"]].map(function (pair) {
      return { x: x, y: rows.map(function (r) { return r[pair[0]] / r.hebei; }), name: t("{area} ÷ Hebei", { area: areas[pair[1]] }),
        mode: "lines+markers", line: { color: colours[pair[1]], width: 2 },
        hovertemplate: t("%{y:.2f} × Hebei") + "<extra>" + areas[pair[1]] + "</extra>" };
    });
    traces.push({ x: x, y: x.map(function () { return 1; }), name: t("Hebei = 1"), mode: "lines",
      line: { color: colours["130000"], dash: "dash", width: 1.5 }, hoverinfo: "skip" });
    return draw("chart-provinces-ratios", traces, layout(340, {
      title: { text: t("Beijing and Tianjin as multiples of Hebei"), x: 0.01, xanchor: "left", y: 0.97,
        font: { size: 14 } },
      yaxis: { title: { text: t("Multiple of Hebei") }, rangemode: "tozero" }, xaxis: { dtick: 2 } }));
  }

  function drawRanking() {
    if (!$("chart-provinces-ranking")) { return; }
    var items = data.ranking.items;
    var labels = items.map(function (r) { return r.name_zh + " " + r.name_en; });
    draw("chart-provinces-ranking", [{
      type: "bar", orientation: "h", x: items.map(function (r) { return r.value; }), y: labels,
      marker: { color: items.map(function (r) { return colours[r.region_code] || "#9aa5b1"; }) },
      text: items.map(function (r) { return r.text; }), textposition: "outside", cliponaxis: false,
      customdata: items.map(function (r) { return [r.source, r.vintage, r.licence].filter(Boolean).join(" · "); }),
      hovertemplate: "%{y}: %{x:.2f} " + items[0].unit + "<br>%{customdata}<extra></extra>",
    }], layout(Math.max(360, 18 * items.length + 60), { showlegend: false, hovermode: "closest",
      margin: { l: 140, r: 40, t: 12, b: 40 }, bargap: 0.25,
      xaxis: { title: { text: data.ranking.name + " (" + items[0].unit + "), " + data.ranking.year }, rangemode: "tozero" },
      yaxis: { autorange: "reversed", automargin: true, tickfont: { size: 11 } } }));
  }

  function update() {
    var code = $("provinces-indicator").value;
    drawValues(code);
    drawRatios(code);
  }
  $("provinces-indicator").addEventListener("change", update);
  update();
  drawRanking();
})();
