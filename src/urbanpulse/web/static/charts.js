// Charts on every page: one offline configuration, plotly.js loaded without holding
// up the page, and charts that keep filling their box through resizes and rotations.
//
// Pages load plotly.js with <script async id="plotly-js"> and their own scripts with
// defer, so text (the commuter's advice, tables) shows before the chart code arrives;
// UrbanPulseCharts.draw waits for it.
(function () {
  "use strict";
  // Nothing here may reach another host: no "edit in Chart Studio" / send-to-cloud
  // button, no cloud URL to send to, no Plotly logo linking to plotly.com.
  var CONFIG = {
    responsive: true,
    displaylogo: false,
    showSendToCloud: false,
    plotlyServerURL: "",
    modeBarButtonsToRemove: ["sendDataToCloud", "sendChartToCloud", "editInChartStudio"],
  };
  var t = window.t || function (text) { return text; };  // base.html defines t()
  var sizes = [];  // charts whose height follows their width: [target, heightFor]
  var observer = null;

  function ready() {
    if (window.Plotly) { return Promise.resolve(window.Plotly); }
    var script = document.getElementById("plotly-js");
    if (!script) { return Promise.reject(new Error(t("This page has no chart script."))); }
    return new Promise(function (resolve, reject) {
      script.addEventListener("load", function () { resolve(window.Plotly); });
      script.addEventListener("error", function () {
        reject(new Error(t("The chart script could not be loaded; the figures are in the tables.")));
      });
    });
  }

  // The box is given the chart's height: plotly's own resize takes the box's size, and
  // a box without one collapses to its 300 px minimum after the first resize.
  function fit(target, layout, heightFor) {
    var height = heightFor ? heightFor(target.clientWidth || window.innerWidth) : layout.height;
    if (height) {
      layout.height = height;
      target.style.height = height + "px";
    }
    return layout;
  }

  function follow(target, heightFor) {
    var known = sizes.filter(function (entry) { return entry[0] === target; })[0];
    if (known) { known[1] = heightFor; return; }
    sizes.push([target, heightFor]);
    target.setAttribute("data-width", String(target.clientWidth));
    if (!observer && window.ResizeObserver) {
      observer = new ResizeObserver(function () { window.requestAnimationFrame(resizeAll); });
    }
    if (observer) { observer.observe(target); }
  }

  function resizeAll() {
    sizes.forEach(function (entry) {
      var target = entry[0], width = target.clientWidth;
      if (!width || String(width) === target.getAttribute("data-width") || !target._fullLayout) { return; }
      target.setAttribute("data-width", String(width));
      var height = entry[1](width);
      target.style.height = height + "px";
      // Plots.resize takes the box's new size (a layout with both width and height set
      // would be left alone by plotly's own resize on the next window resize).
      window.Plotly.Plots.resize(target);
    });
  }

  // Draw (or redraw) a chart. options.heightFor(width) sets a height that follows the
  // box's width, for a map with a fixed aspect ratio; otherwise layout.height holds.
  // options.config adds to the configuration (scrollZoom, say), never the links above.
  function draw(target, traces, layout, options) {
    var heightFor = options && options.heightFor;
    var config = Object.assign({}, (options && options.config) || {}, CONFIG);
    fit(target, layout, heightFor);
    target.removeAttribute("data-rendered");
    return ready().then(function (Plotly) {
      return Plotly.react(target, traces, layout, config);
    }).then(function () {
      if (heightFor) { follow(target, heightFor); }
      // A box resized while it was drawn (the monitor's map is redrawn as the page
      // crosses 600 px, while the resize of that same change runs) can be left at the
      // size it had when the drawing began: catch up now, or it keeps it.
      if (target._fullLayout && Math.abs(target._fullLayout.width - target.clientWidth) > 2) {
        if (heightFor) { target.removeAttribute("data-width"); resizeAll(); }
        else { window.Plotly.Plots.resize(target); }
      }
      target.setAttribute("data-rendered", "true");
      return target;
    });
  }

  // Height of a map of the 13 cities with equal distances on both axes: the region is
  // about as tall as it is wide, so the plot area is square, plus the margins; never
  // taller than the window (a phone on its side), never below ``min``.
  function mapHeight(margins, min, max) {
    return function (width) {
      var side = width - margins.l - margins.r;
      var tallest = Math.max(min, Math.min(max, Math.round(window.innerHeight * 0.9)));
      return Math.round(Math.max(min, Math.min(tallest, side + margins.t + margins.b)));
    };
  }

  window.UrbanPulseCharts = { config: CONFIG, ready: ready, draw: draw, mapHeight: mapHeight };
})();
