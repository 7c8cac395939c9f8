/* Walkabout capture screen: nothing typed is lost.
   - the form is kept as a draft on this phone (localStorage) and restored after a reload;
   - every submission carries an idempotency key, so a retry creates one record;
   - without network a submission waits in a queue on this phone and is sent when
     the network returns (or on the next load); each item shows "Waiting to send"
     until the server confirms it, then "Saved".
   No libraries. Without JavaScript the form posts normally. */
(function () {
  "use strict";
  var FIELDS = ["kind", "text", "category_id", "likelihood", "consequence", "raised_by_role",
                "immediate_action", "ward_can_fix"];
  var SHRINK_OVER = 400 * 1024;      // larger photos are reduced before being kept on the phone
  var KEEP_RAW_UNDER = 1500 * 1024;  // a photo that cannot be reduced is kept only if this small
  var list, wid, user, flushing = false, busy = false, memoryPhotos = {};

  function $(sel, root) { return (root || document).querySelector(sel); }
  /* Risk bands and photo limits come from the server (walkabout/rules.py), on the photo field. */
  var rulesCache = null;
  function rules() {
    var el = rulesCache ? null : document.querySelector("[data-capture-rules]");
    if (el) { rulesCache = JSON.parse(el.getAttribute("data-capture-rules")); }
    return rulesCache;
  }
  function formEl() { return document.getElementById("capture-form"); }
  function queueName() { return "walkabout:queue:" + user; }
  function draftName() { return "walkabout:draft:" + user + ":" + wid; }
  var memory = {}, inMemoryOnly = {};  // used when the phone refuses localStorage
  function read(name, fallback) {
    if (inMemoryOnly[name]) { return memory[name] || fallback; }
    try { var v = localStorage.getItem(name); return v ? JSON.parse(v) : fallback; } catch (e) { return memory[name] || fallback; }
  }
  function write(name, value) {
    memory[name] = value;
    try { localStorage.setItem(name, JSON.stringify(value)); inMemoryOnly[name] = false; return true; } catch (e) {
      inMemoryOnly[name] = true;
      return false;
    }
  }
  function forget(name) {
    delete memory[name];
    try { localStorage.removeItem(name); } catch (e) { /* storage off */ }
  }

  function newKey() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function csrfToken() {
    try { return JSON.parse(document.body.getAttribute("data-hx-headers"))["X-CSRFToken"]; } catch (e) {
      var input = $("input[name=csrf_token]");
      return input ? input.value : "";
    }
  }

  /* --- form values -------------------------------------------------------- */
  function readFields(form) {
    var data = {};
    FIELDS.forEach(function (name) {
      var el = form.elements[name];
      if (!el) { return; }
      if (el.type === "checkbox") { data[name] = el.checked ? "y" : ""; }
      else { data[name] = el.value || ""; }  // RadioNodeList.value is the checked radio
    });
    return data;
  }

  function writeFields(form, data) {
    FIELDS.forEach(function (name) {
      var el = form.elements[name], value = data[name] || "";
      if (!el) { return; }
      if (el.type === "checkbox") { el.checked = value === "y"; }
      else if (el.length !== undefined && !el.options) {  // radio group
        Array.prototype.forEach.call(el, function (r) { r.checked = r.value === value; });
      } else { el.value = value; }
    });
    if (!data.kind && form.elements.kind && form.elements.kind[0]) { form.elements.kind[0].checked = true; }
    showScore(form);
  }

  function isEmpty(data) {
    return !FIELDS.some(function (n) { return n !== "kind" && data[n]; });
  }

  function setStatus(form, text, ok) {
    var el = $("[data-form-status]", form);
    if (!el) { return; }
    el.hidden = !text;
    el.textContent = text || "";
    el.classList.toggle("is-ok", !!ok);
  }

  function clearForm(form) {
    writeFields(form, {});
    if (form.elements.photo) { form.elements.photo.value = ""; }
    Array.prototype.forEach.call(form.querySelectorAll(".error, .error-summary"), function (e) { e.remove(); });
    Array.prototype.forEach.call(form.querySelectorAll(".has-error"), function (e) { e.classList.remove("has-error"); });
    form.elements.idempotency_key.value = newKey();
    photoNote(form, "");
    var more = $("details.more", form);
    if (more) { more.open = false; }
    forget(draftName());
  }

  /* --- live risk score ---------------------------------------------------- */
  function showScore(form) {
    var out = $("[data-score-result]", form);
    var good = form.elements.kind && form.elements.kind.value === "good_practice";
    form.classList.toggle("is-good-practice", !!good);
    if (!out || !form.elements.likelihood || !rules()) { return; }
    var l = +form.elements.likelihood.value, c = +form.elements.consequence.value;
    out.textContent = "";
    if (!l || !c) { out.textContent = "Risk score: choose both to see it"; return; }
    var score = l * c, band = rules().bands.filter(function (b) { return score <= b[0]; })[0][1];
    var b = document.createElement("b");
    b.className = "risk risk-" + band;
    b.textContent = score + " " + band;
    out.append("Risk score ", b);
  }

  /* --- drafts ------------------------------------------------------------- */
  function saveDraft(form) {
    var data = readFields(form);
    if (isEmpty(data)) { forget(draftName()); return; }
    data.key = form.elements.idempotency_key.value;
    write(draftName(), data);
  }

  function restoreDraft(form) {
    var draft = read(draftName(), null);
    if (!draft || !isEmpty(readFields(form))) { return; }
    writeFields(form, draft);
    if (draft.key) { form.elements.idempotency_key.value = draft.key; }
    setStatus(form, "Draft restored from this phone: not sent yet.");
  }

  /* --- list of items ------------------------------------------------------ */
  function recount() {
    var n = list.querySelectorAll("li.concern:not(.is-deleted)").length;
    var count = $("[data-count]"), empty = $("[data-empty]");
    if (count) { count.textContent = n; }
    if (empty) { empty.hidden = n > 0; }
  }

  function fragment(html) {
    var t = document.createElement("template");
    t.innerHTML = html.trim();
    return t.content.firstElementChild;
  }

  function showSaved(html, pendingKey) {
    var li = fragment(html), old = li && li.id && document.getElementById(li.id);
    var pending = pendingKey && document.getElementById("pending-" + pendingKey);
    if (!li) { return; }
    if (old) { old.replaceWith(li); if (pending) { pending.remove(); } }
    else if (pending) { pending.replaceWith(li); }
    else { list.prepend(li); }
    if (window.htmx) { window.htmx.process(li); }
    recount();
  }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text) { e.textContent = text; }
    return e;
  }

  function showPending(entry) {
    var li = document.getElementById("pending-" + entry.key) || el("li", "list-item concern is-pending");
    li.id = "pending-" + entry.key;
    li.textContent = "";
    var top = el("div", "concern-top");
    var good = entry.fields.kind === "good_practice";
    top.append(el("span", "tag tag-" + (good ? "good_practice" : "concern"), good ? "Good practice" : "Concern"));
    var failed = entry.state === "failed";
    top.append(el("span", "sync " + (failed ? "is-failed" : "is-pending"),
                  failed ? "Not saved" : (entry.signedOut ? "Waiting: sign in again to send" : "Waiting to send")));
    li.append(top, el("p", "what", entry.fields.text));
    if (entry.photoNote) { li.append(el("p", "meta", entry.photoNote)); }
    li.classList.toggle("is-failed", failed);
    li.classList.toggle("is-pending", !failed);
    if (failed) {
      li.append(el("p", "error", entry.error || "The server refused this item."));
      var again = el("button", "button small", formEl() ? "Put back in the form" : "Dismiss");
      again.type = "button";
      again.setAttribute("data-put-back", entry.key);
      li.append(again);
    }
    if (!li.parentNode) { list.prepend(li); }
    recount();
  }

  /* --- sending ------------------------------------------------------------ */
  function send(url, key, fields, photo, photoName) {
    var body = new FormData();
    Object.keys(fields).forEach(function (n) { if (fields[n]) { body.append(n, fields[n]); } });
    body.append("idempotency_key", key);
    body.append("csrf_token", csrfToken());
    if (photo) { body.append("photo", photo, photoName || "photo.jpg"); }
    var abort = window.AbortController ? new AbortController() : null;
    var timer = abort && setTimeout(function () { abort.abort(); }, photo ? 60000 : 20000);
    return fetch(url, {
      method: "POST", body: body, credentials: "same-origin", redirect: "manual",
      headers: { "HX-Request": "true", "X-CSRFToken": csrfToken() }, signal: abort && abort.signal
    }).then(function (r) {
      clearTimeout(timer);
      if (r.type === "opaqueredirect") { return { signedOut: true }; }
      return r.text().then(function (t) { return { ok: r.ok, status: r.status, html: t }; });
    }, function () { clearTimeout(timer); return { network: true }; });
  }

  function retryLater(res) { return res.network || res.signedOut || res.status >= 500; }

  function messageOf(html) {
    var doc = new DOMParser().parseFromString(html || "", "text/html");
    var parts = Array.prototype.map.call(doc.querySelectorAll(".error-summary, .error, .flash-error"),
                                         function (e) { return e.textContent.trim(); });
    return parts.filter(Boolean).join(" ") || "The server refused this item.";
  }

  function dataUrl(blob) {
    return new Promise(function (resolve, reject) {
      var reader = new FileReader();
      reader.onload = function () { resolve(reader.result); };
      reader.onerror = reject;
      reader.readAsDataURL(blob);
    });
  }

  function shrink(file) {
    return createImageBitmap(file).then(function (bitmap) {
      var scale = Math.min(1, rules().photoMaxSide / Math.max(bitmap.width, bitmap.height));
      var canvas = document.createElement("canvas");
      canvas.width = Math.round(bitmap.width * scale);
      canvas.height = Math.round(bitmap.height * scale);
      canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
      return canvas.toDataURL("image/jpeg", 0.82);
    });
  }

  /* A photo to keep in the queue: a data URL when small enough, else only in memory. */
  function keepPhoto(file) {
    if (!file) { return Promise.resolve(null); }
    var small = file.size <= SHRINK_OVER ? dataUrl(file) : shrink(file);
    return small.catch(function () {
      return file.size <= KEEP_RAW_UNDER ? dataUrl(file) : null;
    });
  }

  function dataUrlToBlob(url) {
    var parts = url.split(","), bytes = atob(parts[1]), arr = new Uint8Array(bytes.length);
    for (var i = 0; i < bytes.length; i++) { arr[i] = bytes.charCodeAt(i); }
    return new Blob([arr], { type: parts[0].split(":")[1].split(";")[0] });
  }

  function saveQueue(queue) {
    if (write(queueName(), queue)) { return; }
    queue.forEach(function (e) {  // storage full: keep photos in memory only, and say so
      if (e.photo) {
        memoryPhotos[e.key] = dataUrlToBlob(e.photo);
        e.photo = null;
        e.photoNote = "Photo needs network: keep this page open until it is sent.";
        showPending(e);
      }
    });
    write(queueName(), queue);
  }

  function enqueue(form, url, key, fields, file, reason) {
    return keepPhoto(file).then(function (photo) {
      var entry = { key: key, wid: wid, url: url, fields: fields, photo: photo, state: "pending",
                    photoName: file ? file.name : null, at: new Date().toISOString(),
                    signedOut: !!(reason && reason.indexOf("signed out") > 0) };
      if (file) {
        entry.photoNote = photo ? "Photo kept on this phone, waiting to send."
                                : "Photo needs network: keep this page open until it is sent.";
        if (!photo) { memoryPhotos[key] = file; }
      }
      var queue = read(queueName(), []);
      queue.push(entry);
      saveQueue(queue);
      showPending(entry);
      clearForm(form);
      setStatus(form, reason || "No network: kept on this phone. It will be sent when the network is back.");
    });
  }

  function flush() {
    if (flushing) { return; }
    var queue = read(queueName(), []).filter(function (e) { return e.state !== "failed"; });
    if (!queue.length) { return; }
    flushing = true;
    (function next(i) {
      if (i >= queue.length) { flushing = false; return; }
      var e = queue[i];
      var photo = e.photo ? dataUrlToBlob(e.photo) : memoryPhotos[e.key] || null;
      send(e.url, e.key, e.fields, photo, e.photoName).then(function (res) {
        var stored = read(queueName(), []);
        var mine = stored.filter(function (x) { return x.key === e.key; })[0];
        if (res.ok) {
          saveQueue(stored.filter(function (x) { return x.key !== e.key; }));
          delete memoryPhotos[e.key];
          if (e.wid === wid) { showSaved(res.html, e.key); }
          next(i + 1);
          return;
        }
        if (mine) {
          mine.signedOut = !!res.signedOut;
          if (!retryLater(res)) { mine.state = "failed"; mine.error = messageOf(res.html); }
          saveQueue(stored);
          if (e.wid === wid) { showPending(mine); }
        }
        if (retryLater(res)) { flushing = false; } else { next(i + 1); }
      });
    })(0);
  }

  function submit(form) {
    var fields = readFields(form), key = form.elements.idempotency_key.value || newKey();
    var file = form.elements.photo && form.elements.photo.files[0];
    form.elements.idempotency_key.value = key;
    if (file && file.size > rules().maxPhotoBytes) {
      setStatus(form, rules().photoTooLarge);
      return;
    }
    var button = $("button[type=submit]", form);
    busy = true;
    button.disabled = true;
    setStatus(form, "Sending…");
    send(form.action, key, fields, file, file && file.name).then(function (res) {
      if (res.ok) {
        showSaved(res.html);
        clearForm(form);
        setStatus(form, "Saved.", true);
        return null;
      }
      if (retryLater(res)) {
        return enqueue(form, form.action, key, fields, file, res.signedOut
          ? "You have been signed out: kept on this phone. Sign in again (in a new tab) and it will be sent."
          : res.status ? "The server could not save it just now: kept on this phone, it will be retried." : null);
      }
      var replacement = fragment(res.html);
      if (replacement && replacement.id === "capture-form") {
        form.replaceWith(replacement);
        showScore(replacement);
        setStatus(replacement, file && !replacement.querySelector(".has-error input[type=file]")
                  ? "Not saved yet. Attach the photo again after fixing this." : "");
        var first = replacement.querySelector(".error-summary, .error");
        if (first) { first.scrollIntoView({ block: "center" }); if (first.classList.contains("error-summary")) { first.focus(); } }
        return null;
      }
      setStatus(form, "Not saved: " + messageOf(res.html));
      return null;
    }).then(function () {
      busy = false;
      button.disabled = false;
    });
  }

  function photoNote(form, text) {
    var note = $("[data-photo-note]", form);
    if (note) { note.hidden = !text; note.textContent = text; }
  }

  function putBack(key) {
    var form = formEl(), queue = read(queueName(), []);
    var entry = queue.filter(function (e) { return e.key === key; })[0];
    if (!entry) { return; }
    if (!form) {
      saveQueue(queue.filter(function (e) { return e.key !== key; }));
      document.getElementById("pending-" + key).remove();
      recount();
      return;
    }
    writeFields(form, entry.fields);
    form.elements.idempotency_key.value = newKey();
    saveQueue(queue.filter(function (e) { return e.key !== key; }));
    var li = document.getElementById("pending-" + key);
    if (li) { li.remove(); }
    recount();
    saveDraft(form);
    setStatus(form, entry.error ? "Put back: " + entry.error : "");
    form.elements.text.focus();
  }

  /* --- wiring ------------------------------------------------------------- */
  function init() {
    document.addEventListener("change", function (e) {
      var form = e.target.form;
      if (form && /^(likelihood|consequence|kind)$/.test(e.target.name)) { showScore(form); }
      if (form && e.target.name === "photo" && e.target.files[0]) {
        var big = e.target.files[0].size > rules().maxPhotoBytes;
        photoNote(form, big ? rules().photoTooLarge
                  : navigator.onLine ? "" : "No network: the photo will be kept on this phone, reduced, and sent later.");
      }
    });
    Array.prototype.forEach.call(document.querySelectorAll("form"), showScore);
    list = document.getElementById("concern-list");
    var form = formEl();
    if (!list) { return; }
    wid = list.getAttribute("data-walkabout");
    user = list.getAttribute("data-user");
    if (form) {
      if (!form.elements.idempotency_key.value) { form.elements.idempotency_key.value = newKey(); }
      restoreDraft(form);
    }
    document.addEventListener("input", function (e) {
      var form = e.target.form;
      if (!form || form.id !== "capture-form") { return; }
      saveDraft(form);
      var status = $("[data-form-status].is-ok", form);
      if (status) { setStatus(form, ""); }
    });
    document.addEventListener("change", function (e) {
      if (e.target.form && e.target.form.id === "capture-form") { saveDraft(e.target.form); }
    });
    document.addEventListener("submit", function (e) {
      if (e.target.id !== "capture-form") { return; }
      e.preventDefault();
      if (!busy) { submit(e.target); }
    });
    document.addEventListener("click", function (e) {
      var key = e.target.getAttribute && e.target.getAttribute("data-put-back");
      if (key) { putBack(key); }
    });
    document.addEventListener("htmx:afterSwap", recount);
    document.addEventListener("htmx:responseError", function (e) {
      var li = e.detail.elt.closest("li");
      if (li) { li.append(el("p", "error", messageOf(e.detail.xhr.responseText))); }
    });
    read(queueName(), []).forEach(function (e) { if (e.wid === wid) { showPending(e); } });
    window.addEventListener("online", flush);
    document.addEventListener("visibilitychange", function () { if (!document.hidden) { flush(); } });
    setInterval(flush, 20000);
    flush();
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); }
  else { init(); }
})();
