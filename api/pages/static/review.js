/* civicpulse misuse review: /live/review, the reviewers' view of suspect periods.
 *
 * Token: as on the live wall (/live/review#token=TOKEN once, or the prompt), kept in
 * sessionStorage under the same key, so a reviewer coming from /live is not asked again.
 * List: GET /v1/review/suspects?state=open|all, loaded on opening and on a filter change only
 * (no timer: a refresh would throw away a note being typed). Decision: POST
 * /v1/review/suspects/{id}/confirm|dismiss with {"note"}; the answer replaces the row, so the
 * row shows its new state even under the "open" filter until the next load. A decided row
 * offers the other decision (a dismissed confirmation counts its presses again).
 * Times are shown in the city's zone (data-timezone), whatever the browser's zone.
 */
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  var T = JSON.parse($("texts").textContent);
  var body = document.body;
  var lang = body.getAttribute("data-lang") || "pl";
  var sites = JSON.parse(body.getAttribute("data-sites") || "{}");
  var TOKEN_KEY = "civicpulse.token";
  var params = new URLSearchParams(location.search);
  var filter = params.get("state") === "all" ? "all" : "open";
  var dateFmt, timeFmt;
  function formats(zone) {
    dateFmt = new Intl.DateTimeFormat(lang, { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit" });
    timeFmt = new Intl.DateTimeFormat(lang, { timeZone: zone, hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" });
  }
  try { formats(body.getAttribute("data-timezone") || "UTC"); } catch (e) { formats("UTC"); }

  function syncAddress() {
    var q = new URLSearchParams(location.search);
    if (filter === "all") q.set("state", "all"); else q.delete("state");
    history.replaceState(null, "", location.pathname + (q.toString() ? "?" + q.toString() : ""));
    q.set("lang", lang === "pl" ? "en" : "pl");
    $("lang-switch").href = "?" + q.toString();
  }

  // --- token (the live wall's rules) -----------------------------------------------------
  function takeToken() {
    var token = new URLSearchParams(location.hash.slice(1)).get("token");
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    return sessionStorage.getItem(TOKEN_KEY);
  }
  var token = takeToken();
  function askToken(message) {
    $("token-form").hidden = false;
    $("token-error").textContent = message || "";
    $("token-input").focus();
  }
  function refused() {
    sessionStorage.removeItem(TOKEN_KEY);
    token = null;
    askToken(T.token_bad);
  }
  $("token-form").addEventListener("submit", function (e) {
    e.preventDefault();
    token = $("token-input").value.trim();
    sessionStorage.setItem(TOKEN_KEY, token);
    $("token-form").hidden = true;
    load();
  });

  function api(method, path, payload) {
    var init = { method: method, headers: { Authorization: "Bearer " + token }, cache: "no-store" };
    if (payload) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(payload);
    }
    return fetch(path, init).then(function (r) {
      if (r.status === 401) { refused(); throw new Error(T.token_bad); }
      return r.json().catch(function () { return {}; }).then(function (data) {
        if (!r.ok) throw new Error((data && data.detail ? String(data.detail) : "HTTP " + r.status));
        return data;
      });
    });
  }

  // --- rows ------------------------------------------------------------------------------
  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function period(from, to) {
    var a = new Date(from), b = new Date(to);
    var day = dateFmt.format(a), sameDay = dateFmt.format(b) === day;
    return day + " " + timeFmt.format(a) + " – " + (sameDay ? "" : dateFmt.format(b) + " ") + timeFmt.format(b);
  }
  function cell(tr, cls, label, content) {
    var td = el("td", cls);
    td.setAttribute("data-label", label);
    if (typeof content === "string") td.textContent = content; else td.appendChild(content);
    tr.appendChild(td);
    return td;
  }
  function decisionCell(s) {
    var box = el("div", "decision");
    box.appendChild(el("span", "state", T["state_" + s.state] || s.state));
    if (s.state !== "open" && s.note) box.appendChild(el("q", "note-shown", s.note));
    var note = el("input", "note");
    note.type = "text";
    note.maxLength = 2000;
    note.placeholder = T.note;
    note.setAttribute("aria-label", T.note);
    if (s.state === "open") box.appendChild(note);
    var buttons = el("div", "buttons");
    ["confirm", "dismiss"].forEach(function (verb) {
      if (s.state === verb + "ed") return; // offer only a change of the decision
      var b = el("button", "decide " + verb, T[verb]);
      b.type = "button";
      b.setAttribute("data-verb", verb);
      b.addEventListener("click", function () { decide(s, verb, note.value.trim(), box); });
      buttons.appendChild(b);
    });
    box.appendChild(buttons);
    box.appendChild(el("p", "row-error"));
    return box;
  }
  function row(s) {
    var tr = el("tr", "suspect state-" + s.state);
    tr.setAttribute("data-id", s.id);
    tr.setAttribute("data-state", s.state);
    cell(tr, "device", T.col_device, s.device_id);
    var site = cell(tr, "site", T.col_site, sites[s.site_id] || s.site_id);
    site.title = s.site_id;
    cell(tr, "pattern", T.col_pattern, T["pattern_" + s.pattern] || s.pattern);
    cell(tr, "period", T.col_period, period(s.from, s.to));
    cell(tr, "presses num", T.col_presses, String(s.presses));
    cell(tr, "evidence", T.col_evidence, s.evidence);
    cell(tr, "decision-cell", T.col_decision, decisionCell(s));
    return tr;
  }

  function decide(s, verb, note, box) {
    Array.prototype.forEach.call(box.querySelectorAll("button, input"), function (c) { c.disabled = true; });
    api("POST", "/v1/review/suspects/" + encodeURIComponent(s.id) + "/" + verb, { note: note })
      .then(function (decided) {
        var old = document.querySelector("tr[data-id='" + s.id + "']");
        if (old) old.replaceWith(row(decided));
        body.setAttribute("data-decided", s.id + ":" + decided.state);
      })
      .catch(function (e) {
        Array.prototype.forEach.call(box.querySelectorAll("button, input"), function (c) { c.disabled = false; });
        box.querySelector(".row-error").textContent = T.not_saved + ": " + e.message;
      });
  }

  function load() {
    if (!token) { askToken(""); return; }
    body.removeAttribute("data-loaded");
    api("GET", "/v1/review/suspects?state=" + filter)
      .then(function (answer) {
        var rows = $("rows");
        rows.textContent = "";
        answer.items.forEach(function (s) { rows.appendChild(row(s)); });
        $("suspects").hidden = answer.items.length === 0;
        $("empty").hidden = answer.items.length > 0;
        $("status").textContent = "";
        body.setAttribute("data-loaded", String(answer.items.length));
      })
      .catch(function (e) { $("status").textContent = e.message; });
  }

  $("filter").value = filter;
  $("filter").addEventListener("change", function () {
    filter = $("filter").value === "all" ? "all" : "open";
    syncAddress();
    load();
  });
  syncAddress(); // also drops the #token= fragment from the address bar
  load();
})();
