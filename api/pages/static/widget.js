/* civicpulse smiley widget. No framework, no third-party requests.
 *
 *   <script src="https://API/widget.js" data-device="web-transport" data-question-lang="pl"></script>
 *
 * Renders the device's question and four smiley buttons right after the script tag (in a shadow
 * root, so the page's CSS cannot break it). After an unhappy press (1-2) it offers follow-up
 * reasons (data-reasons="off" turns that off); the press is sent when a reason or "skip" is
 * chosen, after 20 s, or when the page is left. The browser keeps a random id in localStorage
 * (key "civicpulse.browser_id"); the API turns it into a daily-rotated visitor hash.
 * data-device and data-question-lang fall back to ?device= and ?lang= of the page (demo page).
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) return;
  var base = new URL(script.src, location.href).origin;
  var params = new URLSearchParams(location.search);
  var device = script.getAttribute("data-device") || params.get("device");
  var lang = script.getAttribute("data-question-lang") || params.get("lang") || "pl";
  if (lang !== "en") lang = "pl";
  var askReasons = script.getAttribute("data-reasons") !== "off";
  // The API pastes api/pages/static/faces.js here when it serves this file (one definition of the faces).
  /*! FACES_JS */
  var faceSvg = civicpulseFaces.svg, COLORS = civicpulseFaces.COLORS;
  var REASON_TIMEOUT_MS = 20000;

  function hex(bytes) {
    return Array.prototype.map.call(bytes, function (b) { return (b + 256).toString(16).slice(1); }).join("");
  }
  function uuid4() {
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var h = hex(b);
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }
  var memoryId = null;
  function browserId() {
    try {
      var id = localStorage.getItem("civicpulse.browser_id");
      if (!id) { id = hex(crypto.getRandomValues(new Uint8Array(16))); localStorage.setItem("civicpulse.browser_id", id); }
      return id;
    } catch (e) { // storage blocked: one id for this page view
      return memoryId || (memoryId = hex(crypto.getRandomValues(new Uint8Array(16))));
    }
  }

  var host = document.createElement("div");
  host.className = "civicpulse-widget";
  script.parentNode.insertBefore(host, script.nextSibling);
  var root = host.attachShadow({ mode: "open" });
  root.innerHTML =
    "<style>" +
    ":host{display:block;font:16px/1.4 system-ui,sans-serif;color:#1a1a1a}" +
    ".box{border:1px solid #ccc;border-radius:12px;padding:16px;max-width:28rem;background:#fff}" +
    "p{margin:0 0 12px;font-weight:600}.row{display:flex;gap:8px;flex-wrap:wrap}" +
    "button{font:inherit;border:2px solid #888;border-radius:10px;background:#fafafa;cursor:pointer;padding:6px 10px}" +
    "button.face{line-height:0;min-width:3.2rem;min-height:3.2rem;padding:6px}" +
    "button.face span,button.face svg{display:block}button.face svg{width:2.6rem;height:2.6rem}" +
    "button:hover{background:#eee}button:focus-visible{outline:3px solid #1565c0;outline-offset:2px}" +
    ".status{margin-top:8px;min-height:1.4em}[hidden]{display:none!important}" +
    "</style><div class='box' role='group'><p class='q' id='q'></p>" +
    "<div class='row faces'></div><div class='reasons' hidden><p class='rp'></p><div class='row rl'></div></div>" +
    "<div class='status' role='status' aria-live='polite'></div></div>";
  var box = root.querySelector(".box"), q = root.querySelector(".q"), faces = root.querySelector(".faces");
  var reasonsBox = root.querySelector(".reasons"), status = root.querySelector(".status");
  box.setAttribute("aria-labelledby", "q");

  var texts = null, pending = null, timer = null;

  function send(press, attempt) {
    return fetch(base + "/v1/web/presses", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(press),
      keepalive: true, credentials: "omit", mode: "cors"
    }).then(function (r) {
      if (r.status >= 500 && attempt < 3) throw new Error("retry");
      return r.status;
    }).catch(function () {
      if (attempt >= 3) return 0;
      return new Promise(function (ok) { setTimeout(ok, 1000 * Math.pow(2, attempt)); })
        .then(function () { return send(press, attempt + 1); });
    });
  }

  function finish(reason) {
    if (!pending) return;
    var press = pending; pending = null;
    clearTimeout(timer);
    if (reason) press.reason = reason;
    reasonsBox.hidden = true;
    faces.hidden = true;
    status.textContent = texts.thanks;
    host.setAttribute("data-state", "thanks");
    send(press, 0).then(function (code) { host.setAttribute("data-sent", String(code)); });
  }

  function press(button) {
    if (pending) finish(null);
    pending = {
      event_id: uuid4(), device_id: device, button: button,
      pressed_at: new Date().toISOString(), browser_id: browserId(), lang: lang
    };
    if (askReasons && button <= 2 && texts.reasons.length) {
      faces.hidden = true;
      reasonsBox.hidden = false;
      host.setAttribute("data-state", "reasons");
      timer = setTimeout(function () { finish(null); }, REASON_TIMEOUT_MS);
      var first = reasonsBox.querySelector("button");
      if (first) first.focus();
    } else {
      finish(null);
    }
  }

  function button(label, cls, onClick) {
    var b = document.createElement("button");
    b.type = "button";
    b.className = cls;
    b.textContent = label;
    b.addEventListener("click", onClick);
    return b;
  }

  function render(t) {
    texts = t;
    q.textContent = t.text;
    t.buttons.forEach(function (label, i) {
      var b = button("", "face", function () { press(i + 1); });
      var face = document.createElement("span");
      face.setAttribute("aria-hidden", "true");
      face.innerHTML = faceSvg(i + 1);
      b.appendChild(face);
      b.setAttribute("aria-label", label);
      b.setAttribute("data-button", String(i + 1));
      b.title = label;
      b.style.borderColor = COLORS[i];
      faces.appendChild(b);
    });
    root.querySelector(".rp").textContent = t.reason_prompt;
    var list = root.querySelector(".rl");
    t.reasons.forEach(function (r) {
      var b = button(r.label, "reason", function () { finish(r.code); });
      b.setAttribute("data-reason", r.code);
      list.appendChild(b);
    });
    var skip = button(t.skip, "skip", function () { finish(null); });
    skip.setAttribute("data-reason", "");
    list.appendChild(skip);
    host.setAttribute("data-state", "ready");
  }

  // A visitor who leaves during the reason step still counts.
  addEventListener("pagehide", function () { finish(null); });

  if (!device) { status.textContent = "civicpulse: data-device missing"; return; }
  fetch(base + "/v1/web/devices/" + encodeURIComponent(device) + "/question?lang=" + lang, { credentials: "omit" })
    .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
    .then(render)
    .catch(function (e) { host.setAttribute("data-state", "error"); status.textContent = "civicpulse: " + e.message; });
})();
