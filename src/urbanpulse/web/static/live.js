// Crowding now (templates/_live.html): every line section coloured by its level, kept
// current by server-sent events from /api/live/stream; where those fail, the page polls
// /api/live/sections instead.
(function () {
  "use strict";
  var script = document.currentScript;
  var base = script.getAttribute("data-base") || "";
  var root = document.getElementById("live");
  if (!root) { return; }
  // Words in the page's language (base.html defines t()); as written if it has not.
  var t = window.t || function (text, params) {
    return !params ? text : text.replace(/\{(\w+)\}/g, function (m, k) { return k in params ? String(params[k]) : m; });
  };
  var zh = (window.UP_LANG || document.documentElement.lang || "").indexOf("zh") === 0;
  var POLL_MS = 15000;
  var MAX_FAILURES = 3;  // stream errors in a row before the page polls instead
  var legend = document.getElementById("live-legend");
  var status = document.getElementById("live-status");
  var holder = document.getElementById("live-lines");
  var mode = "stream";
  var levels = {};

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }
  function name(item) { return (zh ? item.name_zh || item.name_en : item.name_en || item.name_zh) || item.site_id || item.line_id; }
  function hhmm(iso) { return iso ? iso.slice(11, 16) : ""; }
  function percent(load) { return Math.round(load * 100) + " %"; }

  function drawLegend(list) {
    if (legend.childElementCount) { return; }
    list.forEach(function (level, i) {
      levels[level.level] = level;
      var li = el("li");
      li.setAttribute("data-level", level.level);
      var swatch = el("span", "live-swatch");
      swatch.setAttribute("data-level", level.level);
      swatch.style.backgroundColor = level.colour;
      li.appendChild(swatch);
      li.appendChild(el("span", null, zh ? level.name_zh : level.name_en));
      var range = level.max_load === null ? "≥ " + percent(level.min_load) :
        (i === 0 ? "< " + percent(level.max_load) : percent(level.min_load) + "–" + percent(level.max_load));
      li.appendChild(el("span", "live-range", range));
      legend.appendChild(li);
    });
  }

  function describe(section, stations) {
    var where = stations[section.from_site_id] + " → " + stations[section.to_site_id];
    if (!section.level) { return where + ": " + t("no reading"); }
    var level = levels[section.level];
    var text = where + ": " + (zh ? level.name_zh : level.name_en) + " (" + percent(section.load) + ", " +
      t("read at {time}", { time: hhmm(section.ts) }) + ")";
    return section.stale ? text + " · " + t("stale") : text;
  }

  // The rider's own legs (the commuter page says which, after an answer): a section
  // between the leg's boarding and alighting stations, in its direction of travel.
  var trip = [];
  document.addEventListener("urbanpulse:trip", function (event) {
    trip = event.detail || [];
    holder.querySelectorAll(".live-line").forEach(markTrip);
  });
  function isOnTrip(line, section) {
    var order = line.stations.map(function (s) { return s.site_id; });
    return trip.some(function (leg) {
      if (leg.line_id !== line.line_id) { return false; }
      var i = order.indexOf(leg.from_site_id), j = order.indexOf(leg.to_site_id);
      var a = order.indexOf(section.from_site_id), b = order.indexOf(section.to_site_id);
      if (i < 0 || j < 0 || a < 0 || b < 0) { return false; }
      var within = Math.min(a, b) >= Math.min(i, j) && Math.max(a, b) <= Math.max(i, j);
      // A section of both directions is on any leg over it; else only in its own way.
      return within && (section.direction === "both" || (b > a) === (j > i));
    });
  }
  function markTrip(box) {
    var line = box._line;
    if (!line) { return; }
    var on = 0;
    box.querySelectorAll(".live-section").forEach(function (part) {
      var mine = isOnTrip(line, part._section);
      part.classList.toggle("on-trip", mine);
      part.title = describe(part._section, box._stations) + (mine ? " · " + t("on your trip") : "");
      on += mine ? 1 : 0;
    });
    box.classList.toggle("has-trip", on > 0);
    var note = box.querySelector(".live-trip-note");
    if (note) { note.textContent = on ? t("{n} sections of your trip are outlined.", { n: on }) : ""; }
  }

  function drawStrip(sections, stations) {
    var strip = el("div", "live-strip");
    strip.setAttribute("role", "img");
    sections.forEach(function (s) {
      var part = el("span", "live-section" + (s.stale ? " stale" : ""));
      part._section = s;
      part.setAttribute("data-from", s.from_site_id);
      part.setAttribute("data-to", s.to_site_id);
      part.setAttribute("data-direction", s.direction);
      part.setAttribute("data-level", s.level || "none");
      if (s.level) { part.style.backgroundColor = levels[s.level].colour; }
      part.title = describe(s, stations);
      strip.appendChild(part);
    });
    var counts = {};
    sections.forEach(function (s) { counts[s.level || "none"] = (counts[s.level || "none"] || 0) + 1; });
    strip.setAttribute("aria-label", Object.keys(counts).map(function (k) {
      return counts[k] + " × " + (levels[k] ? (zh ? levels[k].name_zh : levels[k].name_en) : t("no reading"));
    }).join(", "));
    return strip;
  }

  function drawLine(line, open) {
    var box = el("div", "live-line");
    box.setAttribute("data-line", line.line_id);
    box._line = line;
    var city = zh ? line.city_name_zh : line.city_name_en;
    box.appendChild(el("h3", null, name(line) + (city && name(line).indexOf(city) < 0 ? " · " + city : "")));
    var stations = {};
    line.stations.forEach(function (s) { stations[s.site_id] = name(s); });
    box._stations = stations;
    // 'both', 'up' and 'down' for stations' own readings; a network line's own
    // directions (GTFS direction_id) otherwise, each in its order of travel.
    var directions = [];
    line.sections.forEach(function (s) {
      if (directions.indexOf(s.direction) < 0) { directions.push(s.direction); }
    });
    directions.forEach(function (d) {
      var own = line.sections.filter(function (s) { return s.direction === d; });
      own.sort(function (a, b) { return d === "down" ? b.position - a.position : a.position - b.position; });
      if (d !== "both") {
        box.appendChild(el("p", "live-direction", t("towards {station}", { station: stations[own[own.length - 1].to_site_id] })));
      }
      box.appendChild(drawStrip(own, stations));
      var ends = el("div", "live-ends");
      ends.appendChild(el("span", null, stations[own[0].from_site_id]));
      ends.appendChild(el("span", null, stations[own[own.length - 1].to_site_id]));
      box.appendChild(ends);
    });
    var details = el("details");
    details.open = open;
    details.appendChild(el("summary", null, t("Sections of this line")));
    var list = el("ol");
    line.sections.forEach(function (s) {
      var li = el("li");
      var swatch = el("span", "live-swatch");
      swatch.setAttribute("data-level", s.level || "none");
      if (s.level) { swatch.style.backgroundColor = levels[s.level].colour; }
      li.appendChild(swatch);
      li.appendChild(document.createTextNode(describe(s, stations)));
      list.appendChild(li);
    });
    details.appendChild(list);
    box.appendChild(details);
    var note = el("p", "live-trip-note");
    note.setAttribute("aria-live", "polite");
    box.appendChild(note);
    markTrip(box);
    return box;
  }

  function drawStatus(snapshot) {
    status.classList.remove("is-stale", "is-empty");
    root.setAttribute("data-stale", snapshot.stale ? "true" : "false");
    root.setAttribute("data-version", String(snapshot.version));
    if (!snapshot.lines.length) {
      status.classList.add("is-empty");
      // Words for riders: how to start a feed is the operator's business (README).
      status.textContent = t("No live readings yet: this view fills by itself as soon as a feed sends some.");
    } else if (snapshot.stale) {
      status.classList.add("is-stale");
      // Times are local ISO strings: a silence that began on another day names the day.
      var since = snapshot.stale_since.slice(0, 10) === snapshot.generated_at.slice(0, 10) ?
        hhmm(snapshot.stale_since) : snapshot.stale_since.slice(0, 10) + " " + hhmm(snapshot.stale_since);
      status.textContent = t("Feed stale since {time}: no new reading for over {minutes} min; colours show the last known crowding.",
        { time: since, minutes: Math.round(snapshot.stale_after_s / 60) }) +
        (snapshot.synthetic ? " " + t("These are the demo's synthetic data, which ended in the past.") : "");
    } else {
      // The age, not only the time: "live" must not be said of data ten minutes old.
      var age = Math.max(0, Math.round((Date.parse(snapshot.generated_at) - Date.parse(snapshot.last_reading)) / 60000));
      status.textContent = t("Last reading {time}", { time: hhmm(snapshot.last_reading) }) + " (" +
        (age < 1 ? t("just now") : t("{n} min ago", { n: age })) + ") · " +
        (mode === "stream" ? t("updates live") : t("checked every {seconds} s", { seconds: POLL_MS / 1000 }));
    }
  }

  function render(snapshot) {
    drawLegend(snapshot.levels);
    var open = {};
    holder.querySelectorAll(".live-line").forEach(function (box) {
      open[box.getAttribute("data-line")] = box.querySelector("details").open;
    });
    var boxes = snapshot.lines.map(function (line) { return drawLine(line, !!open[line.line_id]); });
    holder.replaceChildren.apply(holder, boxes);
    drawStatus(snapshot);
    root.setAttribute("data-mode", mode);
  }

  function fail(message) {
    status.classList.add("is-stale");
    status.textContent = message;
  }

  function poll() {
    fetch(base + "/api/live/sections", { headers: { Accept: "application/json" } })
      .then(function (r) {
        if (!r.ok) { throw new Error(t("the server answered {status}", { status: r.status })); }
        return r.json();
      })
      .then(render)
      .catch(function (err) { fail(t("Crowding now could not be read: {reason}", { reason: err.message })); })
      .then(function () { window.setTimeout(poll, POLL_MS); });
  }

  function startPolling() {
    mode = "poll";
    root.setAttribute("data-mode", mode);
    poll();
  }

  function connect() {
    if (!window.EventSource) { startPolling(); return; }
    var failures = 0;
    var source = new EventSource(base + "/api/live/stream");
    source.addEventListener("open", function () { failures = 0; });
    source.addEventListener("sections", function (e) { render(JSON.parse(e.data)); });
    // The server ends a stream after a while and the browser reconnects by itself;
    // only errors in a row, with no stream opened between them, mean it cannot stream.
    source.addEventListener("error", function () {
      failures += 1;
      if (source.readyState === EventSource.CLOSED || failures >= MAX_FAILURES) {
        source.close();
        startPolling();
      }
    });
  }

  connect();
})();
