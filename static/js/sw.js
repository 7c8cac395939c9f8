/* Walkabout's service worker (served at /sw.js by walkabout/routes/offline.py, which fills in
   the version and the files to keep). Hand-written rather than Workbox: the rules are few
   and specific (pages kept per user, only those the server marks, dropped at sign-out or
   when a walkabout is completed), and it needs no bundler.
   - static files: kept at install, answered from the cache (a new version replaces them);
   - pages: network first; the kept copy after 3 s without an answer or with no network;
     a page not kept opens the offline page, which lists what waits on this phone.
   The queue of items lives in IndexedDB (static/js/offline.js), never here, so an update
   of the worker cannot lose one. */
"use strict";
var VERSION = "__VERSION__";
var PRECACHE = "__PRECACHE__";
var OFFLINE_URL = "__OFFLINE_URL__";
var STATIC = "walkabout-static-" + VERSION;
var PAGES = "walkabout-pages-";  // + user id
var META = "walkabout-meta";
var TIMEOUT_MS = 3000;

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(STATIC).then(function (cache) {
    return cache.addAll(PRECACHE.map(function (url) { return new Request(url, { cache: "reload" }); }));
  }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (n) { return n.indexOf("walkabout-static-") === 0 && n !== STATIC; })
      .map(function (n) { return caches.delete(n); }));
  }).then(function () { return self.clients.claim(); }));
});

function currentUser() {
  return caches.open(META).then(function (c) { return c.match("/__user"); })
    .then(function (r) { return r ? r.text() : ""; });
}

/* Remember who uses the phone now; drop every other user's pages (none when signed out). */
function setUser(user) {
  user = user ? String(user) : "";
  return caches.open(META).then(function (c) { return c.put("/__user", new Response(user)); })
    .then(function () { return caches.keys(); })
    .then(function (names) {
      return Promise.all(names.filter(function (n) { return n.indexOf(PAGES) === 0 && n !== PAGES + user; })
        .map(function (n) { return caches.delete(n); }));
    });
}

/* The walkabout of a page the phone may keep (its capture, read-back or own page), or null. */
function walkaboutOf(url) {
  var m = /^\/walkabouts\/(\d+)(\/capture|\/readback)?$/.exec(new URL(url).pathname);
  return m ? m[1] : null;
}

/* A page the server did not mark (completed, not on the team any more) is dropped with its walkabout's others. */
function forget(user, url) {
  var wid = walkaboutOf(url);
  return caches.open(PAGES + user).then(function (cache) {
    return cache.keys().then(function (requests) {
      return Promise.all(requests.filter(function (r) {
        return r.url === url || (wid && walkaboutOf(r.url) === wid);
      }).map(function (r) { return cache.delete(r); }));
    });
  });
}

function keep(response, url) {
  var owner = response.headers.get("X-Walkabout-Offline");
  if (owner) {
    var copy = response.clone();
    return currentUser().then(function (user) {
      return (user === owner ? Promise.resolve() : setUser(owner)).then(function () {
        return caches.open(PAGES + owner).then(function (c) { return c.put(url, copy); });
      });
    });
  }
  if (response.ok && !response.redirected && (walkaboutOf(url) || new URL(url).pathname === "/")) {
    return currentUser().then(function (user) { return user ? forget(user, url) : null; });
  }
  return Promise.resolve();
}

function kept(url) {
  return currentUser().then(function (user) {
    return user ? caches.open(PAGES + user).then(function (c) { return c.match(url, { ignoreSearch: false }); }) : null;
  });
}

function offlinePage() {
  return caches.open(STATIC).then(function (c) { return c.match(OFFLINE_URL); })
    .then(function (r) { return r || Response.error(); });
}

function networkFirst(event) {
  var url = event.request.url.split("#")[0];
  var network = fetch(event.request).then(function (response) {
    event.waitUntil(keep(response, url));
    return response;
  });
  var timeout = new Promise(function (resolve) {
    setTimeout(function () { kept(url).then(function (r) { if (r) { resolve(r); } }); }, TIMEOUT_MS);
  });
  var fallback = network.catch(function () {
    return kept(url).then(function (r) { return r || offlinePage(); });
  });
  return Promise.race([fallback, timeout]);
}

self.addEventListener("fetch", function (event) {
  var request = event.request, url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) { return; }
  if (request.mode === "navigate") { event.respondWith(networkFirst(event)); return; }
  if (url.pathname.indexOf("/static/") === 0) {
    event.respondWith(caches.open(STATIC).then(function (cache) {
      return cache.match(request, { ignoreVary: true }).then(function (hit) {
        return hit || fetch(request).then(function (response) {
          if (response.ok) { cache.put(request, response.clone()); }
          return response;
        });
      });
    }));
  }
});

/* Pages tell the worker who is signed in ({user}), which pages to keep ({keep: [urls]}). */
self.addEventListener("message", function (event) {
  var data = event.data || {};
  if ("user" in data) {
    event.waitUntil(setUser(data.user).then(function () {
      if (!data.user || !data.keep) { return null; }
      return Promise.all(data.keep.map(function (url) {
        return fetch(url, { credentials: "same-origin", redirect: "manual" })
          .then(function (r) { return keep(r, new URL(url, self.location.origin).href); }, function () { return null; });
      }));
    }).then(function () {
      if (event.source) { event.source.postMessage({ kept: true }); }
    }));
  }
});

/* Background Sync (where the browser has it) wakes an open page's sender. */
self.addEventListener("sync", function (event) {
  if (event.tag !== "walkabout-send") { return; }
  event.waitUntil(self.clients.matchAll({ type: "window" }).then(function (list) {
    list.forEach(function (c) { c.postMessage({ flush: true }); });
  }));
});
