// The attendant station page (kiosk/attendant/web.py): sign-in, then every lane, live.
// Our own small script, no library; the strings come from the page (gettext catalogs).
// An alert the page has not shown before (by lane, kind and since: one cleared and raised
// again is new) is highlighted for HIGHLIGHT_MS and rings the chime (chime.js) unless sound
// is off; those on the lanes when the page opens do neither. <body data-chimes> counts the
// chimes rung.
"use strict";
(function () {
  const data = JSON.parse(document.getElementById("data").textContent);
  const T = data.texts;
  const main = document.getElementById("main");
  const who = document.getElementById("who");
  let busy = false;
  let drawn = "";         // the lanes last drawn: redrawn only when they change
  const HIGHLIGHT_MS = 5000;
  let shown = null;       // keys of the alerts on the lanes at the last poll (null: none yet)
  const fresh = new Map();  // key of a new alert → until when it is highlighted (Date.now())
  let chimes = 0;
  let asked = 0, answered = 0;  // polls sent and the latest one read (an older one is late)

  function el(tag, attrs, ...kids) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") node.className = v; else node.setAttribute(k, v);
    }
    for (const kid of kids) node.append(kid);
    return node;
  }

  function post(path, body) {
    return fetch(path, {method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": data.csrf},
      body: JSON.stringify(body || {})}).then(r => r.json());
  }

  function waited(since, now) {
    const s = Math.max(0, Math.floor(now - since));
    const m = Math.floor(s / 60);
    return (m ? m + ":" + String(s % 60).padStart(2, "0")
              : T.seconds.replace("{seconds}", String(s)));
  }

  function alertKey(lane, alert) {
    return lane.lane + "|" + alert.type + "|" + alert.since;
  }

  // the new alerts' keys (none at the first poll: the attendant has just opened the page)
  function newAlerts(lanes) {
    const keys = lanes.flatMap(lane => lane.alerts.map(a => alertKey(lane, a)));
    const added = shown === null ? [] : keys.filter(k => !shown.has(k));
    shown = new Set(keys);
    return added;
  }

  function chime() {
    if (!stationChime.isOn()) return;
    chimes += 1;
    document.body.dataset.chimes = String(chimes);
    stationChime.play();
  }

  // highlight the new alerts and their lanes until their time is up
  function highlight(now) {
    for (const [key, until] of fresh) if (until <= now) fresh.delete(key);
    for (const card of document.querySelectorAll(".lane")) {
      let any = false;
      for (const item of card.querySelectorAll(".alert[data-key]")) {
        const on = fresh.has(item.dataset.key);
        item.classList.toggle("fresh", on);
        any = any || on;
      }
      card.classList.toggle("fresh", any);
    }
  }

  // Sound on / Sound off; with sound on but the browser not yet letting the page play
  // (opened without a tap), "Tap for sound": tapping it starts the audio (chime.js)
  function soundToggle() {
    const b = el("button", {type: "button", id: "sound"});
    const show = () => {
      const on = stationChime.isOn();
      const blocked = on && !stationChime.ready();
      b.textContent = blocked ? T.sound_blocked : on ? T.sound_on : T.sound_off;
      b.dataset.sound = blocked ? "blocked" : on ? "on" : "off";
    };
    b.addEventListener("click", () => {
      if (b.dataset.sound !== "blocked") stationChime.setOn(!stationChime.isOn());
      show();
    });
    stationChime.listen(show);
    show();
    return b;
  }

  function name(names) {
    return names[data.language] || names.en || Object.values(names)[0] || "";
  }

  function signIn() {
    who.textContent = "";
    const pin = el("input", {type: "password", inputmode: "numeric", autocomplete: "off",
                             id: "pin", "aria-label": T.pin, maxlength: "12"});
    const msg = el("p", {id: "signin-msg", role: "alert"});
    const form = el("form", {id: "signin"}, el("label", {for: "pin"}, T.pin), pin,
                    el("button", {type: "submit", id: "signin-button"}, T.sign_in), msg);
    form.addEventListener("submit", ev => {
      ev.preventDefault();
      post("/api/signin", {pin: pin.value}).then(r => {
        if (r.ok) { location.reload(); return; }
        msg.textContent = r.reason === "locked" ? T.locked : T.wrong_pin;
        pin.value = "";
      });
    });
    main.replaceChildren(form);
    pin.focus();
  }

  function command(lane, action, lineId) {
    if (busy) return;
    busy = true;
    const status = document.getElementById("status");
    post("/api/command", {lane: lane, action: action, line_id: lineId || null}).then(r => {
      status.textContent = r.ok ? ""
        : T.refused.replace("{reason}", T["reason_" + r.reason] || r.reason);
      status.dataset.result = r.ok ? "ok" : r.reason;
    }).finally(() => { busy = false; refresh(); });
  }

  function laneCard(lane, now) {
    const card = el("section", {class: "lane" + (lane.alerts.length ? " alerting" : "")
                                       + (lane.online ? "" : " offline"),
                                id: "lane-" + lane.lane, "data-state": lane.state,
                                "aria-label": T.lane + " " + lane.lane});
    const state = lane.online ? (T["state_" + lane.state] || lane.state) : T.offline;
    card.append(el("h2", {}, T.lane + " " + lane.lane),
                el("p", {class: "state"}, state + (lane.training ? " · " + T.training : "")),
                el("p", {class: "total"}, ...T.total.split("{amount}").flatMap(
                  (part, i) => i ? [el("span", {class: "amount"}, lane.total_text), part]
                                 : [part])));
    const alerts = el("ul", {class: "alerts"});
    for (const a of lane.alerts) {
      // the alert's title and wait, then what it is about on a line of its own
      // ("Receipt printer: Out of paper", what the shopper was told of a payment)
      const item = el("li", {class: "alert", "data-type": a.type,
                             "data-key": alertKey(lane, a)},
        el("span", {class: "title"}, T["alert_" + a.type] || a.type),
        el("span", {class: "wait", "data-since": String(a.since)},
           " · " + T.waiting + " " + waited(a.since, now)));
      if (a.detail_text) item.append(el("span", {class: "detail"}, a.detail_text));
      alerts.append(item);
    }
    if (!lane.alerts.length) alerts.append(el("li", {class: "none"}, T.no_alerts));
    card.append(alerts);
    const actions = el("div", {class: "actions"});
    for (const action of lane.accepts_remote) {
      if (action === "void_line") continue;
      const b = el("button", {type: "button", "data-action": action, class: action},
                   T["action_" + action] || action);
      b.addEventListener("click", () => command(lane.lane, action));
      actions.append(b);
    }
    card.append(actions);
    if (lane.accepts_remote.includes("void_line")) {
      const lines = el("ul", {class: "lines"});
      for (const line of lane.lines) {
        const b = el("button", {type: "button", "data-action": "void_line",
                                "data-line": String(line.line_id)}, T.action_void_line);
        b.addEventListener("click", () => command(lane.lane, "void_line", line.line_id));
        lines.append(el("li", {}, line.qty + " × " + name(line.names) + " "
                        + line.amount_text + " ", b));
      }
      card.append(lines);
    }
    return card;
  }

  function refresh() {
    const poll = ++asked;
    fetch("/api/lanes?lang=" + encodeURIComponent(data.locale),
          {credentials: "same-origin", cache: "no-store"}).then(r => {
      if (r.status === 401) { signIn(); return null; }
      return r.json();
    }).then(d => {
      if (!d || poll < answered) return;  // a command's refresh overtook this poll
      answered = poll;
      const now = Date.now();
      const added = newAlerts(d.lanes);
      for (const key of added) fresh.set(key, now + HIGHLIGHT_MS);
      // redraw only what changed (a button being tapped stays put); the waits tick in place
      const lanes = JSON.stringify(d.lanes.map(l => Object.assign({}, l, {server_time: 0})));
      if (lanes !== drawn) {
        drawn = lanes;
        const grid = el("div", {id: "lanes"});
        for (const lane of d.lanes) grid.append(laneCard(lane, d.now));
        if (!d.lanes.length) grid.append(el("p", {}, T.no_lanes));
        const status = document.getElementById("status") || el("p", {id: "status",
                                                                      role: "status"});
        main.replaceChildren(status, grid);
      }
      for (const w of document.querySelectorAll(".wait[data-since]")) {
        w.textContent = " · " + T.waiting + " " + waited(Number(w.dataset.since), d.now);
      }
      highlight(now);
      if (added.length) chime();
    }).catch(() => {});
  }

  if (!data.csrf) { signIn(); return; }
  const out = el("button", {type: "button", id: "signout"}, T.sign_out);
  out.addEventListener("click", () => post("/api/signout").then(() => location.reload()));
  document.body.dataset.chimes = "0";
  who.append(soundToggle(), el("span", {}, T.signed_in_as + " " + data.staff + " "), out);
  refresh();
  setInterval(refresh, 1000);
})();
