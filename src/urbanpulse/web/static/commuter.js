// The commuter page: fills the trip pickers, asks /api/advice and draws the answer.
(function () {
  "use strict";
  var base = document.currentScript.getAttribute("data-base") || "";
  var lines = JSON.parse(document.getElementById("lines-data").textContent);
  var trip = JSON.parse(document.getElementById("default-trip").textContent);
  var form = document.getElementById("trip-form");
  var pick = function (id) { return document.getElementById(id); };
  var GREEN = "#1a7f37", GREY = "#9fb3c8", PREFERRED = "#5a6470";

  function option(value, label, selected) {
    var node = document.createElement("option");
    node.value = value;
    node.textContent = label;
    node.selected = !!selected;
    return node;
  }

  function fill(select, items, chosen) {
    select.replaceChildren.apply(select, items.map(function (item) {
      return option(item[0], item[1], item[0] === chosen);
    }));
  }

  function cityLabel(line) {
    return [line.city_name_zh, line.city_name_en].filter(Boolean).join(" ") || line.city_code || "Other";
  }

  function fillCities(chosen) {
    var seen = {}, items = [];
    lines.forEach(function (line) {
      var code = line.city_code || "";
      if (!seen[code]) { seen[code] = true; items.push([code, cityLabel(line)]); }
    });
    fill(pick("city"), items, chosen);
  }

  function fillLines(chosen) {
    var city = pick("city").value;
    var items = lines.filter(function (l) { return (l.city_code || "") === city; })
      .map(function (l) { return [l.line_id, [l.name_zh, l.name_en].filter(Boolean).join(" ")]; });
    fill(pick("line"), items, chosen || (items[0] && items[0][0]));
  }

  function fillStations(origin, destination) {
    var line = lines.find(function (l) { return l.line_id === pick("line").value; });
    var items = (line ? line.stations : []).map(function (s) {
      return [s.site_id, s.sequence + ". " + [s.name_en, s.name_zh].filter(Boolean).join(" ")];
    });
    var n = items.length;
    fill(pick("origin"), items, origin || (items[Math.floor(n / 4)] || [])[0]);
    fill(pick("destination"), items, destination || (items[Math.floor(3 * n / 4)] || [])[0]);
  }

  function localTime(iso) { return iso.slice(11, 16); }

  function showError(message) {
    pick("result").hidden = true;
    var box = pick("advice-error");
    box.textContent = message;
    box.hidden = false;
  }

  function draw(advice) {
    var slots = advice.slots.slice().sort(function (a, b) {
      return a.departure < b.departure ? -1 : 1;
    });
    var colours = slots.map(function (s) {
      return s.recommended ? GREEN : (s.shift_minutes === 0 ? PREFERRED : GREY);
    });
    var bars = {
      type: "bar",
      x: slots.map(function (s) { return s.label; }),
      y: slots.map(function (s) { return s.crowding * 100; }),
      marker: { color: colours },
      error_y: {
        type: "data", symmetric: false, color: "#1b1f24", thickness: 1.2, width: 3,
        array: slots.map(function (s) { return (s.crowding_p90 - s.crowding) * 100; }),
        arrayminus: slots.map(function (s) { return (s.crowding - s.crowding_p10) * 100; }),
      },
      customdata: slots.map(function (s) { return [s.crowding_p10 * 100, s.crowding_p90 * 100, s.reason]; }),
      hovertemplate: "Leave %{x}: %{y:.0f} % full<br>80 % interval %{customdata[0]:.0f}–%{customdata[1]:.0f} %<br>%{customdata[2]}<extra></extra>",
      name: "crowding",
    };
    var top = Math.max(105, Math.max.apply(null, slots.map(function (s) { return s.crowding_p90 * 100; })) + 10);
    var layout = {
      margin: { l: 48, r: 8, t: 24, b: 56 },
      height: 340,
      showlegend: false,
      xaxis: { type: "category", title: { text: "departure (local time)" }, tickangle: -45 },
      yaxis: { title: { text: "% of capacity" }, range: [0, top], ticksuffix: " %" },
      shapes: [{ type: "line", xref: "paper", x0: 0, x1: 1, y0: 100, y1: 100,
                 line: { dash: "dot", color: "#c62828", width: 1.5 } }],
      annotations: [{ xref: "paper", x: 1, y: 100, xanchor: "right", yanchor: "bottom",
                      text: "full", showarrow: false, font: { color: "#c62828", size: 11 } }],
    };
    var rec = advice.recommended;
    if (rec) {
      layout.annotations.push({ x: rec.label, y: rec.crowding_p90 * 100, yanchor: "bottom",
        text: "leave " + rec.label, showarrow: true, arrowhead: 2, ay: -28,
        font: { color: GREEN, size: 12 } });
    }
    var target = pick("advice-chart");
    target.removeAttribute("data-rendered");
    Plotly.react(target, [bars], layout, { responsive: true, displaylogo: false }).then(function () {
      target.setAttribute("data-rendered", "true");
      target.setAttribute("data-recommended", rec ? rec.label : "");
    });
  }

  function describe(advice) {
    var card = pick("advice-card"), rec = advice.recommended;
    card.classList.toggle("holdout", !rec);
    pick("advice-headline").textContent = rec ? "Leave at " + rec.label : "No recommendation this time";
    pick("advice-reason").textContent = rec ? rec.reason.charAt(0).toUpperCase() + rec.reason.slice(1) + "." : advice.message;
    pick("advice-trip").textContent = (advice.origin_name || advice.origin) +
      (advice.destination ? " → " + (advice.destination_name || advice.destination) : "");
    pick("advice-travel").textContent = advice.travel_minutes + " min";
    pick("advice-arrival").textContent = rec ? localTime(rec.arrival) : "—";
    var rows = pick("slot-rows");
    rows.replaceChildren.apply(rows, advice.slots.map(function (s) {
      var tr = document.createElement("tr");
      if (s.recommended) { tr.className = "recommended"; }
      [s.label, Math.round(s.crowding * 100) + " %",
       Math.round(s.crowding_p10 * 100) + "–" + Math.round(s.crowding_p90 * 100) + " %", s.reason]
        .forEach(function (text, i) {
          var td = document.createElement("td");
          td.textContent = text;
          if (i === 1) { td.className = "num"; }
          if (i === 2) { td.className = "num wide-only"; }
          tr.appendChild(td);
        });
      return tr;
    }));
  }

  function ask(event) {
    if (event) { event.preventDefault(); }
    var day = pick("day").value;
    var params = new URLSearchParams({
      origin: pick("origin").value,
      destination: pick("destination").value,
      start: day + "T" + pick("start").value,
      end: day + "T" + pick("end").value,
      preferred: day + "T" + pick("preferred").value,
    });
    pick("advise").disabled = true;
    fetch(base + "/api/advice?" + params.toString(), { headers: { Accept: "application/json" } })
      .then(function (response) {
        return response.json().then(function (body) { return { ok: response.ok, body: body }; });
      })
      .then(function (answer) {
        if (!answer.ok) { showError(answer.body.error ? answer.body.error.message : "The advice service failed."); return; }
        pick("advice-error").hidden = true;
        pick("result").hidden = false;
        describe(answer.body);
        draw(answer.body);
      })
      .catch(function () { showError("The advice service could not be reached."); })
      .finally(function () { pick("advise").disabled = false; });
  }

  fillCities(trip.city);
  fillLines(trip.line);
  fillStations(trip.origin, trip.destination);
  pick("city").addEventListener("change", function () { fillLines(); fillStations(); });
  pick("line").addEventListener("change", function () { fillStations(); });
  form.addEventListener("submit", ask);
  ask();
})();
