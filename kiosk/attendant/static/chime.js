// The attendant station's chime (kiosk/attendant/web.py): a short two-note ding made with the
// Web Audio API (oscillators, no media file: the page's CSP allows no media). Browsers start
// audio only after a user gesture: the AudioContext is made when the page loads (running at
// once if the browser allows it, as right after signing in) and resumed on a tap, click or
// key. Until then, or where there is no Web Audio, a chime is silent and nothing else
// changes; ``ready()`` says whether it would sound. Whether sound is on is remembered in
// localStorage.
"use strict";
window.stationChime = (function () {
  const KEY = "kiosk.station.sound";
  const LATE_MS = 1000;   // a chime that could not start within this long is dropped
  let ctx = null;
  const listeners = [];   // called when the audio starts or stops

  function context() {
    if (!ctx) {
      const Ctx = window.AudioContext || window.webkitAudioContext;
      if (!Ctx) return null;
      try { ctx = new Ctx(); } catch (e) { return null; }
      // what the audio is doing, for a look in the developer tools (and the browser test)
      const show = () => {
        document.body.dataset.audio = ctx.state;
        for (const fn of listeners) fn();
      };
      ctx.addEventListener("statechange", show);
      show();
    }
    return ctx;
  }

  function unlock() {
    const c = context();
    if (c && c.state === "suspended") c.resume().catch(() => {});
  }
  // click/keydown/touchend run while the page holds the gesture's user activation
  for (const type of ["click", "keydown", "touchend"]) {
    document.addEventListener(type, unlock, {capture: true, passive: true});
  }

  function note(c, hz, start, length) {
    const osc = c.createOscillator();
    const gain = c.createGain();
    osc.type = "sine";
    osc.frequency.value = hz;
    // a quick rise and a fading tail: no click at either end
    gain.gain.setValueAtTime(0.0001, start);
    gain.gain.exponentialRampToValueAtTime(0.5, start + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, start + length);
    osc.connect(gain).connect(c.destination);
    osc.start(start);
    osc.stop(start + length);
  }

  function ring(c) {
    const t = c.currentTime;
    note(c, 880, t, 0.3);
    note(c, 660, t + 0.25, 0.5);
  }

  function play() {
    try {
      const c = context();
      if (!c) return;
      if (c.state === "running") { ring(c); return; }
      const asked = Date.now();
      c.resume().then(() => { if (Date.now() - asked < LATE_MS) ring(c); }).catch(() => {});
    } catch (e) { /* no sound; the page goes on */ }
  }

  // on unless the attendant turned it off (kept for this page if storage is unavailable)
  let on = true;
  try { on = localStorage.getItem(KEY) !== "off"; } catch (e) { /* on */ }

  function setOn(value) {
    on = value;
    try { localStorage.setItem(KEY, on ? "on" : "off"); } catch (e) { /* not remembered */ }
  }

  context();
  return {play: play, isOn: () => on, setOn: setOn,
          ready: () => ctx !== null && ctx.state === "running",
          listen: fn => { listeners.push(fn); }};
})();
