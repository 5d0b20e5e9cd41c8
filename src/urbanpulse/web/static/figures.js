// Draws every figure a page embeds as JSON next to its chart div (see _figure.html).
(function () {
  "use strict";
  var charts = window.UrbanPulseCharts;
  document.querySelectorAll("script[data-figure-for]").forEach(function (node) {
    var target = document.getElementById(node.getAttribute("data-figure-for"));
    var figure = JSON.parse(node.textContent);
    var layout = figure.layout;
    // A map (equal scales on both axes) keeps its aspect: its height follows its width.
    var map = layout.yaxis && layout.yaxis.scaleanchor;
    var margin = layout.margin || { l: 80, r: 80, t: 100, b: 80 };  // plotly's defaults
    var options = map ? { heightFor: charts.mapHeight(margin, 320, layout.height || 600) } : {};
    charts.draw(target, figure.data, layout, options).then(function () {
      // Map points carry their page's path: a click (or tap) opens it.
      target.on("plotly_click", function (event) {
        var url = event.points[0] && event.points[0].customdata;
        if (typeof url === "string" && url.charAt(0) === "/") {
          window.location.href = url;
        }
      });
    });
  });
  // Changing a chart option reloads the page with it; the button stays for no-JS use.
  document.querySelectorAll("form.controls select").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });
})();
