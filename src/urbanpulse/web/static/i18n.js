// The page scripts' words: t("...") looks them up in the catalogue base.html embeds as
// JSON (urbanpulse.i18n). A file, not an inline script: the pages' Content Security
// Policy allows scripts from this site only ("script-src 'self'").
(function () {
  "use strict";
  var node = document.getElementById("i18n-catalog");
  var words = node ? JSON.parse(node.textContent) : {};
  window.UP_LANG = document.documentElement.lang;
  window.t = function (text, params) {
    var out = Object.prototype.hasOwnProperty.call(words, text) ? words[text] : text;
    return !params ? out : out.replace(/\{(\w+)\}/g, function (m, k) {
      return Object.prototype.hasOwnProperty.call(params, k) ? String(params[k]) : m;
    });
  };
})();
