// The commuter page: station search boxes and a station map fill the trip, /api/advice
// answers it, and the page draws the journey, its crowding by slot and the advice.
(function () {
  "use strict";
  var base = document.currentScript.getAttribute("data-base") || "";
  var pick = function (id) { return document.getElementById(id); };
  var form = pick("trip-form");
  var mapDiv = pick("station-map");
  var charts = window.UrbanPulseCharts;
  var GREEN = "#1a7f37", GREY = "#9fb3c8", PREFERRED = "#5a6470", RED = "#c62828";
  var route = 0;

  function both(zh, en) { return [zh, en].filter(Boolean).join(" "); }
  function localTime(iso) { return iso ? iso.slice(11, 16) : "—"; }
  function minutes(value) { return t("{n} min", { n: Number(value.toFixed(1)) }); }
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  // ---- Stations on the map: where each is, which lines pass it ----
  var figure = JSON.parse(document.querySelector("script[data-figure-for='station-map']").textContent);
  var places = {};
  figure.data.forEach(function (trace) {
    (trace.customdata || []).forEach(function (cd, i) {
      var place = places[cd[0]] || (places[cd[0]] = { x: trace.x[i], y: trace.y[i], city: trace.meta, lines: [] });
      if (trace.mode === "lines+markers" && place.lines.indexOf(trace.name) < 0) { place.lines.push(trace.name); }
    });
  });
  var chosenTrace = figure.data.length - 1;

  function showCity(city) {
    if (city === undefined) { return; }
    var visible = figure.data.map(function (t, i) { return i === chosenTrace || t.meta === city; });
    var extent = ((figure.layout.meta || {}).extents || {})[city];
    Plotly.restyle(mapDiv, { visible: visible });
    Plotly.relayout(mapDiv, extent ? { "xaxis.range": extent.slice(0, 2), "yaxis.range": extent.slice(2) }
      : { "xaxis.autorange": true, "yaxis.autorange": true });
  }

  function markChosen() {
    var xs = [], ys = [], texts = [], colours = [];
    [["origin", GREEN, t("From")], ["destination", RED, t("To")]].forEach(function (f) {
      var place = places[pick(f[0]).value];
      if (!place) { return; }
      xs.push(place.x); ys.push(place.y); texts.push(f[2]); colours.push(f[1]);
    });
    Plotly.restyle(mapDiv, { x: [xs], y: [ys], text: [texts], "marker.line.color": [colours] }, [chosenTrace]);
  }

  // ---- Station search: an ARIA combobox over /api/stations ----
  function choose(field, station) {
    pick(field).value = station.site_id;
    pick(field + "-search").value = station.label;
    var place = places[station.site_id];
    if (place && mapDiv.data) {
      var shown = mapDiv.data.some(function (t) { return t.meta === place.city && t.visible !== false; });
      if (!shown) { showCity(place.city); }
      markChosen();
    }
    route = 0;
  }

  function stationLines(item) {
    if (item.lines && item.lines.length) { return item.lines; }
    var found = [];
    (item.site_ids || [item.site_id]).forEach(function (id) {
      ((places[id] || {}).lines || []).forEach(function (l) { if (found.indexOf(l) < 0) { found.push(l); } });
    });
    return found;
  }

  function findStations(query) {
    var params = new URLSearchParams({ q: query, limit: "8" });
    return fetch(base + "/api/stations?" + params.toString(), { headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : { items: [] }; })
      .then(function (body) { return body.items; });
  }

  function combobox(field) {
    var input = pick(field + "-search"), list = pick(field + "-list");
    var items = [], active = -1, timer = null, asked = 0;

    function close() {
      list.hidden = true; active = -1;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
    }
    function highlight(index) {
      var options = list.querySelectorAll("[role=option]:not([aria-disabled])");
      if (!options.length) { return; }
      active = (index + options.length) % options.length;
      options.forEach(function (o, i) { o.setAttribute("aria-selected", i === active ? "true" : "false"); });
      input.setAttribute("aria-activedescendant", options[active].id);
      options[active].scrollIntoView({ block: "nearest" });
    }
    function take(index) {
      var item = items[index];
      var city = both(item.city_zh, item.city_en);
      var name = both(item.name_zh, item.name_en) || item.site_id;
      // stations of one name in two cities: the city tells them apart once chosen too
      choose(field, { site_id: item.site_id, label: city ? name + " · " + city : name });
      close();
    }
    function render(found) {
      items = found; active = -1;
      list.replaceChildren();
      if (!found.length) {
        var none = el("li", "none", t("No station matches “{query}”", { query: input.value.trim() }));
        none.setAttribute("role", "option");
        none.setAttribute("aria-disabled", "true");
        list.appendChild(none);
      }
      found.forEach(function (item, i) {
        var option = el("li", "option");
        option.id = field + "-option-" + i;
        option.setAttribute("role", "option");
        option.setAttribute("aria-selected", "false");
        option.setAttribute("data-site", item.site_id);
        option.appendChild(el("span", "name", both(item.name_zh, item.name_en) || item.site_id));
        var city = both(item.city_zh, item.city_en);
        if (city) { option.appendChild(el("span", "city", city)); }
        var lines = stationLines(item);
        if (lines.length) { option.appendChild(el("span", "lines", lines.join(" · "))); }
        option.addEventListener("mousedown", function (e) { e.preventDefault(); });
        option.addEventListener("click", function () { take(i); });
        list.appendChild(option);
      });
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
    }
    input.addEventListener("input", function () {
      pick(field).value = "";
      clearTimeout(timer);
      var query = input.value.trim();
      if (!query) { close(); return; }
      timer = setTimeout(function () {
        var mine = ++asked;
        findStations(query).then(function (found) { if (mine === asked) { render(found); } });
      }, 120);
    });
    input.addEventListener("keydown", function (e) {
      var open = !list.hidden && items.length;
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        if (!open) { return; }
        e.preventDefault();
        highlight(active + (e.key === "ArrowDown" ? 1 : -1));
      } else if (e.key === "Enter" && open) {
        e.preventDefault();
        take(active >= 0 ? active : 0);
      } else if (e.key === "Escape") {
        close();
      }
    });
    input.addEventListener("blur", function () { setTimeout(close, 150); });
  }

  // A typed name nobody picked from the list: take the best match.
  function resolve(field) {
    var input = pick(field + "-search"), query = input.value.trim();
    if (pick(field).value || !query) { return Promise.resolve(); }
    return findStations(query).then(function (found) {
      if (!found.length) { throw new Error(t("No station matches “{query}”.", { query: query })); }
      choose(field, { site_id: found[0].site_id, label: both(found[0].name_zh, found[0].name_en) });
    });
  }

  // ---- The answer ----
  function showError(message) {
    pick("result").hidden = true;
    var box = pick("advice-error");
    box.textContent = message;
    box.hidden = false;
  }

  function percent(value) { return value === null || value === undefined ? null : value * 100; }

  function draw(advice) {
    var slots = advice.slots.slice().sort(function (a, b) { return a.departure < b.departure ? -1 : 1; });
    var colours = slots.map(function (s) {
      return s.recommended ? GREEN : (s.shift_minutes === 0 ? PREFERRED : GREY);
    });
    var has = function (s) { return s.crowding !== null && s.crowding !== undefined; };
    var bars = {
      type: "bar",
      x: slots.map(function (s) { return s.label; }),
      y: slots.map(function (s) { return percent(s.crowding); }),
      marker: { color: colours },
      error_y: {
        type: "data", symmetric: false, color: "#1b1f24", thickness: 1.2, width: 3,
        array: slots.map(function (s) { return has(s) ? (s.crowding_p90 - s.crowding) * 100 : null; }),
        arrayminus: slots.map(function (s) { return has(s) ? (s.crowding - s.crowding_p10) * 100 : null; }),
      },
      customdata: slots.map(function (s) {
        return [percent(s.crowding_p10), percent(s.crowding_p90), s.reason, localTime(s.arrival)];
      }),
      hovertemplate: t("Leave %{x}, arrive %{customdata[3]}<br>most crowded train: %{y:.0f} % of capacity") +
        "<br>" + t("80 % interval %{customdata[0]:.0f}–%{customdata[1]:.0f} %") + "<br>%{customdata[2]}<extra></extra>",
      name: t("crowding"),
    };
    var highs = slots.filter(has).map(function (s) { return s.crowding_p90 * 100; });
    var top = Math.max(105, Math.max.apply(null, highs.concat([0])) + 10);
    var layout = {
      margin: { l: 56, r: 8, t: 24, b: 64 },
      height: 360,
      showlegend: false,
      xaxis: { type: "category", title: { text: t("departure slot (15 min, local time)") }, tickangle: -45 },
      yaxis: { title: { text: t("most crowded train, % of capacity") }, range: [0, top], ticksuffix: " %" },
      shapes: [{ type: "line", xref: "paper", x0: 0, x1: 1, y0: 100, y1: 100,
                 line: { dash: "dot", color: RED, width: 1.5 } }],
      annotations: [{ xref: "paper", x: 1, y: 100, xanchor: "right", yanchor: "bottom",
                      text: t("full"), showarrow: false, font: { color: RED, size: 11 } }],
    };
    slots.filter(function (s) { return !has(s); }).forEach(function (s) {
      layout.annotations.push({ x: s.label, y: 0, yanchor: "bottom", textangle: -90, showarrow: false,
        text: t("no forecast"), font: { color: PREFERRED, size: 10 } });
    });
    var rec = advice.recommended;
    if (rec && has(rec)) {
      layout.annotations.push({ x: rec.label, y: rec.crowding_p90 * 100, yanchor: "bottom",
        text: t("leave {time}", { time: rec.label }), showarrow: true, arrowhead: 2, ay: -28, font: { color: GREEN, size: 12 } });
    }
    var target = pick("advice-chart");
    // The advice is already shown as text: the chart follows once plotly.js has arrived.
    charts.draw(target, [bars], layout).then(function () {
      target.setAttribute("data-recommended", rec ? rec.label : "");
    }, function (error) { target.textContent = error.message; });
  }

  function describeLeg(leg) {
    var li = el("li", "leg");
    li.appendChild(el("p", "leg-line", both(leg.line_name_zh, leg.line_name_en)));
    li.appendChild(el("p", "leg-stops", both(leg.from_name_zh, leg.from_name_en) + " → " +
      both(leg.to_name_zh, leg.to_name_en)));
    li.appendChild(el("p", "leg-times", t("leaves {departure} · arrives {arrival}", {
      departure: localTime(leg.departure), arrival: localTime(leg.arrival) }) + " · " +
      (leg.stops === 1 ? t("1 stop") : t("{n} stops", { n: leg.stops })) + ", " + minutes(leg.ride_minutes)));
    if (leg.crowding !== null && leg.crowding !== undefined) {
      li.appendChild(el("p", "leg-crowding", t("most crowded {percent} % of capacity ({low}–{high} %) leaving {station}", {
        percent: Math.round(leg.crowding * 100),
        low: Math.round(leg.crowding_p10 * 100), high: Math.round(leg.crowding_p90 * 100),
        station: both(leg.bottleneck_name_zh, leg.bottleneck_name_en) || leg.bottleneck_site_id })));
    }
    var before = [];
    if (leg.walk_minutes > 0) { before.push(t("walk {duration} to change", { duration: minutes(leg.walk_minutes) })); }
    if (leg.wait_minutes > 0) { before.push(t("wait about {duration}", { duration: minutes(leg.wait_minutes) })); }
    if (before.length) { li.appendChild(el("p", "leg-before note", t("Before boarding: {what}", { what: before.join(t(", ")) }))); }
    return li;
  }

  // The recommended departure as a calendar event with a reminder 10 minutes before
  // (iCalendar, made here: nothing is sent anywhere).
  var calendarUrl = null;
  function offerCalendar(rec, trip) {
    var link = pick("advice-calendar");
    if (calendarUrl) { URL.revokeObjectURL(calendarUrl); calendarUrl = null; }
    link.hidden = !rec;
    if (!rec) { return; }
    calendarUrl = URL.createObjectURL(new Blob([buildEvent(rec, trip)], { type: "text/calendar" }));
    link.href = calendarUrl;
  }
  function buildEvent(rec, trip) {
    function stamp(iso) { return new Date(iso).toISOString().replace(/[-:]/g, "").replace(/\.\d+/, ""); }
    function text(value) { return String(value).replace(/[\\;,]/g, function (c) { return "\\" + c; }).replace(/\n/g, "\\n"); }
    var summary = t("Leave at {time}", { time: rec.label }) + " · " + trip;
    return [
      "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:UrbanPulse commuter page", "BEGIN:VEVENT",
      "UID:" + stamp(rec.departure) + "-" + Math.random().toString(36).slice(2) + "@urbanpulse",
      "DTSTAMP:" + stamp(new Date().toISOString()),
      "DTSTART:" + stamp(rec.departure), "DTEND:" + stamp(rec.arrival || rec.departure),
      "SUMMARY:" + text(summary), "DESCRIPTION:" + text(rec.reason),
      "BEGIN:VALARM", "ACTION:DISPLAY", "TRIGGER:-PT10M", "DESCRIPTION:" + text(summary), "END:VALARM",
      "END:VEVENT", "END:VCALENDAR", "",
    ].join("\r\n");
  }

  function describeRoutes(advice) {
    var box = pick("routes-box"), list = pick("routes");
    box.hidden = advice.routes.length < 2;
    list.replaceChildren.apply(list, advice.routes.map(function (r) {
      var li = el("li"), button = el("button", "route-choice");
      var via = r.via.map(function (v, i) { return both(r.via_zh[i], v); }).join(", ");
      button.type = "button";
      button.setAttribute("data-route", String(r.route));
      button.setAttribute("aria-pressed", r.chosen ? "true" : "false");
      button.textContent = (r.chosen ? t("Route {n} (shown)", { n: r.route + 1 }) : t("Route {n}", { n: r.route + 1 })) +
        t(": ") + r.lines.join(" → ") + (via ? t(" via {stations}", { stations: via }) : "") + " · " +
        t("{n} min", { n: Math.round(r.travel_minutes) }) + " · " +
        (r.transfers === 1 ? t("1 change") : t("{n} changes", { n: r.transfers })) +
        (r.crowding === null || r.crowding === undefined || !advice.slots.length ? "" : " · " +
          t("{percent} % full leaving at {time}", { percent: Math.round(r.crowding * 100), time: advice.slots[0].label }));
      button.addEventListener("click", function () { route = r.route; ask(); });
      li.appendChild(button);
      return li;
    }));
  }

  function describe(advice) {
    var card = pick("advice-card"), rec = advice.recommended, legs = advice.legs || [];
    card.classList.toggle("holdout", !rec);
    pick("advice-headline").textContent = rec ? t("Leave at {time}", { time: rec.label }) : t("No recommendation this time");
    pick("advice-reason").textContent = rec ? t("{reason}.", { reason: rec.reason.charAt(0).toUpperCase() + rec.reason.slice(1) }) : advice.message;
    var first = legs[0], last = legs[legs.length - 1];
    pick("advice-trip").textContent = first ? both(first.from_name_zh, first.from_name_en) + " → " +
      both(last.to_name_zh, last.to_name_en) : (advice.origin_name || advice.origin);
    var changes = legs.slice(1).map(function (l) { return both(l.from_name_zh, l.from_name_en); });
    pick("advice-changes").textContent = advice.transfers === 0 ? t("none, one line all the way") :
      t("{changes} at {stations}", { changes: advice.transfers === 1 ? t("1 change") : t("{n} changes", { n: advice.transfers }),
        stations: changes.join(t(", ")) });
    pick("advice-travel").textContent = t("{n} min", { n: advice.travel_minutes });
    pick("advice-arrival").textContent = rec ? localTime(rec.arrival) : "—";
    offerCalendar(rec, pick("advice-trip").textContent);
    pick("save-trip").textContent = t("Save this trip");
    var lead = advice.slots[0];
    pick("journey-heading").textContent = lead ? t("Your journey, leaving at {time}", { time: lead.label }) : t("Your journey");
    var list = pick("legs");
    list.replaceChildren.apply(list, legs.map(describeLeg));
    // Crowding now outlines the sections of these legs (static/live.js).
    document.dispatchEvent(new CustomEvent("urbanpulse:trip", { detail: legs.map(function (l) {
      return { line_id: l.line_id, from_site_id: l.from_site_id, to_site_id: l.to_site_id };
    }) }));
    describeRoutes(advice);
    var rows = pick("slot-rows");
    rows.replaceChildren.apply(rows, advice.slots.map(function (s) {
      var tr = el("tr"), known = s.crowding !== null && s.crowding !== undefined;
      if (s.recommended) { tr.className = "recommended"; }
      [s.label, known ? Math.round(s.crowding * 100) + " %" : t("no forecast"),
       known ? Math.round(s.crowding_p10 * 100) + "–" + Math.round(s.crowding_p90 * 100) + " %" : "—", s.reason]
        .forEach(function (text, i) {
          tr.appendChild(el("td", i === 1 ? "num" : (i === 2 ? "num wide-only" : ""), text));
        });
      return tr;
    }));
  }

  // Only a person's own request (the form submitted) is counted: it spreads later
  // requests and feeds the operator's measured effect. Opening the page or switching
  // between routes of the same trip only reads (GET, recorded: false).
  function ask(event) {
    var counted = Boolean(event);
    if (event) { event.preventDefault(); route = 0; }
    pick("advise").disabled = true;
    Promise.all([resolve("origin"), resolve("destination")]).then(function () {
      if (!pick("origin").value || !pick("destination").value) {
        throw new Error(t("Choose where you start and where you are going."));
      }
      var day = pick("day").value;
      var trip = {
        origin: pick("origin").value,
        destination: pick("destination").value,
        start: day + "T" + pick("start").value,
        end: day + "T" + pick("end").value,
        preferred: day + "T" + pick("preferred").value,
        arrive_by: pick("arrive-by").checked,
        route: route,
      };
      var rendered = takeFirstAnswer(trip, counted);
      var request = rendered
        ? Promise.resolve(new Response(JSON.stringify(rendered), { status: 200 }))
        : counted
        ? fetch(base + "/api/advice", {
          method: "POST",
          headers: { Accept: "application/json", "Content-Type": "application/json" },
          body: JSON.stringify(trip),
        })
        : fetch(base + "/api/advice?" + new URLSearchParams(trip).toString(), {
          headers: { Accept: "application/json" },
        });
      return request
        .then(function (response) {
          return response.json().then(function (body) { return { ok: response.ok, body: body }; });
        }, function () { throw new Error(t("The advice service could not be reached.")); })
        .then(function (answer) {
          if (!answer.ok) { throw new Error(answer.body.error ? answer.body.error.message : t("The advice service failed.")); }
          show(answer.body, null);
          keepInAddress(trip, answer.body);
          keepForOffline(answer.body);
          if (counted) { bringIntoView(pick("advice-headline")); }
        });
    }).catch(function (error) {
      var kept = navigator.onLine === false ? readKept() : null;
      if (kept) { show(kept.advice, kept.at); } else { showError(error.message); }
      if (counted) { bringIntoView(pick(kept ? "advice-headline" : "advice-error")); }
    }).finally(function () { pick("advise").disabled = false; });
  }

  // The answer the page came with (pages/commuter.py): the read the page would make
  // first, made while it was served (when its inputs were at hand; else the trip only). Taken once, for that very trip, and only while
  // fresh: a copy the worker kept for offline use is asked again (or shown as kept).
  var FIRST_ANSWER_FRESH_MS = 5 * 60 * 1000;
  var firstAnswer = (function () {
    var node = pick("first-answer");
    try { return node ? JSON.parse(node.textContent) : null; } catch (ignored) { return null; }
  })();
  function takeFirstAnswer(trip, counted) {
    var found = firstAnswer;
    firstAnswer = null;
    if (!found || counted || Math.abs(Date.now() - found.made_at_ms) > FIRST_ANSWER_FRESH_MS) { return null; }
    return found.advice && JSON.stringify(found.trip) === JSON.stringify(trip) ? found.advice : null;
  }

  function show(advice, keptAt) {
    pick("advice-error").hidden = true;
    pick("result").hidden = false;
    var note = pick("offline-note");
    note.hidden = !keptAt;
    if (keptAt) {
      note.textContent = t("Offline: this is the answer kept at {time}; crowding may have changed since.",
        { time: new Date(keptAt).toLocaleString(document.documentElement.lang || undefined) });
    }
    describe(advice);
    draw(advice);
  }

  // The last answer, kept on this device so the installed app still shows it without a
  // network (marked as kept, with its time; never counted, never sent anywhere).
  var KEPT_ANSWER = "urbanpulse.lastAnswer";
  function keepForOffline(advice) {
    try { localStorage.setItem(KEPT_ANSWER, JSON.stringify({ at: Date.now(), advice: advice })); } catch (ignored) { /* storage full or off */ }
  }
  function readKept() {
    try { return JSON.parse(localStorage.getItem(KEPT_ANSWER) || "null"); } catch (ignored) { return null; }
  }

  // The answer (or what went wrong) is where the eyes and the keyboard go next: on a
  // phone it renders below the form, out of sight.
  // Installable and usable offline: the worker keeps the page and its files.
  if ("serviceWorker" in navigator && location.protocol !== "file:") {
    navigator.serviceWorker.register(base + "/sw.js", { scope: base + "/" }).catch(function () { /* optional */ });
  }

  function bringIntoView(node) {
    node.setAttribute("tabindex", "-1");
    node.scrollIntoView({ block: "start", behavior: "smooth" });
    node.focus({ preventScroll: true });
  }

  // The trip lives in the address, so it can be bookmarked, shared and reloaded;
  // opening such an address shows the advice again (a read, not counted).
  var ADDRESS_FIELDS = ["origin", "destination", "start", "end", "preferred"];
  function keepInAddress(trip, advice) {
    var params = new URLSearchParams({ day: trip.start.slice(0, 10) });
    ADDRESS_FIELDS.forEach(function (name) {
      var value = trip[name];
      params.set(name, name === "origin" || name === "destination" ? value : value.slice(11, 16));
    });
    if (trip.arrive_by) { params.set("arrive_by", "1"); }
    if (trip.route) { params.set("route", String(trip.route)); }
    history.replaceState(null, "", location.pathname + "?" + params.toString());
    var legs = advice.legs || [], first = legs[0], last = legs[legs.length - 1];
    var names = {
      origin: (first && both(first.from_name_zh, first.from_name_en)) || advice.origin_name,
      destination: (last && both(last.to_name_zh, last.to_name_en)) || advice.destination_name,
    };
    Object.keys(names).forEach(function (field) {
      if (pick(field + "-search").value === pick(field).value && names[field]) {
        pick(field + "-search").value = names[field];  // an id from the address: its name
      }
    });
  }

  function readAddress() {
    var params = new URLSearchParams(location.search);
    if (!params.get("origin") || !params.get("destination")) { return; }
    ["origin", "destination"].forEach(function (field) {
      pick(field).value = params.get(field);
      pick(field + "-search").value = params.get(field);
    });
    [["day", "day"], ["start", "start"], ["end", "end"], ["preferred", "preferred"]].forEach(function (pair) {
      if (params.get(pair[0])) { pick(pair[1]).value = params.get(pair[0]); }
    });
    pick("arrive-by").checked = params.get("arrive_by") === "1";
    route = parseInt(params.get("route") || "0", 10) || 0;
  }

  // "My trips": trips saved on this device (their addresses and names), a tap away.
  var SAVED_TRIPS = "urbanpulse.myTrips", MOST_TRIPS = 8;
  function readTrips() {
    try { return JSON.parse(localStorage.getItem(SAVED_TRIPS) || "[]"); } catch (ignored) { return []; }
  }
  function writeTrips(trips) {
    try { localStorage.setItem(SAVED_TRIPS, JSON.stringify(trips.slice(0, MOST_TRIPS))); } catch (ignored) { /* storage off */ }
    listTrips();
  }
  function saveTrip() {
    var label = pick("advice-trip").textContent, address = location.search;
    writeTrips([{ label: label, address: address }].concat(readTrips().filter(function (trip) {
      return trip.label !== label;
    })));
    pick("save-trip").textContent = t("Saved");
  }
  function listTrips() {
    var trips = readTrips(), list = pick("my-trips-list");
    pick("my-trips").hidden = !trips.length;
    list.replaceChildren.apply(list, trips.map(function (trip, index) {
      var li = el("li"), link = el("a", null, trip.label), remove = el("button", "remove-trip", t("Remove"));
      link.href = location.pathname + trip.address;
      remove.type = "button";
      remove.setAttribute("aria-label", t("Remove {trip}", { trip: trip.label }));
      remove.addEventListener("click", function () {
        writeTrips(readTrips().filter(function (_, k) { return k !== index; }));
      });
      li.append(link, " ", remove);
      return li;
    }));
  }

  function toggleArriveBy() {
    var arrive = pick("arrive-by").checked;
    document.querySelectorAll(".time-label").forEach(function (label) {
      label.textContent = label.getAttribute(arrive ? "data-arrive" : "data-depart");
    });
  }

  // ---- Wiring ----
  combobox("origin");
  combobox("destination");
  pick("arrive-by").addEventListener("change", toggleArriveBy);
  readAddress();  // a bookmarked or shared trip: shown by the first read below
  toggleArriveBy();
  form.addEventListener("submit", ask);
  pick("save-trip").addEventListener("click", saveTrip);
  listTrips();
  charts.draw(mapDiv, figure.data, figure.layout, { config: { scrollZoom: false } }).then(function () {
      markChosen();
      mapDiv.on("plotly_click", function (event) {
        var point = event.points[0], cd = point && point.customdata;
        if (!Array.isArray(cd)) { return; }
        var target = document.querySelector("input[name=map-target]:checked").value;
        choose(target, { site_id: cd[0], label: both(cd[1], cd[2]) || cd[0] });
        if (target === "origin") { document.querySelector("input[name=map-target][value=destination]").checked = true; }
      });
    });
  if (pick("origin").value && pick("destination").value) { ask(); }
})();
