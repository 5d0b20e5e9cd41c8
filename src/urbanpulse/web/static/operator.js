// The operator page: observed against predicted, daily error, and advice's measured effect.
(function () {
  "use strict";
  var script = document.currentScript;
  var base = script.getAttribute("data-base") || "";
  var planningDay = script.getAttribute("data-planning-day");
  var lines = JSON.parse(document.getElementById("lines-data").textContent);
  var trip = JSON.parse(document.getElementById("default-trip").textContent);
  var pick = function (id) { return document.getElementById(id); };
  var charts = window.UrbanPulseCharts;
  // Words in the page's language (base.html defines t()); as written if it has not.
  var t = window.t || function (text, params) {
    return !params ? text : text.replace(/\{(\w+)\}/g, function (m, k) { return k in params ? String(params[k]) : m; });
  };
  var margin = { l: 52, r: 8, t: 16, b: 48 };

  // A failed request says why: the API's own message, the status, or no connection.
  function getJson(path) {
    return fetch(base + path, { headers: { Accept: "application/json" } }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (body) {
        if (!r.ok) {
          throw new Error(body.error ? body.error.message :
            t("the server answered {status}", { status: r.status + " " + r.statusText }));
        }
        return body;
      });
    }, function () { throw new Error(t("the server could not be reached")); });
  }

  function plot(id, traces, layout) {
    var target = pick(id);
    target.hidden = false;
    return charts.draw(target, traces, layout);
  }

  // What was shown for the previous station or line must not pass for the answer to a
  // request that failed: charts and tables are cleared and the message says why.
  function clearChart(id) {
    var target = pick(id);
    if (window.Plotly && target._fullLayout) { window.Plotly.purge(target); }
    target.removeAttribute("data-rendered");
    target.hidden = true;
  }
  function tell(id, message) {
    var node = pick(id);
    node.textContent = message;
    node.hidden = !message;
    if (message) { node.setAttribute("role", "alert"); } else { node.removeAttribute("role"); }
  }
  function failAccuracy(error) {
    var message = t("Forecast accuracy for this station could not be loaded: {reason}.", { reason: error.message });
    clearChart("accuracy-chart");
    clearChart("error-chart");
    pick("error-rows").replaceChildren();
    tell("accuracy-empty", message);
    tell("error-empty", message);
  }
  function failEffect(error) {
    clearChart("effect-chart");
    pick("effect-empty").hidden = true;
    pick("effect-summary").textContent = t("The effect of advice on this line could not be loaded: {reason}.",
      { reason: error.message });
    pick("effect-summary").setAttribute("role", "alert");
    pick("effect-flows").textContent = "";
  }

  function fillStations(chosen) {
    var line = lines.find(function (l) { return l.line_id === pick("line").value; });
    var select = pick("site");
    select.replaceChildren.apply(select, (line ? line.stations : []).map(function (s) {
      var node = document.createElement("option");
      node.value = s.site_id;
      node.textContent = s.sequence + ". " + [s.name_zh, s.name_en].filter(Boolean).join(" ");
      node.selected = s.site_id === chosen;
      return node;
    }));
  }

  function local(iso) {
    // Asia/Shanghai has no daylight saving: UTC+8 all year.
    var d = new Date(Date.parse(iso) + 8 * 3600 * 1000);
    return d.toISOString().slice(0, 16).replace("T", " ");
  }

  function fmt(value, digits, suffix) {
    return value === null || value === undefined ? "—" : value.toFixed(digits) + (suffix || "");
  }

  function drawAccuracy(data) {
    var x = data.items.map(function (r) { return local(r.ts); });
    var col = function (name) { return data.items.map(function (r) { return r[name]; }); };
    // Per period: a count is the period's total (boardings per 15 min), a load its mean.
    var unit = data.value_label;
    var hover = "%{x}: %{y:" + (data.aggregation === "sum" ? ".0f" : ".2f") + "} " + unit +
      "<extra>%{fullData.name}</extra>";
    tell("accuracy-empty", data.items.length ? "" : t("Too little history before {day} to forecast it.", { day: data.day }));
    pick("accuracy-empty").removeAttribute("role");
    tell("error-empty", "");
    if (!data.items.length) {
      clearChart("accuracy-chart");
    } else {
      plot("accuracy-chart", [
        { x: x, y: col("p10"), mode: "lines", line: { width: 0 }, hoverinfo: "skip", showlegend: false },
        { x: x, y: col("p90"), mode: "lines", line: { width: 0 }, fill: "tonexty",
          fillcolor: "rgba(11,83,148,0.18)", name: t("80 % band") },
        { x: x, y: col("yhat"), mode: "lines", line: { color: "#0b5394", width: 2 }, name: t("predicted"),
          hovertemplate: hover },
        { x: x, y: col("observed"), mode: "lines", line: { color: "#c62828", width: 1.5 }, name: t("observed"),
          hovertemplate: hover },
      ], { margin: margin, height: 340, yaxis: { title: { text: t(unit) } },
           legend: { orientation: "h", y: -0.25 },
           xaxis: { title: { text: t("{day}, {n}-min periods (local time)", { day: data.day, n: data.period_minutes }) },
             tickformat: "%H:%M" } });
    }
    var days = data.days.map(function (d) { return d.day; });
    plot("error-chart", [
      { type: "bar", x: days, y: data.days.map(function (d) { return d.wape; }), name: t("WAPE %"),
        marker: { color: "#0b5394" } },
      { x: days, y: data.days.map(function (d) { return d.coverage === null ? null : d.coverage * 100; }),
        mode: "lines+markers", name: t("band coverage %"), line: { color: "#e0a800" } },
    ], { margin: margin, height: 260, yaxis: { title: { text: "%" }, rangemode: "tozero" },
         legend: { orientation: "h", y: -0.3 }, xaxis: { type: "category" } });
    var rows = pick("error-rows");
    rows.replaceChildren.apply(rows, data.days.map(function (d) {
      var tr = document.createElement("tr");
      [d.day, fmt(d.mae, 3), fmt(d.wape, 1, " %"), fmt(d.coverage === null ? null : d.coverage * 100, 0, " %"), d.model]
        .forEach(function (text, i) {
          var td = document.createElement("td");
          td.textContent = text;
          td.className = i === 0 ? "nowrap" : (i === 4 ? "wide-only" : "num");
          if (i === 4) { td.setAttribute("translate", "no"); }  // a model's name, as the API gives it
          tr.appendChild(td);
        });
      return tr;
    }));
  }

  // The line, station by period: what was observed, the same weekday a week before, or
  // the change between them; one colour scale for the first two so they compare.
  var lineDay = null;
  var zh = (document.documentElement.lang || "").indexOf("zh") === 0;
  function placeName(s) {
    var names = zh ? [s.name_zh, s.name_en] : [s.name_en, s.name_zh];
    return names.filter(Boolean)[0] || s.site_id;
  }
  function stationName(s) { return s.sequence + ". " + placeName(s); }
  function lineValue(v) {
    if (v === null || v === undefined) { return "—"; }
    return lineDay && isLoad(lineDay.metric) ? Math.round(v * 100) + " %" : String(Math.round(v));
  }
  function isLoad(metric) { return metric.indexOf("load") === 0; }
  // What the line's grid can show, where its stations report it (the API's 'metrics').
  var metricLabels = {
    load: t("load of the trains (busier direction)"),
    boardings: t("boardings"),
    entries: t("entries at the gates"),
    exits: t("exits at the gates (alightings)"),
  };
  // A direction is named by where its trains go, as the platforms' signs do.
  function metricLabel(metric, stations) {
    var ends = { load_up: stations[stations.length - 1], load_down: stations[0] };
    if (ends[metric]) {
      return t("load, towards {station}", { station: placeName(ends[metric]) });
    }
    return metricLabels[metric] || metric;
  }
  function fillMetrics(data) {
    var select = pick("line-metric");
    select.replaceChildren.apply(select, data.metrics.map(function (m) {
      var option = document.createElement("option");
      option.value = m;
      option.textContent = metricLabel(m, data.stations);
      return option;
    }));
    select.value = data.metric;
    select.disabled = data.metrics.length < 2;
  }
  function drawLine(data) {
    lineDay = data;
    tell("line-empty", "");
    pick("line-day-shown").textContent = data.day;
    pick("line-export").href = base + "/api/operator/line-day.csv?line_id=" +
      encodeURIComponent(data.line_id) + "&day=" + data.day + "&metric=" + data.metric;
    fillMetrics(data);
    pick("line-export").hidden = false;
    renderLine();
    var names = {};
    data.stations.forEach(function (s) { names[s.site_id] = stationName(s); });
    var rows = pick("alert-rows");
    rows.replaceChildren.apply(rows, data.alerts.map(function (a) {
      var tr = document.createElement("tr");
      [names[a.site_id] || a.site_id, a.start.slice(11, 16), a.end.slice(11, 16),
       a.side === "above" ? t("busier than predicted") : t("quieter than predicted"),
       lineValue(a.observed), lineValue(a.band_edge)].forEach(function (text, i) {
        var td = document.createElement("td");
        td.textContent = text;
        td.className = i >= 4 ? "num" : (i === 3 ? "side-" + a.side : "nowrap");
        tr.appendChild(td);
      });
      return tr;
    }));
    pick("alerts-empty").hidden = data.alerts.length > 0;
  }
  function renderLine() {
    var data = lineDay;
    if (!data) { return; }
    var view = pick("line-view").value;
    var grid = view === "change"
      ? data.observed.map(function (row, i) {
          return row.map(function (v, k) {
            var before = data.last_week[i][k];
            return v === null || before === null ? null : v - before;
          });
        })
      : data[view];
    var all = data.observed.concat(data.last_week).reduce(function (a, row) { return a.concat(row); }, [])
      .filter(function (v) { return v !== null; });
    var top = all.length ? Math.max.apply(null, all) : 1;
    var load = isLoad(data.metric);
    var scale = function (v) { return v === null ? null : (load ? v * 100 : v); };
    var unit = load ? t("% of capacity") : t("{unit} per {n} min", { unit: t(data.unit || ""), n: data.period_minutes });
    var trace = {
      type: "heatmap", z: grid.map(function (row) { return row.map(scale); }),
      x: data.periods.map(function (p) { return p.slice(11, 16); }),
      y: data.stations.map(stationName), hoverongaps: false,
      hovertemplate: "%{y}<br>%{x}: %{z:.0f} " + unit + "<extra></extra>",
      colorbar: { title: { text: view === "change" ? t("change, {unit}", { unit: unit }) : unit } },
    };
    if (view === "change") {
      var spread = Math.max.apply(null, grid.reduce(function (a, row) { return a.concat(row); }, [])
        .filter(function (v) { return v !== null; }).map(function (v) { return Math.abs(scale(v)); }).concat([1e-9]));
      trace.colorscale = "RdBu"; trace.reversescale = true; trace.zmin = -spread; trace.zmax = spread;
    } else {
      trace.colorscale = "Viridis"; trace.zmin = 0; trace.zmax = scale(top);
    }
    var compared = view === "observed" ? data.day : view === "last_week" ? data.compare_day
      : t("{day} against {before}", { day: data.day, before: data.compare_day });
    // On a phone the colour bar goes under the grid, and fewer times label the axis.
    var narrow = pick("line-chart").clientWidth < 600;
    trace.colorbar.orientation = narrow ? "h" : "v";
    if (narrow) { trace.colorbar.y = -0.35; trace.colorbar.yanchor = "top"; trace.colorbar.thickness = 12; }
    plot("line-chart", [trace], {
      margin: { l: 8, r: 8, t: 16, b: narrow ? 120 : 48 },
      height: Math.max(260, 22 * data.stations.length + (narrow ? 200 : 100)),
      yaxis: { autorange: "reversed", automargin: true },
      xaxis: { title: { text: compared }, nticks: narrow ? 5 : 12, tickangle: 0 } });
  }
  function failLine(error) {
    lineDay = null;
    clearChart("line-chart");
    pick("alert-rows").replaceChildren();
    pick("alerts-empty").hidden = true;
    pick("line-export").hidden = true;
    pick("line-metric").replaceChildren();  // the next request asks for the line's default
    tell("line-empty", t("The line's day could not be loaded: {reason}.", { reason: error.message }));
  }

  // What the riders counted at the line's stations show: the peak slot against the same
  // slot on earlier same weekdays, over the requests advice moved off it.
  function drawFlows(c) {
    var box = pick("effect-flows");
    if (!c) {
      box.textContent = t("The line's stations count no riders on this day, so observed flows cannot show whether advice was followed.");
      return;
    }
    var n = function (v) { return Math.round(v).toLocaleString(document.documentElement.lang || undefined); };
    var pct = function (v) { return Math.round(v * 100) + " %"; };
    if (c.expected === null) {
      box.textContent = t("Observed flows: {observed} riders counted in the peak slot at {sites} stations; comparing them needs 3 earlier same weekdays with counts, and there are {days}.", {
        observed: n(c.observed), sites: c.sites, days: c.days });
      return;
    }
    var head = t("Observed flows: {observed} riders counted in the peak slot at {sites} stations, against {expected} usually (± {spread} from day to day, over {days} earlier same weekdays).", {
      observed: n(c.observed), sites: c.sites, expected: n(c.expected), spread: n(c.spread), days: c.days });
    var verdict = c.moved === 0
      ? t(" Advice moved no requests off the peak.")
      : c.measurable
        ? t(" Advice moved {moved} requests off the peak; the drop in riders accounts for {share} of them (95 % interval {low} to {high}).", {
          moved: c.moved, share: pct(c.share), low: pct(c.share_low), high: pct(c.share_high) })
        : t(" Advice moved {moved} requests off the peak, too few against the day-to-day variation: the flows cannot show yet whether riders followed it.", { moved: c.moved });
    box.textContent = head + verdict;
  }

  function drawEffect(data) {
    pick("effect-summary").removeAttribute("role");
    pick("effect-source").textContent = t(data.source) +
      t(" Advised requests are counted at their preferred slot; moved ones also where they were sent.");
    var asked = data.advised + data.holdout;
    pick("effect-empty").hidden = asked > 0;
    if (!asked) {
      pick("effect-summary").textContent = "";
      pick("effect-flows").textContent = "";
      pick("effect-chart").hidden = true;
      return;
    }
    var pct = function (v) { return v === null ? "—" : Math.round(v * 100) + " %"; };
    var points = function (v) { return (v >= 0 ? "" : "−") + Math.abs(Math.round(v * 100)); };
    var interval = {
      cut: points(data.peak_share_cut), level: Math.round(data.confidence * 100),
      low: points(data.peak_share_cut_low), high: points(data.peak_share_cut_high) };
    var cut = data.peak_share_cut === null
      ? t("The cut in the peak's share needs requests in both groups.")
      : data.peak_share_cut_low === null
        ? t("Advice cut the share leaving in the peak by {cut} points in these requests; its interval needs at least {min} requests in each group.", {
          cut: points(data.peak_share_cut), min: data.min_requests_per_group })
      : data.peak_share_cut_low > 0
        ? t("Advice cut the share leaving in the peak by {cut} points ({level} % interval {low} to {high} points).", interval)
        : t("Advice cut the share leaving in the peak by {cut} points ({level} % interval {low} to {high} points; too few requests yet to be sure it is not zero).", interval);
    pick("effect-summary").textContent =
      (asked === 1 ? t("1 request: ") : t("{n} requests: ", { n: asked })) +
      t("advised n = {advised}, holdout n = {holdout}. ", { advised: data.advised, holdout: data.holdout }) +
      t("{moved} of advised requests were sent to another slot; ", { moved: pct(data.moved_share) }) +
      t("{share} of those preferring the peak ({peak}) were moved off it. ", { share: pct(data.peak_moved_share), peak: data.peak }) +
      t("Share leaving in the peak: holdout {holdout} ({holdout_n} of {holdout_total}), advised after advice {advised} ({advised_n} of {advised_total}). ", {
        holdout: pct(data.peak_share_holdout), holdout_n: data.peak_holdout, holdout_total: data.holdout,
        advised: pct(data.peak_share_advised), advised_n: data.peak_advised, advised_total: data.advised }) + cut;
    drawFlows(data.compliance);
    var x = data.items.map(function (r) { return r.label; });
    var col = function (name, sign) { return data.items.map(function (r) { return sign * r[name]; }); };
    plot("effect-chart", [
      { type: "bar", x: x, y: col("holdout", 1), name: t("holdout (preferred)"), marker: { color: "#9fb3c8" } },
      { type: "bar", x: x, y: col("advised", 1), name: t("advised (preferred)"), marker: { color: "#0b5394" } },
      { type: "bar", x: x, y: col("moved_in", 1), name: t("moved in"), marker: { color: "#1a7f37" } },
      { type: "bar", x: x, y: col("moved_out", -1), name: t("moved out"), marker: { color: "#c62828" } },
    ], { margin: margin, height: 280, barmode: "group", yaxis: { title: { text: t("requests per 15-min slot") } },
         xaxis: { type: "category", title: { text: t("preferred (or advised) departure slot") } },
         legend: { orientation: "h", y: -0.3 } });
  }

  var asked = 0;
  function show(event) {
    if (event) { event.preventDefault(); }
    var site = pick("site").value, line = pick("line").value, day = pick("day").value;
    var metric = pick("line-metric").value;
    var query = "site_id=" + encodeURIComponent(site) + (day ? "&day=" + day : "");
    // Only the latest request may draw: an older one answering late would show another station.
    var mine = ++asked;
    var latest = function (draw) { return function (body) { if (mine === asked) { draw(body); } }; };
    getJson("/api/operator/accuracy?" + query).then(latest(drawAccuracy), latest(failAccuracy));
    getJson("/api/operator/line-day?line_id=" + encodeURIComponent(line) + (day ? "&day=" + day : "") +
      (metric ? "&metric=" + encodeURIComponent(metric) : ""))
      .then(latest(drawLine), latest(failLine));
    var effectDay = pick("effect-day").value || planningDay;
    pick("effect-day-shown").textContent = effectDay;
    getJson("/api/operator/effect?line_id=" + encodeURIComponent(line) + "&day=" + effectDay)
      .then(latest(drawEffect), latest(failEffect));
    keepInAddress({ line: line, site: site, day: day, effect_day: effectDay, metric: metric });
  }

  // What is shown lives in the address: a link to it opens the same line, station
  // and days (a colleague's, a report's).
  function keepInAddress(state) {
    var params = new URLSearchParams();
    Object.keys(state).forEach(function (k) { if (state[k]) { params.set(k, state[k]); } });
    history.replaceState(null, "", location.pathname + "?" + params.toString());
  }

  var asked_for = new URLSearchParams(location.search);
  if (asked_for.get("line") && lines.some(function (l) { return l.line_id === asked_for.get("line"); })) {
    pick("line").value = asked_for.get("line");
  }
  ["day", "effect_day"].forEach(function (name) {
    var value = asked_for.get(name);
    if (value && /^\d{4}-\d{2}-\d{2}$/.test(value)) { pick(name === "day" ? "day" : "effect-day").value = value; }
  });
  if (/^[a-z_]+$/.test(asked_for.get("metric") || "")) {
    // Until the line's answer lists its metrics, the one asked for is the only choice.
    var asked_metric = document.createElement("option");
    asked_metric.value = asked_for.get("metric");
    pick("line-metric").replaceChildren(asked_metric);
  }
  fillStations(asked_for.get("site") || trip.origin);
  pick("line").addEventListener("change", function () {
    pick("line-metric").replaceChildren();  // another line: its own default measure
    fillStations();
    show();
  });
  pick("line-metric").addEventListener("change", show);
  pick("site").addEventListener("change", show);
  pick("effect-day").addEventListener("change", show);
  pick("line-view").addEventListener("change", renderLine);
  pick("operator-form").addEventListener("submit", show);
  show();
})();
