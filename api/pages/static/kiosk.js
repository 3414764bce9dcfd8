/* civicpulse kiosk: a tablet as a smiley terminal.
 *
 * Configure once: open  /kiosk?device=DEVICE_ID&lang=pl#key=DEVICE_KEY  (key from
 * `civicpulse devices add-key DEVICE_ID`). The key travels in the fragment so it never reaches a
 * server log; the page stores {device, key, lang} in localStorage ("civicpulse.kiosk") and
 * removes the fragment from the address. Later visits to /kiosk reuse the stored configuration.
 *
 * Each press is written to IndexedDB ("civicpulse-kiosk", store "presses") the moment a smiley is
 * touched; it becomes ready to send once the reason step ends (reason, skip, or 20 s idle).
 * Ready presses are posted in order to POST /v1/presses and deleted only after a 202; when
 * offline they wait and are flushed on the "online" event and every 10 s. A press the API
 * refuses as invalid (422) moves to the "rejected" store instead of blocking the queue.
 */
(function () {
  "use strict";
  // ?idle=SECONDS shortens the reason screen's idle reset (default 20 s).
  var idle = Number(new URLSearchParams(location.search).get("idle")) || 20;
  var REASON_TIMEOUT_MS = idle * 1000, THANKS_MS = 3000, FLUSH_EVERY_MS = 10000, BATCH = 100;
  var $ = function (id) { return document.getElementById(id); };

  function loadConfig() {
    var stored = {};
    try { stored = JSON.parse(localStorage.getItem("civicpulse.kiosk") || "{}"); } catch (e) { stored = {}; }
    var params = new URLSearchParams(location.search);
    var hash = new URLSearchParams(location.hash.slice(1));
    var config = {
      device: params.get("device") || stored.device,
      key: hash.get("key") || (params.get("device") && params.get("device") !== stored.device ? null : stored.key),
      lang: params.get("lang") || stored.lang || "pl"
    };
    if (config.lang !== "en") config.lang = "pl";
    localStorage.setItem("civicpulse.kiosk", JSON.stringify(config));
    if (location.hash) history.replaceState(null, "", location.pathname + location.search);
    return config;
  }
  var config = loadConfig();
  document.documentElement.lang = config.lang;

  function hex(bytes) {
    return Array.prototype.map.call(bytes, function (b) { return (b + 256).toString(16).slice(1); }).join("");
  }
  function uuid4() {
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
    var h = hex(b);
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  // --- IndexedDB queue -------------------------------------------------------------------
  var dbPromise = new Promise(function (resolve, reject) {
    var open = indexedDB.open("civicpulse-kiosk", 1);
    open.onupgradeneeded = function () {
      var db = open.result;
      var store = db.createObjectStore("presses", { keyPath: "seq", autoIncrement: true });
      store.createIndex("event_id", "event.event_id", { unique: true });
      db.createObjectStore("rejected", { keyPath: "event.event_id" });
    };
    open.onsuccess = function () { resolve(open.result); };
    open.onerror = function () { reject(open.error); };
  });
  function tx(stores, mode, work) {
    return dbPromise.then(function (db) {
      return new Promise(function (resolve, reject) {
        var t = db.transaction(stores, mode), result;
        t.oncomplete = function () { resolve(result); };
        t.onerror = t.onabort = function () { reject(t.error); };
        result = work(t);
      });
    });
  }
  function request(req) {
    return new Promise(function (resolve, reject) {
      req.onsuccess = function () { resolve(req.result); };
      req.onerror = function () { reject(req.error); };
    });
  }
  function enqueue(event) {
    var out = {};
    return tx(["presses"], "readwrite", function (t) {
      t.objectStore("presses").add({ event: event, ready: false, created: Date.now() }).onsuccess = function (e) { out.seq = e.target.result; };
      return out;
    }).then(function () { return out.seq; });
  }
  function markReady(seq, reason) {
    return tx(["presses"], "readwrite", function (t) {
      var store = t.objectStore("presses");
      store.get(seq).onsuccess = function (e) {
        var rec = e.target.result;
        if (!rec) return;
        if (reason) rec.event.reason = reason;
        rec.ready = true;
        store.put(rec);
      };
    });
  }
  function allQueued() {
    return tx(["presses"], "readonly", function (t) {
      var out = { items: [] };
      request(t.objectStore("presses").getAll()).then(function (v) { out.items = v; });
      return out;
    }).then(function (out) { return out.items; });
  }
  function removeSeqs(seqs, rejected) {
    return tx(["presses", "rejected"], "readwrite", function (t) {
      seqs.forEach(function (seq) { t.objectStore("presses").delete(seq); });
      (rejected || []).forEach(function (r) { t.objectStore("rejected").put(r); });
    });
  }

  // --- delivery ---------------------------------------------------------------------------
  var flushing = false;
  function flush() {
    if (flushing || !config.key) return Promise.resolve();
    flushing = true;
    return allQueued().then(function (items) {
      var stale = Date.now() - REASON_TIMEOUT_MS - 5000;
      var ready = items.filter(function (r) { return r.ready || r.created < stale; }).slice(0, BATCH);
      if (!ready.length) return false;
      return fetch("/v1/presses", {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-Device-Id": config.device, "X-Device-Key": config.key },
        body: JSON.stringify({ events: ready.map(function (r) { return r.event; }) })
      }).then(function (response) {
        if (response.status === 202) {
          return removeSeqs(ready.map(function (r) { return r.seq; })).then(function () { return ready.length === BATCH; });
        }
        if (response.status === 422) {
          return response.json().then(function (body) {
            var bad = {};
            (Array.isArray(body.detail) ? body.detail : []).forEach(function (d) { if (d.index !== null) bad[d.index] = (bad[d.index] || "") + d.field + ": " + d.message + "; "; });
            var seqs = [], rejected = [];
            Object.keys(bad).forEach(function (i) { seqs.push(ready[i].seq); rejected.push({ event: ready[i].event, error: bad[i] }); });
            return removeSeqs(seqs, rejected).then(function () { return seqs.length > 0; });
          });
        }
        setStatus("HTTP " + response.status);
        return false;
      });
    }).catch(function () { return false; }).then(function (more) {
      flushing = false;
      return showQueue().then(function () { if (more) return flush(); });
    });
  }
  function setStatus(text) { $("status").textContent = text; }
  function showQueue() {
    return allQueued().then(function (items) {
      document.body.setAttribute("data-queued", String(items.length));
      setStatus(items.length ? (navigator.onLine ? "" : "offline · ") + items.length + " \u23F3" : "");
    });
  }

  // --- screens ----------------------------------------------------------------------------
  var current = null, timer = null;
  function show(name) {
    ["faces", "reasons", "thanks"].forEach(function (id) { $(id).hidden = id !== name; });
    document.body.setAttribute("data-screen", name);
  }
  function finish(reason) {
    if (current === null) return;
    var seq = current; current = null;
    clearTimeout(timer);
    show("thanks");
    markReady(seq, reason).then(flush);
    timer = setTimeout(function () { show("faces"); var f = document.querySelector(".face"); if (f) f.focus(); }, THANKS_MS);
  }
  function press(button, texts) {
    if (current !== null) return;
    clearTimeout(timer);
    var event = { event_id: uuid4(), channel: "terminal", device_id: config.device, button: button, pressed_at: new Date().toISOString(), lang: config.lang };
    current = -1;
    enqueue(event).then(function (seq) {
      current = seq;
      if (button <= 2 && texts.reasons.length) {
        show("reasons");
        var first = document.querySelector(".reason");
        if (first) first.focus();
        timer = setTimeout(function () { finish(null); }, REASON_TIMEOUT_MS); // idle reset
      } else {
        finish(null);
      }
    });
  }
  function makeButton(cls, label, onClick) {
    var b = document.createElement("button");
    b.type = "button"; b.className = cls; b.textContent = label;
    b.addEventListener("click", onClick);
    return b;
  }
  function render(texts) {
    $("question").textContent = texts.text;
    $("reason-prompt").textContent = texts.reason_prompt;
    $("thanks-text").textContent = texts.thanks;
    texts.buttons.forEach(function (label, i) {
      var b = makeButton("face b" + (i + 1), "", function () { press(i + 1, texts); });
      var span = document.createElement("span");
      span.setAttribute("aria-hidden", "true"); span.innerHTML = civicpulseFaces.svg(i + 1); // /faces.js
      b.appendChild(span);
      b.setAttribute("aria-label", label); b.setAttribute("data-button", String(i + 1));
      $("face-row").appendChild(b);
    });
    texts.reasons.forEach(function (r) {
      var b = makeButton("reason", r.label, function () { finish(r.code); });
      b.setAttribute("data-reason", r.code);
      $("reason-row").appendChild(b);
    });
    var skip = makeButton("reason skip", texts.skip, function () { finish(null); });
    skip.setAttribute("data-reason", "");
    $("reason-row").appendChild(skip);
    show("faces");
    document.body.setAttribute("data-ready", "true");
  }

  if (!config.device || !config.key) {
    $("faces").hidden = true;
    $("setup").hidden = false;
    document.body.setAttribute("data-screen", "setup");
    return;
  }
  var cacheKey = "civicpulse.kiosk.question." + config.device + "." + config.lang;
  fetch("/v1/devices/" + encodeURIComponent(config.device) + "/question?lang=" + config.lang)
    .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
    .then(function (texts) { localStorage.setItem(cacheKey, JSON.stringify(texts)); return texts; })
    .catch(function () { return JSON.parse(localStorage.getItem(cacheKey) || "null"); }) // offline start
    .then(function (texts) {
      if (!texts) { $("question").textContent = "…"; setStatus("offline, no question cached yet"); return; }
      render(texts);
    });
  addEventListener("online", flush);
  addEventListener("offline", showQueue);
  setInterval(flush, FLUSH_EVERY_MS);
  flush();
})();
