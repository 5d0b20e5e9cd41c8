// The regional monitor page: charts from the embedded monitor data, what-if weights
// and traces from the monitor API. Everything is served by this site (no CDN).
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("monitor-data").textContent);
  var base = document.querySelector('link[rel="icon"]').getAttribute("href").replace(/\/static\/favicon\.svg$/, "");
  var charts = window.UrbanPulseCharts;
  // Words in the page's language (base.html defines t()); as written if it has not.
  var t = window.t || function (text, params) {
    return !params ? text : text.replace(/\{(\w+)\}/g, function (m, k) { return k in params ? String(params[k]) : m; });
  };
  // Words that arrive as data from /api/monitor/trace, listed so the catalogue has them.
  var WORDS = [t("arithmetic"), t("geometric"), t("raw"), t("denominated"), t("imputed"),
    t("treated"), t("normalised"), t("minmax"), t("base_year"), t("none"), t("winsorise"), t("log"),
    t("gdp"), t("population"),
    t("weighted mean of the children: sum(weight x value) / sum(weight) over the children with a value")];
  void WORDS;
  var font = { family: "system-ui, -apple-system, 'Segoe UI', 'Noto Sans CJK SC', sans-serif" };
  var colours = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#111111"];
  var cities = {};
  data.cities.forEach(function (c) { cities[c.region_code] = c; });
  var codes = data.concepts.map(function (c) { return c.code; }).concat([data.index.code]);
  var names = {};
  data.concepts.forEach(function (c) { names[c.code] = c.name; });
  names[data.index.code] = t("Total");

  function $(id) { return document.getElementById(id); }
  function cityLabel(code) { var c = cities[code]; return c ? (window.UP_LANG === "zh-CN" ? c.name_zh : c.name_zh + " " + c.name_en) : code; }
  function layout(height, extra) {
    var out = { height: height, margin: { l: 48, r: 12, t: 16, b: 40 }, font: font,
      paper_bgcolor: "white", plot_bgcolor: "#f7f7f7", hovermode: "closest",
      legend: { orientation: "h", x: 0, y: 1.02, yanchor: "bottom" } };
    Object.keys(extra || {}).forEach(function (k) { out[k] = extra[k]; });
    return out;
  }
  function draw(id, traces, lay, options) {
    return charts.draw($(id), traces, lay, options);
  }
  function fill(select, options, chosen) {
    select.innerHTML = "";
    options.forEach(function (o) {
      var opt = document.createElement("option");
      opt.value = o[0]; opt.textContent = o[1];
      if (chosen.indexOf(o[0]) >= 0) { opt.selected = true; }
      select.appendChild(opt);
    });
  }
  // A failed request says why: the API's own message, the status, or no connection.
  function getJSON(path, signal) {
    return fetch(base + path, { headers: { Accept: "application/json" }, signal: signal }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (body) {
        if (!r.ok) {
          throw new Error(body.error ? body.error.message :
            t("the server answered {status}", { status: r.status + " " + r.statusText }));
        }
        return body;
      });
    }, function (err) {
      if (err.name === "AbortError") { throw err; }
      throw new Error(t("the server could not be reached"));
    });
  }
  // Old results must not pass for the answer to a request that failed: clear them.
  function clearChart(id) {
    var target = $(id);
    if (window.Plotly && target._fullLayout) { window.Plotly.purge(target); }
    target.removeAttribute("data-rendered");
    target.hidden = true;
  }
  function failure(node, message) {
    node.textContent = message;
    node.classList.add("error");
    node.setAttribute("role", "alert");
  }
  function success(node) {
    node.classList.remove("error");
    node.removeAttribute("role");
  }
  function fmt(v, digits) { return v === null || v === undefined ? "–" : Number(v).toFixed(digits); }
  function esc(text) { var d = document.createElement("div"); d.textContent = String(text); return d.innerHTML; }

  // Sub-indices and total over time, for one city.
  var cityOptions = data.cities.map(function (c) { return [c.region_code, cityLabel(c.region_code)]; });
  fill($("series-city"), cityOptions, [data.cities[0].region_code]);
  function drawSeries() {
    var kind = $("series-kind").value, city = $("series-city").value;
    var traces = codes.map(function (code, i) {
      var total = code === data.index.code;
      return { x: data.years, y: data.series[kind][code][city], name: names[code], mode: "lines+markers",
        line: { color: colours[i], width: total ? 3.5 : 1.8, dash: total ? "solid" : "dot" },
        hovertemplate: "%{x}: %{y:.1f}<extra>" + names[code] + "</extra>" };
    });
    var title = kind === "score" ? t("Score (0–100)") : t("Index ({year} = 100)", { year: data.base_year });
    draw("chart-series", traces, layout(420, { yaxis: { title: { text: title } },
      xaxis: { dtick: 1 }, margin: { l: 52, r: 12, t: 60, b: 40 } }));
  }
  $("series-city").addEventListener("change", drawSeries);
  $("series-kind").addEventListener("change", drawSeries);

  // Map: lon/lat scatter with true proportions, like the home page; its height follows
  // its width, so all 13 cities stay in view at any width and after any rotation.
  var mapMargin = { l: 48, r: 12, t: 16, b: 40 };
  var mapClicks = false;
  // On a phone the 13 two-language names overlap: the map writes one (the page's
  // language), smaller; hover still gives both. Redrawn when the width crosses 600 px.
  var narrow = window.matchMedia("(max-width: 600px)");
  function mapLabel(code) {
    var c = cities[code];
    if (!c || !narrow.matches) { return cityLabel(code); }
    return (window.UP_LANG || "").indexOf("zh") === 0 ? c.name_zh : c.name_en;
  }
  function drawMap() {
    var code = $("map-code").value, year = Number($("map-year").value);
    var k = data.years.indexOf(year);
    var list = data.cities.filter(function (c) { return c.lon !== null; });
    var values = list.map(function (c) { return data.series.score[code][c.region_code][k]; });
    var midLat = list.reduce(function (s, c) { return s + c.lat; }, 0) / list.length;
    // Room around the outer cities for their names (autorange pads for markers only).
    var lons = list.map(function (c) { return c.lon; }), lats = list.map(function (c) { return c.lat; });
    // The cities' outlines, one trace of rings apart by gaps, under the markers.
    var edge = { x: [], y: [] };
    Object.keys(data.outlines || {}).forEach(function (code) {
      data.outlines[code].forEach(function (ring) {
        ring.forEach(function (p) { edge.x.push(p[0]); edge.y.push(p[1]); });
        edge.x.push(null); edge.y.push(null);
      });
    });
    var drawn = edge.x.filter(function (v) { return v !== null; });
    var drawnLat = edge.y.filter(function (v) { return v !== null; });
    var lonRange = [Math.min.apply(null, lons.concat(drawn)) - 0.3, Math.max.apply(null, lons.concat(drawn)) + 0.6];
    var latRange = [Math.min.apply(null, lats.concat(drawnLat)) - 0.2, Math.max.apply(null, lats.concat(drawnLat)) + 0.4];
    var outlines = { x: edge.x, y: edge.y, mode: "lines", hoverinfo: "skip", showlegend: false,
      line: { color: "#8a8f98", width: 1 }, fill: "toself", fillcolor: "rgba(138,143,152,0.08)" };
    draw("chart-map", [outlines, {
      x: list.map(function (c) { return c.lon; }), y: list.map(function (c) { return c.lat; }),
      mode: "markers+text", text: list.map(function (c) { return mapLabel(c.region_code); }),
      textposition: "top center", textfont: { size: narrow.matches ? 10 : 12 },
      customdata: list.map(function (c) { return [c.region_code, cityLabel(c.region_code)]; }),
      marker: { size: 20, color: values, colorscale: "Viridis", cmin: 0, cmax: 100,
        line: { color: "#333", width: 1 }, colorbar: { title: { text: t("Score") }, thickness: 12 } },
      hovertemplate: "%{customdata[1]}<br>" + names[code] + " " + year + ": %{marker.color:.1f}<extra></extra>",
    }], layout(560, { showlegend: false, margin: mapMargin,
      xaxis: { title: { text: t("Longitude (°E)") }, zeroline: false, constrain: "domain", range: lonRange },
      yaxis: { title: { text: t("Latitude (°N)") }, zeroline: false, constrain: "domain", range: latRange,
        scaleanchor: "x", scaleratio: 1 / Math.cos(midLat * Math.PI / 180) } }),
      { heightFor: charts.mapHeight(mapMargin, 320, 640) }).then(function () {
      if (mapClicks) { return; }
      mapClicks = true;
      $("chart-map").on("plotly_click", function (event) {
        var point = event.points[0];
        if (point && point.customdata) {  // a city, not its outline
          showTrace({ region: point.customdata[0], year: Number($("map-year").value), code: $("map-code").value, kind: "score" });
        }
      });
    });
  }
  $("map-code").addEventListener("change", drawMap);
  $("map-year").addEventListener("change", drawMap);
  narrow.addEventListener("change", drawMap);

  // Coupling coordination between chosen cities, or between one city's concepts.
  fill($("coupling-cities"), cityOptions, ["110000", "120000", "130600"]);
  fill($("coupling-city"), cityOptions, ["130600"]);
  function drawCoupling() {
    var mode = $("coupling-mode").value, path;
    $("coupling-cities-label").hidden = mode !== "cities";
    $("coupling-city-label").hidden = mode === "cities";
    if (mode === "cities") {
      var chosen = Array.prototype.filter.call($("coupling-cities").options, function (o) { return o.selected; })
        .map(function (o) { return o.value; });
      if (chosen.length < 2) {
        clearChart("chart-coupling");
        $("coupling-band").textContent = t("Choose at least two cities.");
        return;
      }
      path = "/api/monitor/coupling?cities=" + chosen.join(",");
    } else {
      path = "/api/monitor/coupling?city=" + $("coupling-city").value;
    }
    getJSON(path).then(function (body) {
      var rows = body.items, last = rows[rows.length - 1];
      success($("coupling-band"));
      $("chart-coupling").hidden = false;
      $("coupling-band").innerHTML = last.year + ": D = <strong>" + fmt(last.coordination, 3) +
        "</strong>, <strong>" + esc(t(last.band)) + "</strong> (C = " + fmt(last.coupling, 3) + ", T = " + fmt(last.development, 3) + ")";
      var x = rows.map(function (r) { return r.year; });
      draw("chart-coupling", [
        { x: x, y: rows.map(function (r) { return r.coordination; }), name: t("D coordination"), mode: "lines+markers",
          text: rows.map(function (r) { return t(r.band); }), line: { color: "#0b5394", width: 3 },
          hovertemplate: "%{x}: D %{y:.3f}, %{text}<extra></extra>" },
        { x: x, y: rows.map(function (r) { return r.coupling; }), name: t("C coupling"), mode: "lines", line: { color: "#999", dash: "dot" } },
        { x: x, y: rows.map(function (r) { return r.development; }), name: t("T development"), mode: "lines", line: { color: "#2ca02c", dash: "dash" } },
      ], layout(380, { yaxis: { range: [0, 1.02], dtick: 0.1, title: { text: "0–1" } }, xaxis: { dtick: 1 },
        margin: { l: 48, r: 12, t: 40, b: 40 } }));
    }).catch(function (err) {
      clearChart("chart-coupling");
      failure($("coupling-band"), t("The coupling coordination could not be loaded: {reason}.", { reason: err.message }));
    });
  }
  ["coupling-mode", "coupling-cities", "coupling-city"].forEach(function (id) {
    $(id).addEventListener("change", drawCoupling);
  });

  // Disparity over time.
  var measures = Object.keys(data.disparity_labels);
  fill($("disparity-measure"), measures.map(function (m) { return [m, data.disparity_labels[m]]; }), ["index"]);
  function drawDisparity() {
    var m = $("disparity-measure").value;
    var rows = data.disparity.filter(function (r) { return r.measure === m; });
    var x = rows.map(function (r) { return r.time; });
    var series = [["theil_t", t("Theil T"), "#d62728", "solid"], ["theil_t_between", t("Theil T between BJ/TJ/HE"), "#d62728", "dot"],
      ["theil_l", t("Theil L"), "#9467bd", "solid"], ["theil_l_between", t("Theil L between BJ/TJ/HE"), "#9467bd", "dot"],
      ["cv_weighted", t("CV (weighted)"), "#1f77b4", "dash"], ["gini_weighted", t("Gini"), "#2ca02c", "dash"]];
    draw("chart-disparity", series.map(function (s) {
      return { x: x, y: rows.map(function (r) { return r[s[0]]; }), name: s[1], mode: "lines",
        line: { color: s[2], dash: s[3], width: 2 }, hovertemplate: "%{x}: %{y:.4f}<extra>" + s[1] + "</extra>" };
    }), layout(400, { xaxis: { dtick: 1 }, yaxis: { rangemode: "tozero" }, margin: { l: 48, r: 12, t: 70, b: 40 } }));
  }
  $("disparity-measure").addEventListener("change", drawDisparity);

  // Ranking table for a year; what-if weights move the ranks.
  var tbody = document.querySelector("#ranking-table tbody");
  var sliders = Array.prototype.slice.call(document.querySelectorAll("#whatif input[type=range]"));
  function shiftLabel(shift) {
    if (shift > 0) { return t("up {n} places", { n: shift }); }
    if (shift < 0) { return t("down {n} places", { n: -shift }); }
    return t("same rank");
  }
  function renderRanking(year, items) {
    tbody.innerHTML = "";
    items.forEach(function (row) {
      var tr = document.createElement("tr");
      tr.setAttribute("data-region", row.region_code);
      var shift = row.rank_shift, arrow = shift > 0 ? "▲" + shift : shift < 0 ? "▼" + (-shift) : "=";
      var cls = shift > 0 ? "up" : shift < 0 ? "down" : "same";
      tr.innerHTML = '<td class="num rank">' + row.base_rank + "</td>" +
        '<td><span lang="zh">' + esc(row.name_zh) + "</span> " + esc(row.name_en) + "</td>" +
        '<td class="num"><a href="#trace" class="trace" data-region="' + row.region_code + '" data-year="' + year + '" data-code="index">' + fmt(row.base_score, 1) + "</a></td>" +
        '<td class="num wide-only"><a href="#trace" class="trace" data-kind="base_year" data-region="' + row.region_code + '" data-year="' + year + '" data-code="index">' + fmt(row.base_index, 1) + "</a></td>" +
        '<td class="interval">' + row.interval + "</td>" +
        '<td class="num whatif-rank ' + cls + '" title="' + esc(t("what-if score {score}", { score: fmt(row.score, 1) })) + '">' + row.rank +
        ' <span class="shift" aria-label="' + esc(shiftLabel(shift)) + '">' + arrow + "</span></td>";
      tbody.appendChild(tr);
    });
  }
  var pending = null;
  function updateRanking() {
    var year = Number($("ranking-year").value), k = data.years.indexOf(year);
    var query = sliders.map(function (s) {
      s.parentNode.querySelector("output").textContent = s.value;
      return s.getAttribute("data-concept") + "=" + s.value;
    }).join("&");
    var zero = sliders.every(function (s) { return Number(s.value) === 0; });
    if (zero) { $("whatif-status").textContent = t("At least one concept needs a weight above 0."); return; }
    if (pending) { pending.abort(); }
    pending = new AbortController();
    getJSON("/api/monitor/what-if?year=" + year + "&" + query, pending.signal)
      .then(function (body) {
        success($("whatif-status"));
        var intervals = {};
        data.ranks.forEach(function (r) {
          if (r.year === year) { intervals[r.region_code] = Math.round(r.rank_p05) + "–" + Math.round(r.rank_p95); }
        });
        var items = body.items.map(function (row) {
          row.interval = intervals[row.region_code] || "";
          row.base_index = data.series.base_year[data.index.code][row.region_code][k];
          return row;
        }).sort(function (a, b) { return a.base_rank - b.base_rank; });
        renderRanking(year, items);
        var moved = items.filter(function (r) { return r.rank_shift !== 0; }).length;
        $("whatif-status").textContent = moved ? t("{n} cities change rank.", { n: moved }) : t("No rank changes.");
      }).catch(function (err) {
        if (err.name === "AbortError") { return; }
        // The what-if column would still show the ranks of the previous weights.
        document.querySelectorAll("#ranking-table td.whatif-rank").forEach(function (td) {
          td.textContent = "–";
          td.className = "num whatif-rank";
          td.removeAttribute("title");
        });
        failure($("whatif-status"), t("The what-if ranks could not be loaded: {reason}.", { reason: err.message }));
      });
  }
  sliders.forEach(function (s) { s.addEventListener("input", updateRanking); });
  $("ranking-year").addEventListener("change", updateRanking);
  $("whatif-reset").addEventListener("click", function () {
    sliders.forEach(function (s) { s.value = 1; });
    updateRanking();
  });

  // Traces: the inputs behind a number, drillable down to the raw statistics.
  function showTrace(q) {
    var path = "/api/monitor/trace?region=" + q.region + "&year=" + q.year + "&code=" + q.code + "&kind=" + (q.kind || "score");
    $("trace-body").innerHTML = '<p class="note">' + esc(t("Loading…")) + "</p>";
    success($("trace-body"));
    getJSON(path).then(function (body) { renderTrace(body.trace, body.kind); })
      .catch(function (err) {
        failure($("trace-body"), t("Where this number comes from could not be loaded: {reason}.", { reason: err.message }));
      });
    $("trace").scrollIntoView({ behavior: "smooth", block: "start" });
  }
  function renderTrace(node, kind) {
    var scale = kind === "score" ? t("score 0–100") : t("index, {year} = 100", { year: data.base_year });
    var html = "<h3>" + esc(cityLabel(node.region_code)) + ", " + node.year + ": " + esc(t(node.name)) +
      " = <strong>" + fmt(node.value, 2) + "</strong> <span class=\"note\">(" + scale + ")</span></h3>";
    if (node.children) {
      html += '<div class="table-wrap" tabindex="0"><table class="trace-table"><thead><tr><th>' + t("Part") + '</th><th class="num">' + t("Value") + '</th><th class="num">' + t("Weight") + '</th><th class="num">' + t("Weight × value") + "</th></tr></thead><tbody>";
      node.children.forEach(function (c) {
        html += '<tr><td><a href="#trace" class="trace" data-kind="' + kind + '" data-region="' + node.region_code + '" data-year="' + node.year + '" data-code="' + c.code + '">' + esc(t(c.name)) + "</a></td>" +
          '<td class="num">' + fmt(c.value, 2) + '</td><td class="num">' + fmt(c.weight, 3) + '</td><td class="num">' + (c.value === null ? "–" : fmt(c.value * c.weight, 2)) + "</td></tr>";
      });
      html += "</tbody></table></div><p class=\"note\">" + esc(t("{method} mean", { method: t(node.aggregation) })) + t(": ") + esc(t(node.formula)) + " = " + fmt(node.reproduced, 2) + t(". ") + esc(t("Click a part to see its inputs.")) + "</p>";
    } else {
      var f = node.framework;
      html += "<dl class=\"trace-facts\"><dt>" + t("Raw unit") + "</dt><dd>" + esc(f.unit ? t(f.unit) : "–") + "</dd>" +
        (f.denominator ? "<dt>" + t("Divided by") + "</dt><dd>" + esc(t(f.denominator)) + (f.denominator_value ? " (" + Number(f.denominator_value).toLocaleString("en") + ")" : "") + ", × " + f.scale + "</dd>" : "") +
        "<dt>" + t("Direction") + "</dt><dd>" + (f.direction > 0 ? t("higher is better") : t("lower is better")) + "</dd>" +
        (f.treatment ? "<dt>" + t("Outlier treatment") + "</dt><dd>" + esc(t(f.treatment)) + "</dd>" : "") +
        "<dt>" + t("Weight in its concept") + "</dt><dd>" + fmt(f.weight, 3) + "</dd></dl>";
      html += '<div class="table-wrap" tabindex="0"><table class="trace-table"><thead><tr><th>' + t("Step") + '</th><th class="num">' + t("Value") + "</th></tr></thead><tbody>";
      node.stages.forEach(function (s) { html += "<tr><td>" + esc(s.stage.indexOf("_2") > 0 ? t("{stage} (2nd pass)", { stage: t(s.stage.replace("_2", "")) }) : t(s.stage)) + '</td><td class="num">' + fmt(s.value, 4) + "</td></tr>"; });
      var n = node.normalisation, detail = Object.keys(n).filter(function (k) { return k !== "method"; })
        .map(function (k) { return k + " = " + (typeof n[k] === "number" ? fmt(n[k], 4) : n[k]); }).join(", ");
      html += "</tbody></table></div><p class=\"note\">" + esc(t("Normalisation ({method}): ", { method: t(n.method) })) + esc(node.formula) + t("; ") + esc(detail) + t(".") + "</p>";
    }
    html += '<p class="note"><a href="#trace" class="trace" data-kind="' + kind + '" data-region="' + node.region_code + '" data-year="' + node.year + '" data-code="' + data.index.code + '">' + t("Back to the total") + "</a></p>";
    $("trace-body").innerHTML = html;
  }
  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("a.trace") : null;
    if (!link) { return; }
    event.preventDefault();
    showTrace({ region: link.getAttribute("data-region"), year: link.getAttribute("data-year"),
      code: link.getAttribute("data-code"), kind: link.getAttribute("data-kind") || "score" });
  });

  // Export link follows the chosen table.
  $("csv-table").addEventListener("change", function () {
    $("csv-link").href = base + "/api/monitor/export.csv?table=" + $("csv-table").value;
  });

  drawSeries();
  drawMap();
  drawCoupling();
  drawDisparity();
  updateRanking();
})();
