// The commuter app's service worker: pages network first and their last copy when the
// network is gone, versioned files from the kept copy (they never change), so the
// installed app opens offline and shows the last answer it kept (commuter.js). The API
// is never cached here: an answer read offline is the page's own saved copy, marked as
// such, never a stale response passed off as new.
"use strict";

var CACHE = "urbanpulse-pages-v1";

self.addEventListener("install", function () { self.skipWaiting(); });
self.addEventListener("activate", function (event) { event.waitUntil(self.clients.claim()); });

self.addEventListener("fetch", function (event) {
  var request = event.request, url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin || url.pathname.indexOf("/api/") === 0) {
    return;
  }
  if (url.pathname.indexOf("/static/v/") >= 0) {
    event.respondWith(keptOrFetched(request));
    return;
  }
  event.respondWith(fetchAndKeep(request).catch(function () {
    return caches.match(request).then(function (hit) {
      return hit || caches.match(request, { ignoreSearch: true });
    }).then(function (kept) { return kept ? withoutFirstAnswer(kept) : Response.error(); });
  }));
});

// A versioned file (/static/v/<content hash>/...) never changes under its address: the
// kept copy is the file, so it is served at once, and a new release has new addresses.
function keptOrFetched(request) {
  return caches.match(request).then(function (hit) { return hit || fetchAndKeep(request); });
}

// The network's answer, a copy of it kept when it is a good one.
function fetchAndKeep(request) {
  return fetch(request).then(function (response) {
    if (response.ok) {
      var copy = response.clone();
      caches.open(CACHE).then(function (cache) { cache.put(request, copy); });
    }
    return response;
  });
}

// A page comes with the answer to its first question (the commuter page's
// #first-answer, made as it was served). A kept copy must not pass that answer off as
// new: it is taken out, and the page shows its own kept answer, marked as kept.
var FIRST_ANSWER = /<script type="application\/json" id="first-answer">[\s\S]*?<\/script>/;
function withoutFirstAnswer(response) {
  if ((response.headers.get("content-type") || "").indexOf("text/html") !== 0) { return response; }
  return response.text().then(function (html) {
    return new Response(html.replace(FIRST_ANSWER, ""), {
      status: response.status, statusText: response.statusText, headers: response.headers,
    });
  });
}
