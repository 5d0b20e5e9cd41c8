// The commuter app's service worker. The app's page opens from its kept copy while the
// server says that copy's defaults hold (the UrbanPulse-Kept-Until header), refreshed
// behind; other pages come from the network, their last copy when the network is gone;
// versioned files come from the kept copy (they never change). So the installed app
// opens at once, and offline shows the last answer it kept (commuter.js). The API is
// never cached here: the advice is always asked afresh, and an answer read offline is
// the page's own saved copy, marked as such, never a stale response passed off as new.
"use strict";

var PAGES = "urbanpulse-pages-v2";
var FILES = "urbanpulse-files-v2";
var KEPT_UNTIL = "UrbanPulse-Kept-Until";
// Pages the app opens from its kept copy: the commuter page, with or without a trip.
var APP_PAGE = /\/commute$/;

self.addEventListener("install", function (event) {
  // The page that installed the worker was fetched before it: keep a copy of it now,
  // so the next visit already opens from the worker.
  event.waitUntil(self.clients.matchAll({ type: "window", includeUncontrolled: true }).then(function (windows) {
    return Promise.all(windows.map(function (client) {
      return APP_PAGE.test(new URL(client.url).pathname) ? keepPage(new Request(client.url)) : null;
    }));
  }).catch(function () { /* a copy is kept on the next visit instead */ }));
  self.skipWaiting();
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.map(function (name) {
      return name === PAGES || name === FILES ? null : caches.delete(name);
    }));
  }).then(function () { return self.clients.claim(); }));
});

self.addEventListener("fetch", function (event) {
  var request = event.request, url = new URL(request.url);
  if (url.origin !== self.location.origin) { return; }
  if (request.method !== "GET" || url.pathname.indexOf("/api/") === 0) { return; }
  if (url.pathname.indexOf("/static/v/") >= 0) {
    event.respondWith(keptOrFetched(request));
    return;
  }
  if (url.searchParams.has("lang")) {
    // Another language: every kept page speaks the old one. They are dropped before the
    // page is asked, and again once it has answered (its answer sets the language), so a
    // page fetched in the old language meanwhile is not kept either.
    event.respondWith(dropPages().then(function () { return pageOrKept(request); }).then(function (response) {
      return dropPages().then(function () { return response; });
    }));
    return;
  }
  if (request.mode === "navigate" && APP_PAGE.test(url.pathname)) {
    event.respondWith(keptPage(request).then(function (kept) {
      if (!kept) { return pageOrKept(request); }
      event.waitUntil(keepPage(request).catch(function () { /* the kept copy stays */ }));
      return kept;
    }));
    return;
  }
  event.respondWith(pageOrKept(request));
});

// The network's page, its kept copy when the network fails.
function pageOrKept(request) {
  return keepPage(request).catch(function () {
    return caches.open(PAGES).then(function (cache) {
      return cache.match(request).then(function (hit) {
        return hit || cache.match(request, { ignoreSearch: true });
      });
    }).then(function (kept) { return kept || Response.error(); });
  });
}

// The kept copy of an app page while the server's UrbanPulse-Kept-Until holds, else null.
function keptPage(request) {
  return caches.open(PAGES).then(function (cache) { return cache.match(request); }).then(function (hit) {
    var until = hit ? Date.parse(hit.headers.get(KEPT_UNTIL) || "") : NaN;
    return until > Date.now() ? hit : null;
  });
}

// A versioned file (/static/v/<content hash>/...) never changes under its address: the
// kept copy is the file, so it is served at once, and a new release has new addresses.
function keptOrFetched(request) {
  return caches.open(FILES).then(function (cache) {
    return cache.match(request).then(function (hit) {
      return hit || fetch(request).then(function (response) {
        if (response.ok) { cache.put(request, response.clone()); }
        return response;
      });
    });
  });
}

// Counts the times the kept pages were dropped. A copy whose fetch began before the
// last drop (a refresh behind the page still under way when the language changed) may
// speak the old language: it is not kept.
var drops = 0;

// The network's page, a copy of it (without its first answer) kept when it is a good one.
function keepPage(request) {
  var dropsWhenAsked = drops;
  return fetch(request).then(function (response) {
    if (response.ok && !response.redirected) {
      var copy = withoutFirstAnswer(response.clone());
      caches.open(PAGES).then(function (cache) {
        return copy.then(function (kept) {
          return dropsWhenAsked === drops ? cache.put(request, kept) : null;
        });
      });
    }
    return response;
  });
}

function dropPages() {
  drops += 1;
  return caches.delete(PAGES).catch(function () { return false; });
}

// A page comes with the answer to its first question (the commuter page's
// #first-answer, made as it was served). A kept copy must not pass that answer off as
// new: it is taken out before the copy is kept, and the page asks afresh (or shows its
// own kept answer, marked as kept). In its place the kept copy asks for that very
// answer as the page is read (a preload of the read its script makes,
// static/commuter.js), so the request does not wait for the scripts.
var FIRST_ANSWER = /<script type="application\/json" id="first-answer">([\s\S]*?)<\/script>/;
function withoutFirstAnswer(response) {
  if ((response.headers.get("content-type") || "").indexOf("text/html") !== 0) { return Promise.resolve(response); }
  return response.text().then(function (html) {
    return new Response(html.replace(FIRST_ANSWER, askingAgain), {
      status: response.status, statusText: response.statusText, headers: response.headers,
    });
  });
}

function askingAgain(element, json) {
  var trip;
  try { trip = JSON.parse(json).trip; } catch (ignored) { return ""; }
  if (!trip) { return ""; }
  var base = self.registration.scope.replace(/\/$/, "");
  var address = base + "/api/advice?" + new URLSearchParams(trip).toString();
  return '<link rel="preload" as="fetch" crossorigin="anonymous" href="' + address.replace(/&/g, "&amp;").replace(/"/g, "&quot;") + '">';
}
