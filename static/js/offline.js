/* What waits on this phone, and the one sender that sends it (issue 14).
   - The queue is in IndexedDB (idb-keyval, static/vendor), one entry per item, photos as
     blobs; each user's entries, drafts and choices are kept under that user's id.
   - One sender across tabs (Web Locks). It asks the server who is signed in and for a fresh
     CSRF token first, so items wait while signed out and go once the same user signs in.
   - Retries: on `online`, page show, Background Sync (the worker wakes the page), and a
     timer with backoff (5 s doubling to 5 min). Only a 4xx that says the item itself is
     wrong stops it; CSRF failures, 401/403 with the session gone, 408 and 429 keep it.
   - Registers the service worker, tells it who is signed in and which pages to keep;
     sign-out warns when items wait; forms marked data-offline-start start with no signal.
   Used by capture.js through window.WalkaboutQueue. */
(function () {
  "use strict";
  var kv = window.idbKeyval, body = document.body;
  var user = body.getAttribute("data-user") || "";
  var memory = new Map(), refused = false, failures = 0, timer = null;
  var MAX_DELAY = 300000;

  /* Other tabs hear what this one sent or changed, so each shows the same queue. */
  var tabs = window.BroadcastChannel ? new BroadcastChannel("walkabout-queue") : null;
  function local(name, detail) { document.dispatchEvent(new CustomEvent("walkabout:" + name, { detail: detail })); }
  function fire(name, detail) {
    local(name, detail);
    if (tabs && name !== "storage-refused") { tabs.postMessage({ name: name, detail: detail }); }
  }
  if (tabs) { tabs.onmessage = function (e) { local(e.data.name, e.data.detail); }; }

  /* Storage refused (private browsing) or full: keep in this page's memory and say so. */
  function refuse() { if (!refused) { refused = true; fire("storage-refused"); } }
  var ready = new Promise(function (resolve) { resolve(kv.set("probe", 1)); })
    .then(function () { return true; }, function () { refuse(); return false; });
  function get(k) { return ready.then(function () { return refused ? memory.get(k) : kv.get(k); }); }
  function set(k, v) {
    memory.set(k, v);
    return ready.then(function () { return refused ? null : kv.set(k, v).catch(refuse); });
  }
  function del(k) { memory.delete(k); return ready.then(function () { return refused ? null : kv.del(k).catch(refuse); }); }
  function keysWith(prefix) {
    return ready.then(function () { return refused ? Array.from(memory.keys()) : kv.keys(); })
      .then(function (ks) { return ks.filter(function (k) { return typeof k === "string" && k.indexOf(prefix) === 0; }); });
  }
  function qkey(key) { return "q:" + user + ":" + key; }

  function items(forUser) {
    var prefix = "q:" + (forUser || user) + ":";
    return keysWith(prefix).then(function (ks) { return Promise.all(ks.map(get)); })
      .then(function (list) { return list.filter(Boolean).sort(function (a, b) { return a.at < b.at ? -1 : 1; }); });
  }
  function add(entry) {
    entry.user = user;
    entry.at = entry.at || new Date().toISOString();
    entry.state = "pending";
    return set(qkey(entry.key), entry).then(function () {
      fire("changed", entry);
      flush();
      if (navigator.serviceWorker) {  // Background Sync, where the browser has it, wakes the sender
        navigator.serviceWorker.ready.then(function (reg) { return reg.sync && reg.sync.register("walkabout-send"); })
          .catch(function () { /* not offered: the timer and `online` remain */ });
      }
      return entry;
    });
  }
  function update(entry) { return set(qkey(entry.key), entry).then(function () { fire("changed", entry); }); }
  function remove(key) { return del(qkey(key)); }

  /* localStorage held the queue and drafts before (photos as data URLs): move them, drop nothing. */
  function blobOf(url) {
    var parts = url.split(","), bytes = atob(parts[1]), arr = new Uint8Array(bytes.length);
    for (var i = 0; i < bytes.length; i++) { arr[i] = bytes.charCodeAt(i); }
    return new Blob([arr], { type: parts[0].split(":")[1].split(";")[0] });
  }
  function migrate() {
    var moved = [];
    try {
      Object.keys(localStorage).forEach(function (name) {
        var value = JSON.parse(localStorage.getItem(name));
        if (name === "walkabout:queue:" + user) {
          value.forEach(function (e) {
            e.kind = "item"; e.user = user; e.photo = e.photo ? blobOf(e.photo) : null;
            moved.push(set(qkey(e.key), e));
          });
        } else if (name.indexOf("walkabout:draft:" + user + ":") === 0) {
          moved.push(set("d:" + user + ":" + name.split(":")[3], value));
        } else { return; }
        moved.push(ready.then(function (ok) { if (ok) { localStorage.removeItem(name); } }));
      });
    } catch (e) { /* localStorage refused: nothing to move */ }
    return Promise.all(moved);
  }

  /* --- the sender --------------------------------------------------------- */
  function request(url, options, ms) {
    var abort = new AbortController(), t = setTimeout(function () { abort.abort(); }, ms);
    options.signal = abort.signal;
    options.credentials = "same-origin";
    options.redirect = "manual";
    return fetch(url, options).then(function (r) { clearTimeout(t); return r; },
                                    function (e) { clearTimeout(t); throw e; });
  }

  /* {user, csrf, pages} while signed in; null when signed out; throws with no network. */
  function session() {
    return request("/offline/session", { headers: { Accept: "application/json" }, cache: "no-store" }, 10000)
      .then(function (r) { return r.ok ? r.json() : null; });
  }

  function post(entry, csrf) {
    var data = new FormData();
    Object.keys(entry.fields).forEach(function (n) { if (entry.fields[n]) { data.append(n, entry.fields[n]); } });
    data.append("idempotency_key", entry.key);
    data.append("csrf_token", csrf);
    if (entry.photo) { data.append("photo", entry.photo, entry.photoName || "photo.jpg"); }
    return request(entry.url, { method: "POST", body: data, headers: { "HX-Request": "true", "X-CSRFToken": csrf } },
                   entry.photo ? 60000 : 20000)
      .then(function (r) {
        if (r.type === "opaqueredirect") { return { auth: true }; }
        return r.text().then(function (t) {
          return { ok: r.ok, status: r.status, html: t, csrf: r.headers.get("X-CSRF-Failed") === "1" };
        });
      }, function () { return { network: true }; });
  }

  /* Whether an answer may change on its own (network, server, throttling, session): keep the item. */
  function notFinal(res) {
    return res.network || res.auth || res.csrf || res.status >= 500 || res.status === 408 || res.status === 429;
  }

  function messageOf(html) {
    var doc = new DOMParser().parseFromString(html || "", "text/html");
    var parts = Array.prototype.map.call(doc.querySelectorAll(".error-summary, .error, .flash-error, main p"),
                                         function (e) { return e.textContent.trim(); });
    return parts.filter(Boolean).join(" ") || "The server refused this item.";
  }

  function later() {
    failures += 1;
    schedule(Math.min(MAX_DELAY, 5000 * Math.pow(2, failures - 1)));
  }
  function schedule(ms) { clearTimeout(timer); timer = setTimeout(flush, ms); }

  function waitFor(list, how) {
    return Promise.all(list.map(function (e) { e.signedOut = how === "auth"; return update(e); })).then(later);
  }

  function sendAll() {
    return items().then(function (list) {
      list = list.filter(function (e) { return e.state !== "failed"; });
      if (!list.length) { failures = 0; return null; }
      return session().then(function (s) {
        if (!s) { return waitFor(list, "auth"); }
        if (String(s.user) !== user) { return null; }  // someone else is signed in: these are not theirs
        return sendEach(list, s.csrf);
      }, function () { return waitFor(list, "network"); });
    });
  }

  function sendEach(list, csrf) {
    var e = list.shift();
    if (!e) { failures = 0; return null; }
    return get(qkey(e.key)).then(function (still) {
      if (!still) { return sendEach(list, csrf); }  // another tab sent it
      return post(e, csrf).then(function (res) {
        if (res.ok) {
          return remove(e.key).then(function () { fire("sent", { entry: e, html: res.html }); return sendEach(list, csrf); });
        }
        if (res.status === 401 || res.status === 403) {
          return session().then(function (s) { return s ? fail(e, res, list, csrf) : waitFor([e].concat(list), "auth"); },
                                function () { return waitFor([e].concat(list), "network"); });
        }
        if (notFinal(res)) { return waitFor([e].concat(list), res.auth || res.csrf ? "auth" : "later"); }
        return fail(e, res, list, csrf);
      });
    });
  }

  function fail(e, res, list, csrf) {
    e.state = "failed";
    e.error = messageOf(res.html);
    return update(e).then(function () { return sendEach(list, csrf); });
  }

  function flush() {
    if (!user) { return Promise.resolve(); }
    clearTimeout(timer);
    if (!navigator.locks) { return sendAll(); }
    return navigator.locks.request("walkabout-sender", { ifAvailable: true }, function (lock) {
      if (!lock) { schedule(2000); return null; }  // another run (this tab or another) is sending: look again soon
      return sendAll();
    });
  }

  /* --- the service worker --------------------------------------------------- */
  function worker() {
    if (!("serviceWorker" in navigator)) { return; }
    navigator.serviceWorker.register("/sw.js").catch(function () { /* not installable here (http) */ });
    navigator.serviceWorker.addEventListener("message", function (e) {
      if (e.data && e.data.flush) { flush(); }
      if (e.data && e.data.kept) { body.setAttribute("data-offline-ready", "1"); }
    });
    navigator.serviceWorker.ready.then(function (reg) {
      if (!user) {  // signed out: no pages kept (the offline page knows nobody, so it leaves them)
        if (!document.getElementById("offline-waiting")) { reg.active.postMessage({ user: "" }); }
        return;
      }
      session().then(function (s) {
        if (s && String(s.user) === user) { reg.active.postMessage({ user: user, keep: s.pages }); }
      }, function () { /* no network: keep what is kept */ });
    });
  }

  function forgetPages() {
    if (navigator.serviceWorker && navigator.serviceWorker.controller) {
      navigator.serviceWorker.controller.postMessage({ user: "" });
    }
    return window.caches ? caches.delete("walkabout-pages-" + user).catch(function () {}) : Promise.resolve();
  }

  /* --- sign-out: warn when items wait, and drop this user's kept pages ------- */
  function signOut(form) {
    items().then(function (list) {
      var waiting = list.filter(function (e) { return e.state !== "failed"; }).length;
      if (!waiting) { forgetPages().then(function () { form.submit(); }); return; }
      var d = document.createElement("dialog"), p = document.createElement("p"), h = document.createElement("h2");
      d.className = "app-card signout-warning";
      d.setAttribute("aria-labelledby", "signout-warning-title");
      h.id = "signout-warning-title";
      h.textContent = "Items are waiting on this phone";
      d.append(h);
      p.textContent = waiting + (waiting === 1 ? " item waits" : " items wait") + " on this phone, not sent yet. " +
        "Send them before you sign out; if you sign out now they stay on this phone for you alone and are sent when you sign in again.";
      var send = document.createElement("button"), leave = document.createElement("button");
      send.className = "nhsuk-button"; send.type = "button"; send.textContent = "Send them first";
      leave.className = "nhsuk-button nhsuk-button--secondary"; leave.type = "button"; leave.textContent = "Sign out anyway";
      d.append(p, send, leave);
      body.append(d);
      d.showModal();
      send.addEventListener("click", function () {
        p.textContent = "Sending…";
        flush().then(items).then(function (left) {
          if (!left.filter(function (e) { return e.state !== "failed"; }).length) { return forgetPages().then(function () { form.submit(); }); }
          p.textContent = "Not sent: no network or the server did not answer. They still wait on this phone.";
          return null;
        });
      });
      leave.addEventListener("click", function () { forgetPages().then(function () { form.submit(); }); });
    });
  }

  /* --- starting with no signal ----------------------------------------------- */
  function newKey() { return crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random(); }

  function start(form) {
    var started = new Date().toISOString(), go = form.getAttribute("data-capture-url");
    var data = new FormData(form);  // online, the server's clock is the start; queued, the phone's
    request(form.action, { method: "POST", body: data, headers: { "HX-Request": "true" } }, 5000)
      .then(function (r) { return r.status === 204 ? "ok" : notFinal({ status: r.status, auth: r.type === "opaqueredirect",
                                                                          csrf: r.headers.get("X-CSRF-Failed") === "1" }) ? "queue" : "refused"; },
            function () { return "queue"; })
      .then(function (how) {
        if (how === "refused") { form.submit(); return null; }  // the server's own page says why
        if (how === "ok") { location.href = go; return null; }
        return add({ kind: "start", key: newKey(), wid: form.getAttribute("data-offline-start"), url: form.action,
                     fields: { started_at: started }, title: form.getAttribute("data-title") || "" })
          .then(function () { location.href = go; });
      });
  }

  /* --- the offline page -------------------------------------------------------- */
  function offlinePage(box) {
    get("user").then(function (who) { return who ? items(who) : []; }).then(function (list) {
      var n = list.filter(function (e) { return e.kind === "item"; }).length;
      box.querySelector("[data-waiting-count]").textContent =
        n === 0 ? "Nothing waits on this phone." : n + (n === 1 ? " item waits" : " items wait") + " on this phone.";
      var seen = {}, links = box.querySelector("[data-waiting-links]");
      list.forEach(function (e) {
        if (seen[e.wid]) { return; }
        seen[e.wid] = true;
        var li = document.createElement("li"), a = document.createElement("a");
        a.href = "/walkabouts/" + encodeURIComponent(e.wid) + "/capture";
        a.textContent = e.title || "Walkabout " + e.wid;
        li.append(a);
        links.append(li);
      });
    });
  }

  window.WalkaboutQueue = {
    user: user, ready: ready, items: items, add: add, update: update, remove: remove, flush: flush,
    get: get, set: set, del: del, newKey: newKey, notFinal: notFinal, messageOf: messageOf,
    migrated: user ? migrate().then(function () { return set("user", user); }) : Promise.resolve()
  };

  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (form.matches("form[action$='/logout']") && user) { e.preventDefault(); signOut(form); }
    else if (form.hasAttribute("data-offline-start")) { e.preventDefault(); start(form); }
  });
  window.addEventListener("online", function () { failures = 0; flush(); });
  window.addEventListener("pageshow", function () { flush(); });
  document.addEventListener("visibilitychange", function () { if (!document.hidden) { flush(); } });
  // After the page is usable: the worker, its precache and the kept pages cost the page nothing.
  if (document.readyState === "complete") { worker(); } else { window.addEventListener("load", worker); }
  var box = document.getElementById("offline-waiting");
  if (box) { offlinePage(box); }
  if (user) { window.WalkaboutQueue.migrated.then(flush); }
  else if (!box) { set("user", ""); }
})();
