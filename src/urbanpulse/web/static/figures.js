// Draws every figure a page embeds as JSON next to its chart div (see _figure.html).
(function () {
  "use strict";
  var config = { responsive: true, displaylogo: false };
  document.querySelectorAll("script[data-figure-for]").forEach(function (node) {
    var target = document.getElementById(node.getAttribute("data-figure-for"));
    var figure = JSON.parse(node.textContent);
    Plotly.newPlot(target, figure.data, figure.layout, config).then(function () {
      target.setAttribute("data-rendered", "true");
    });
    // Map points carry their page's path: a click (or tap) opens it.
    target.on("plotly_click", function (event) {
      var url = event.points[0] && event.points[0].customdata;
      if (typeof url === "string" && url.charAt(0) === "/") {
        window.location.href = url;
      }
    });
  });
  // Changing a chart option reloads the page with it; the button stays for no-JS use.
  document.querySelectorAll("form.controls select").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });
})();
