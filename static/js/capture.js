/* Walkabout capture screen: nothing typed is lost, and a scored concern takes few taps.
   - the form is kept as a draft on this phone and restored after a reload;
   - every submission carries an idempotency key, so a retry creates one record;
   - without network (or signed out) a submission waits in the phone's queue
     (offline.js, IndexedDB) and is sent when it can be; each item shows "Waiting to
     send" with its category, risk and photo until the server confirms it;
   - the details panel stays open once opened, the last category and role are kept,
     and the risk score shows large as you tap.
   Without JavaScript the form posts normally. */
(function () {
  "use strict";
  var FIELDS = ["kind", "text", "category_id", "likelihood", "consequence", "raised_by_role",
                "immediate_action", "ward_can_fix"];
  var KEPT = ["category_id", "raised_by_role"];  // remembered from one item to the next
  var SHRINK_OVER = 400 * 1024;  // larger photos are reduced before being kept on the phone
  var Q = window.WalkaboutQueue, list, wid, busy = false, prefs = {}, startWaits = false;

  function $(sel, root) { return (root || document).querySelector(sel); }
  var rulesCache = null;  /* risk bands and photo limits from walkabout/rules.py, on the photo field */
  function rules() {
    var el = rulesCache ? null : $("[data-capture-rules]");
    if (el) { rulesCache = JSON.parse(el.getAttribute("data-capture-rules")); }
    return rulesCache;
  }
  function formEl() { return document.getElementById("capture-form"); }
  function draftName() { return "d:" + Q.user + ":" + wid; }
  function prefsName() { return "p:" + Q.user; }

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
      data[name] = el.type === "checkbox" ? (el.checked ? "y" : "") : el.value || "";  // RadioNodeList.value: the checked one
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
    return !FIELDS.some(function (n) { return n !== "kind" && KEPT.indexOf(n) < 0 && data[n]; });
  }

  function setStatus(form, text, ok) {
    var el = $("[data-form-status]", form);
    if (!el) { return; }
    el.hidden = !text;
    el.textContent = text || "";
    el.classList.toggle("is-ok", !!ok);
  }

  function kept() {
    var data = {};
    KEPT.forEach(function (n) { data[n] = prefs[n] || ""; });
    return data;
  }

  function clearForm(form) {
    var fields = readFields(form);
    KEPT.forEach(function (n) { prefs[n] = fields[n]; });
    Q.set(prefsName(), prefs);
    writeFields(form, kept());
    if (form.elements.photo) { form.elements.photo.value = ""; }
    Array.prototype.forEach.call(form.querySelectorAll(".error, .error-summary"), function (e) { e.remove(); });
    Array.prototype.forEach.call(form.querySelectorAll(".has-error"), function (e) { e.classList.remove("has-error"); });
    form.elements.idempotency_key.value = Q.newKey();
    photoNote(form, "");
    Q.del(draftName());
  }

  /* --- live risk score ---------------------------------------------------- */
  function band(score) { return rules().bands.filter(function (b) { return score <= b[0]; })[0][1]; }

  function showScore(form) {
    var out = $("[data-score-result]", form);
    var good = form.elements.kind && form.elements.kind.value === "good_practice";
    form.classList.toggle("is-good-practice", !!good);
    if (!out || !form.elements.likelihood || !rules()) { return; }
    var l = +form.elements.likelihood.value, c = +form.elements.consequence.value;
    out.textContent = "";
    if (!l || !c) { out.textContent = "Risk score: choose both to see it"; return; }
    var b = el("b", "risk risk-" + band(l * c), l * c + " " + band(l * c));
    out.append("Risk score ", b);
  }

  /* --- drafts ------------------------------------------------------------- */
  function saveDraft(form) {
    var data = readFields(form);
    if (isEmpty(data)) { Q.del(draftName()); return; }
    data.key = form.elements.idempotency_key.value;
    Q.set(draftName(), data);
  }

  function restore(form) {
    return Promise.all([Q.get(draftName()), Q.get(prefsName())]).then(function (got) {
      var draft = got[0];
      prefs = got[1] || {};
      var more = $("details.more", form);
      if (more && prefs.open) { more.open = true; }
      if (!isEmpty(readFields(form))) { return; }
      writeFields(form, draft || kept());
      if (draft && draft.key) { form.elements.idempotency_key.value = draft.key; }
      if (draft) { setStatus(form, "Draft restored from this phone: not sent yet."); }
    });
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

  function categoryName(id) {
    var input = id && $("#capture-form input[name=category_id][value='" + CSS.escape(id) + "']");
    return input ? input.parentNode.textContent.trim() : "";
  }

  function showPending(entry) {
    if (entry.kind === "start") { return; }
    var li = document.getElementById("pending-" + entry.key) || el("li", "list-item concern is-pending");
    var f = entry.fields, good = f.kind === "good_practice", failed = entry.state === "failed";
    li.id = "pending-" + entry.key;
    li.textContent = "";
    var top = el("div", "concern-top");
    top.append(el("span", "tag tag-" + (good ? "good_practice" : "concern"), good ? "Good practice" : "Concern"));
    if (!good && f.likelihood && f.consequence) {
      var score = f.likelihood * f.consequence;
      top.append(el("span", "risk risk-" + band(score), score + " " + band(score)));
    }
    top.append(el("span", "sync " + (failed ? "is-failed" : "is-pending"),
                  failed ? "Not saved" : entry.signedOut ? "Waiting: sign in again to send" : "Waiting to send"));
    li.append(top, el("p", "what", f.text));
    var meta = [categoryName(f.category_id), f.raised_by_role && "raised by " + f.raised_by_role].filter(Boolean);
    if (meta.length) { li.append(el("p", "meta", meta.join(" · "))); }
    if (entry.photo) {
      var img = el("img");
      img.src = URL.createObjectURL(entry.photo);
      img.alt = "Photo of this item, waiting to send";
      img.width = img.height = 96;
      var thumbs = el("div", "thumbs");
      thumbs.append(img);
      li.append(thumbs, el("p", "meta", "Photo kept on this phone, waiting to send."));
    }
    li.classList.toggle("is-failed", failed);
    li.classList.toggle("is-pending", !failed);
    if (failed) {
      li.append(el("p", "error", entry.error || "The server refused this item."));
      var again = el("button", "nhsuk-button nhsuk-button--secondary nhsuk-button--small",
                     formEl() ? "Put back in the form" : "Dismiss");
      again.type = "button";
      again.setAttribute("data-put-back", entry.key);
      li.append(again);
    }
    if (!li.parentNode) { list.prepend(li); }
    recount();
  }

  /* --- sending ------------------------------------------------------------ */
  function send(url, key, fields, photo) {
    var body = new FormData();
    Object.keys(fields).forEach(function (n) { if (fields[n]) { body.append(n, fields[n]); } });
    body.append("idempotency_key", key);
    body.append("csrf_token", csrfToken());
    if (photo) { body.append("photo", photo, photo.name || "photo.jpg"); }
    var abort = new AbortController(), timer = setTimeout(function () { abort.abort(); }, photo ? 60000 : 20000);
    return fetch(url, {
      method: "POST", body: body, credentials: "same-origin", redirect: "manual",
      headers: { "HX-Request": "true", "X-CSRFToken": csrfToken() }, signal: abort.signal
    }).then(function (r) {
      clearTimeout(timer);
      if (r.type === "opaqueredirect") { return { auth: true }; }
      return r.text().then(function (t) {
        return { ok: r.ok, status: r.status, html: t, csrf: r.headers.get("X-CSRF-Failed") === "1" };
      });
    }, function () { clearTimeout(timer); return { network: true }; });
  }

  /* A photo to keep in the queue, as a blob: reduced when large (a camera photo is several MB). */
  function keepPhoto(file) {
    if (!file || file.size <= SHRINK_OVER) { return Promise.resolve(file || null); }
    return createImageBitmap(file).then(function (bitmap) {
      var scale = Math.min(1, rules().photoMaxSide / Math.max(bitmap.width, bitmap.height));
      var canvas = el("canvas");
      canvas.width = Math.round(bitmap.width * scale);
      canvas.height = Math.round(bitmap.height * scale);
      canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
      return new Promise(function (resolve) { canvas.toBlob(resolve, "image/jpeg", 0.82); });
    }).catch(function () { return file; });
  }

  function enqueue(form, key, fields, file, reason) {
    return keepPhoto(file).then(function (photo) {
      return Q.add({ kind: "item", key: key, wid: wid, url: form.action, fields: fields, photo: photo,
                     photoName: file ? file.name : null, title: $(".capture-head h1").textContent,
                     signedOut: !!reason && reason.indexOf("signed out") > 0 });
    }).then(function (entry) {
      showPending(entry);
      clearForm(form);
      setStatus(form, reason || "No network: kept on this phone. It will be sent when the network is back.");
    });
  }

  function submit(form) {
    var fields = readFields(form), key = form.elements.idempotency_key.value || Q.newKey();
    var file = form.elements.photo && form.elements.photo.files[0];
    form.elements.idempotency_key.value = key;
    if (file && file.size > rules().maxPhotoBytes) { setStatus(form, rules().photoTooLarge); return; }
    var button = $("button[type=submit]", form);
    busy = true;
    button.disabled = true;
    setStatus(form, "Sending…");
    var sent = startWaits ? Promise.resolve({ network: true }) : send(form.action, key, fields, file);
    sent.then(function (res) {
      if (res.ok) {
        showSaved(res.html);
        clearForm(form);
        setStatus(form, "Saved.", true);
        return null;
      }
      if (Q.notFinal(res) || res.status === 401 || res.status === 403) {
        return enqueue(form, key, fields, file, res.auth || res.csrf || res.status === 401 || res.status === 403
          ? "You have been signed out: kept on this phone. Sign in again and it will be sent."
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
      setStatus(form, "Not saved: " + Q.messageOf(res.html));
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
    var form = formEl();
    Q.items().then(function (entries) {
      var entry = entries.filter(function (e) { return e.key === key; })[0];
      if (!entry) { return null; }
      return Q.remove(key).then(function () {
        var li = document.getElementById("pending-" + key);
        if (li) { li.remove(); }
        recount();
        if (!form) { return; }
        writeFields(form, entry.fields);
        form.elements.idempotency_key.value = Q.newKey();
        saveDraft(form);
        setStatus(form, entry.error ? "Put back: " + entry.error : "");
        form.elements.text.focus();
      });
    });
  }

  /* Started on this phone with no signal: the form works at once; the start waits to be sent. */
  function startedHere(form) {
    startWaits = true;
    var notice = $("[data-start-notice]");
    if (notice) { notice.hidden = true; }
    form.hidden = false;
    var status = $(".capture-head .status");
    if (status) { status.textContent = "in progress"; status.after(" (started on this phone, waiting to send)"); }
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
    if (!list || !Q) { return; }
    wid = list.getAttribute("data-walkabout");
    if (form) {
      if (!form.elements.idempotency_key.value) { form.elements.idempotency_key.value = Q.newKey(); }
      Q.migrated.then(function () { restore(form); });
      var more = $("details.more", form);
      if (more) {
        more.addEventListener("toggle", function () { prefs.open = more.open; Q.set(prefsName(), prefs); });
      }
    }
    document.addEventListener("input", function (e) {
      var f = e.target.form;
      if (!f || f.id !== "capture-form") { return; }
      saveDraft(f);
      if ($("[data-form-status].is-ok", f)) { setStatus(f, ""); }
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
      if (li) { li.append(el("p", "error", Q.messageOf(e.detail.xhr.responseText))); }
    });
    Q.ready.then(function (ok) {
      if (!ok && form) { setStatus(form, "This phone will not keep items offline (storage is full or refused, as in private browsing). Items are still sent while there is network."); }
    });
    document.addEventListener("walkabout:changed", function (e) {
      if (e.detail.wid === wid && e.detail.user === Q.user) { showPending(e.detail); }
    });
    document.addEventListener("walkabout:sent", function (e) {
      var entry = e.detail.entry;
      if (entry.wid !== wid || entry.user !== Q.user) { return; }
      if (entry.kind === "start") { startWaits = false; return; }
      showSaved(e.detail.html, entry.key);
    });
    Q.migrated.then(Q.items).then(function (entries) {
      entries.forEach(function (e) {
        if (e.wid !== wid) { return; }
        if (e.kind === "start" && e.state !== "failed" && form) { startedHere(form); }
        showPending(e);
      });
    });
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); }
  else { init(); }
})();
