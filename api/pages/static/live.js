/* civicpulse live wall: /live (departments) and /live/departments/ID (its sites).
 *
 * Token: open /live#token=TOKEN once (the fragment never reaches a server log) or type it into
 * the prompt; it is kept in sessionStorage ("civicpulse.token") and the fragment is removed.
 * Figures: GET /v1/live/summary every 10 s. Alerts: GET /v1/alerts/stream read with fetch() and
 * a ReadableStream (EventSource cannot send the Authorization header), resumed with
 * Last-Event-ID after a disconnect, so an alert shows within a second of its event.
 * Each open alert has Acknowledge, Comment and Close buttons: POST /v1/alerts/ID/ack|comment|close
 * with the same token; the list shows who acknowledged and the comments.
 * ?at=ISO replays the wall at a past moment (no live stream, no buttons then).
 */
(function () {
  "use strict";
  var T = JSON.parse(document.getElementById("texts").textContent);
  var $ = function (id) { return document.getElementById(id); };
  var body = document.body;
  var lang = body.getAttribute("data-lang") || "pl";
  var department = body.getAttribute("data-department") || "";
  var params = new URLSearchParams(location.search);
  var at = params.get("at");
  var REFRESH_MS = 10000, TOKEN_KEY = "civicpulse.token";
  var num1 = new Intl.NumberFormat(lang, { minimumFractionDigits: 1, maximumFractionDigits: 1 });
  var time = new Intl.DateTimeFormat(lang, { hour: "2-digit", minute: "2-digit", second: "2-digit" });

  // Keep ?at= when switching language.
  var other = new URLSearchParams(location.search);
  other.set("lang", lang === "pl" ? "en" : "pl");
  $("lang-switch").href = "?" + other.toString();

  function takeToken() {
    var hash = new URLSearchParams(location.hash.slice(1));
    var token = hash.get("token");
    if (token) {
      sessionStorage.setItem(TOKEN_KEY, token);
      history.replaceState(null, "", location.pathname + location.search);
    }
    return sessionStorage.getItem(TOKEN_KEY);
  }
  var token = takeToken();

  function askToken(message) {
    $("token-form").hidden = false;
    $("token-error").textContent = message || "";
    $("token-input").focus();
  }
  $("token-form").addEventListener("submit", function (e) {
    e.preventDefault();
    token = $("token-input").value.trim();
    sessionStorage.setItem(TOKEN_KEY, token);
    $("token-form").hidden = true;
    start();
  });

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function fmtScore(score) { return score === null || score === undefined ? null : num1.format(score); }

  function sparkline(points, target) {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("class", "spark");
    svg.setAttribute("viewBox", "0 0 100 100");
    svg.setAttribute("preserveAspectRatio", "none");
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", T.trend);
    var mid = document.createElementNS(ns, "line");
    mid.setAttribute("x1", "0"); mid.setAttribute("x2", "100");
    mid.setAttribute("y1", "50"); mid.setAttribute("y2", "50");
    svg.appendChild(mid);
    if (target !== null && target !== undefined) {
      // the service standard's score target, on the same 0-100 scale as the trend
      var goal = document.createElementNS(ns, "line");
      goal.setAttribute("class", "target");
      goal.setAttribute("x1", "0"); goal.setAttribute("x2", "100");
      goal.setAttribute("y1", String(100 - target)); goal.setAttribute("y2", String(100 - target));
      svg.appendChild(goal);
    }
    var valid = points.filter(function (p) { return p.score !== null; });
    if (valid.length) {
      var t0 = Date.parse(points[0].at), t1 = Date.parse(points[points.length - 1].at);
      var span = Math.max(1, t1 - t0);
      var line = document.createElementNS(ns, "polyline");
      line.setAttribute("points", valid.map(function (p) {
        var x = valid.length === 1 ? 100 : (100 * (Date.parse(p.at) - t0)) / span;
        return x.toFixed(2) + "," + (100 - p.score).toFixed(2);
      }).join(" "));
      svg.appendChild(line);
    }
    svg.setAttribute("data-points", String(valid.length));
    return svg;
  }

  // "standard 75.0 (min 30): met · days 12/2/1": the target and this month's attainment so far
  function standardLine(st) {
    var p = el("p", "standard status-" + st.status);
    p.title = T.standard_hint;
    p.appendChild(document.createTextNode(T.standard + " " + num1.format(st.target_score) +
      " (min " + st.min_responses_per_day + "): "));
    p.appendChild(el("b", null, T["status_" + st.status]));
    p.appendChild(document.createTextNode(" · " + T.days + " " + st.days_met + "/" + st.days_missed + "/" + st.days_too_few));
    return p;
  }

  function figure(node, f, big) {
    node.setAttribute("data-id", f.id);
    node.appendChild(el("p", "name", f.name));
    var row = el("div", "row");
    var face = el("span", "face");
    var which = civicpulseFaces.forScore(f.score);
    if (which) face.innerHTML = civicpulseFaces.svg(which);
    row.appendChild(face);
    var text = fmtScore(f.score);
    var score = el("span", "score" + (text === null ? " none" : ""), text === null ? T.no_data : text);
    score.title = T.score_hint;
    if (which) score.style.color = civicpulseFaces.COLORS[which - 1];
    if (which === 1 || which === 4) score.style.color = which === 1 ? "#ff6e6e" : "#7fdc84"; // contrast on dark
    row.appendChild(score);
    node.appendChild(row);
    var figs = el("div", "figs");
    [["pm", f.presses_1m, T.per_min], ["p15", f.presses_15m, T.in_15], ["n", f.n, "n"]].forEach(function (x) {
      var s = el("span", "fig-" + x[0]);
      var b = el("b", null, String(x[1]));
      s.appendChild(b); s.appendChild(document.createTextNode(" " + x[2]));
      figs.appendChild(s);
    });
    node.appendChild(figs);
    node.appendChild(sparkline(f.spark, f.standard ? f.standard.target_score : null));
    if (f.standard) node.appendChild(standardLine(f.standard));
    if (f.open_alerts) node.appendChild(el("span", "badge", "! " + f.open_alerts));
    if (big) node.classList.add("total");
    return node;
  }

  // --- alerts: the summary's open alerts, corrected by what the stream said since -----------
  // `mine` holds what this page did to an alert (ack, comments, close) until the summary, which
  // trails the broker by the sink's second, shows it too.
  var summaryAlerts = [], streamed = {}, names = {}, mine = {}, rendered = false;
  function lifecycle(a) {
    var m = mine[a.alert_id] || {};
    var comments = a.comments || [];
    if (m.comments && m.comments.length > comments.length) comments = m.comments;
    return { acked_by: a.acked_by || m.acked_by || null, comments: comments, closed: !!m.closed };
  }
  function alertText(a) {
    if (a.kind === "silent_device") {
      return " " + T.silent_since + " " + time.format(new Date(a.window_start)) + " · " + time.format(new Date(a.at));
    }
    return " < " + num1.format(a.threshold) + " " + T.below + " (n " + a.n + ") · " + time.format(new Date(a.at));
  }
  function button(cls, text, onClick) {
    var b = el("button", cls, text);
    b.type = "button";
    b.addEventListener("click", onClick);
    return b;
  }
  function act(a, action, comment, li) {
    var m = mine[a.alert_id] = mine[a.alert_id] || {};
    var init = { method: "POST", headers: { Authorization: "Bearer " + token } };
    if (comment) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify({ comment: comment });
    }
    li.setAttribute("data-busy", action);
    return fetch("/v1/alerts/" + encodeURIComponent(a.alert_id) + "/" + action, init)
      .then(function (r) {
        return r.json().then(function (answer) {
          if (!r.ok) throw new Error(typeof answer.detail === "string" ? answer.detail : "HTTP " + r.status);
          return answer;
        });
      })
      .then(function (done) {
        if (action === "ack") m.acked_by = done.by;
        if (action === "close") m.closed = true;
        if (done.comment) {
          m.comments = (m.comments || lifecycle(a).comments).concat([{ by: done.by, at: done.at, comment: done.comment }]);
        }
        m.error = null;
        setTimeout(refresh, 1500); // the summary shows it once the sink stored it
      })
      .catch(function (e) { m.error = T.action_failed + ": " + e.message; })
      .then(function () { li.removeAttribute("data-busy"); renderAlerts(); });
  }
  function lifecycleNodes(li, a) {
    var life = lifecycle(a), m = mine[a.alert_id] || {};
    var info = el("div", "alert-life");
    if (life.acked_by) info.appendChild(el("span", "acked", "\u2713 " + T.acked_by + " " + life.acked_by));
    life.comments.forEach(function (c) {
      var p = el("p", "alert-comment");
      p.appendChild(el("b", null, c.by + ": "));
      p.appendChild(document.createTextNode(c.comment));
      info.appendChild(p);
    });
    li.appendChild(info);
    if (at) return; // a replayed moment is looked at, not acted on
    var actions = el("div", "alert-actions");
    if (!life.acked_by) actions.appendChild(button("ack", T.ack, function () { act(a, "ack", null, li); }));
    var form = el("form", "comment-form");
    var input = el("input");
    input.type = "text"; input.required = true; input.maxLength = 2000;
    input.placeholder = T.comment_placeholder;
    input.setAttribute("aria-label", T.comment);
    form.appendChild(input);
    form.appendChild(button("comment", T.comment, function () { if (input.value.trim()) act(a, "comment", input.value.trim(), li); }));
    form.addEventListener("submit", function (e) { e.preventDefault(); if (input.value.trim()) act(a, "comment", input.value.trim(), li); });
    actions.appendChild(button("close", T.close, function () { act(a, "close", null, li); }));
    actions.appendChild(form);
    li.appendChild(actions);
    if (m.error) li.appendChild(el("p", "alert-error", m.error));
  }
  function renderAlerts() {
    var open = {};
    summaryAlerts.forEach(function (a) { open[a.alert_id] = a; });
    Object.keys(streamed).forEach(function (id) {
      var a = streamed[id];
      if (a.state === "resolved" || a.kind === "recognition") delete open[id];
      else if (!open[id]) open[id] = a;
    });
    Object.keys(mine).forEach(function (id) { if (mine[id].closed) delete open[id]; });
    var list = $("alert-list");
    var shown = {};
    Array.prototype.forEach.call(list.children, function (li) { shown[li.getAttribute("data-alert-id")] = li; });
    var ids = Object.keys(open).sort(function (x, y) { return Date.parse(open[y].at) - Date.parse(open[x].at); });
    var ordered = [];
    ids.forEach(function (id) {
      var a = open[id], li = shown[id] || el("li");
      if (li.contains(document.activeElement) && document.activeElement.tagName === "INPUT") {
        delete shown[id]; ordered.push(li); return; // someone is typing a comment: leave it be
      }
      li.setAttribute("data-alert-id", id);
      li.setAttribute("data-scope-id", a.scope_id);
      li.setAttribute("data-kind", a.kind || "low_score");
      li.textContent = "";
      li.appendChild(el("b", "alert-name", a.name || names[a.scope_id] || a.scope_id));
      li.appendChild(document.createTextNode(" "));
      if (a.kind !== "silent_device") li.appendChild(el("span", "alert-score", fmtScore(a.score)));
      li.appendChild(document.createTextNode(alertText(a)));
      lifecycleNodes(li, a);
      if (!shown[id] && rendered) li.classList.add("new"); // flash what arrives, not the first load
      delete shown[id];
      ordered.push(li);
    });
    Object.keys(shown).forEach(function (id) { shown[id].remove(); });
    ordered.forEach(function (li, i) { if (list.children[i] !== li) list.insertBefore(li, list.children[i] || null); });
    $("no-alerts").hidden = ids.length > 0;
    body.setAttribute("data-open-alerts", String(ids.length));
    rendered = true;
  }

  function render(summary) {
    var total = $("total");
    total.textContent = "";
    figure(total, summary.total, true);
    total.hidden = false;
    if (summary.department) {
      names[summary.department.id] = summary.department.name;
      $("crumb").textContent = " / " + summary.department.name;
      document.title = summary.department.name + " · civicpulse";
      total.querySelector(".name").textContent = summary.department.name;
    } else {
      total.querySelector(".name").textContent = T.city;
    }
    var grid = $("grid");
    grid.textContent = "";
    summary.items.forEach(function (f) {
      names[f.id] = f.name;
      var card;
      if (summary.level === "department") {
        card = el("a", "card item");
        card.href = "/live/departments/" + encodeURIComponent(f.id) + "?" + other.toString().replace(/lang=[a-z]+/, "lang=" + lang);
      } else {
        card = el("section", "card item");
      }
      grid.appendChild(figure(card, f, false));
    });
    summaryAlerts = summary.alerts;
    renderAlerts();
    $("updated").textContent = T.updated + " " + time.format(new Date(summary.at));
    body.setAttribute("data-loaded", summary.at);
  }

  var timer = null;
  function refresh() {
    clearTimeout(timer);
    var q = new URLSearchParams();
    if (department) q.set("department", department);
    if (at) q.set("at", at);
    return fetch("/v1/live/summary?" + q.toString(), { headers: { Authorization: "Bearer " + token } })
      .then(function (r) {
        if (r.status === 401) { sessionStorage.removeItem(TOKEN_KEY); token = null; askToken(T.token_bad); throw new Error("401"); }
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.json();
      })
      .then(render)
      .catch(function (e) { $("updated").textContent = e.message; })
      .then(function () { if (token) timer = setTimeout(refresh, REFRESH_MS); });
  }

  // --- the alert stream ------------------------------------------------------------------
  var lastEventId = null, streaming = false;
  function setStream(on) {
    $("stream").setAttribute("data-state", on ? "on" : "off");
    $("stream").textContent = on ? T.stream_on : T.stream_off;
  }
  function onEvent(ev) {
    if (ev.id) lastEventId = ev.id;
    if (ev.event !== "alert" || !ev.data) return;
    var a = JSON.parse(ev.data);
    a.alert_id = String(a.alert_id);
    a.name = names[a.scope_id] || a.scope_id;
    streamed[a.alert_id] = a;
    renderAlerts();
    setTimeout(refresh, 1500); // badges and scores follow once the sink has the alert
  }
  function parseBlock(block) {
    var ev = { event: "message", data: "", id: null }, data = [];
    block.split(/\r?\n/).forEach(function (line) {
      if (!line || line[0] === ":") return;
      var i = line.indexOf(":"), field = i < 0 ? line : line.slice(0, i);
      var value = i < 0 ? "" : line.slice(i + 1).replace(/^ /, "");
      if (field === "data") data.push(value);
      else if (field === "event") ev.event = value;
      else if (field === "id") ev.id = value;
    });
    ev.data = data.join("\n");
    return ev;
  }
  function stream(delay) {
    if (streaming || !token || at) return;
    streaming = true;
    var headers = { Authorization: "Bearer " + token, Accept: "text/event-stream" };
    if (lastEventId) headers["Last-Event-ID"] = lastEventId;
    var url = "/v1/alerts/stream" + (department ? "?department=" + encodeURIComponent(department) : "");
    fetch(url, { headers: headers, cache: "no-store" }).then(function (r) {
      if (!r.ok || !r.body) throw new Error("HTTP " + r.status);
      setStream(true);
      delay = 250; // connected: the next reconnect starts quick again
      var reader = r.body.getReader(), decoder = new TextDecoder(), buffer = "";
      function pump() {
        return reader.read().then(function (chunk) {
          if (chunk.done) throw new Error("closed");
          buffer += decoder.decode(chunk.value, { stream: true });
          var parts = buffer.split(/\r?\n\r?\n/);
          buffer = parts.pop();
          parts.forEach(function (p) { onEvent(parseBlock(p)); });
          return pump();
        });
      }
      return pump();
    }).catch(function () {
      setStream(false);
    }).then(function () {
      streaming = false;
      var next = Math.min(15000, (delay || 500) * 2);
      setTimeout(function () { stream(next); }, delay || 500);
    });
  }

  function start() {
    if (!token) { askToken(""); return; }
    refresh();
    stream(500);
  }
  if (at) $("stream").hidden = true;
  start();
})();
