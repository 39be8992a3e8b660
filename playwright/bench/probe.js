// The in-page probe absorb.mjs installs with addInitScript (Playwright's
// injection is not subject to the page's Content-Security-Policy). It runs
// before any page script and records, while window.__absorb.on is true:
//   - what the live stream delivered: messages, bytes, and changes per topic
//     (from the sequence numbers at the head of each message, so the
//     message is not parsed twice), resyncs and closes;
//   - event → DOM latency: Date.now() minus a task row's data-updated (the
//     stand-in's time of the update it shows) when the row enters the DOM,
//     seen by a MutationObserver, and again at the next animation frame;
//     only rows showing a newer status than before count (an acknowledged
//     row or a resync puts rows again with their old time);
//   - frame intervals (requestAnimationFrame deltas), long tasks and long
//     animation frames, with the forced style and layout time they contain.
// absorb.mjs reads and clears it with window.__absorb.take().
(() => {
  const A = {
    on: false, msgs: 0, bytes: 0, changes: {}, resyncs: 0, closes: [],
    lat: [], latFrame: [], frames: [], longTasks: [], loafs: [],
  };
  window.__absorb = A;
  // seen holds each row's data-updated as last counted: a row put again
  // for the same status (an acknowledgement, a resync) is not a new event.
  const seen = new Map();
  const fresh = (n, u) => {
    const id = n.id || "";
    if (u <= (seen.get(id) || 0)) return false;
    seen.set(id, u);
    return true;
  };
  A.take = () => {
    for (const el of document.querySelectorAll("[data-updated]")) seen.set(el.id, Number(el.dataset.updated));
    const out = {
      msgs: A.msgs, bytes: A.bytes, changes: A.changes, resyncs: A.resyncs, closes: A.closes,
      lat: A.lat, latFrame: A.latFrame, frames: A.frames, longTasks: A.longTasks, loafs: A.loafs,
    };
    A.msgs = 0; A.bytes = 0; A.changes = {}; A.resyncs = 0; A.closes = [];
    A.lat = []; A.latFrame = []; A.frames = []; A.longTasks = []; A.loafs = [];
    return out;
  };

  const Native = window.WebSocket;
  const seqRe = /"seq":\{([^}]*)\}/;
  const topicRe = /"([^"]+)":(\d+)/g;
  const resyncRe = /"resync":\[([^\]]*)\]/;
  window.WebSocket = class extends Native {
    constructor(url, protocols) {
      super(url, protocols);
      const last = {};
      const since = new URL(url, location.href).searchParams.get("since") || "";
      for (const p of since.split(",")) {
        const [t, s] = p.split(":");
        if (t && s) last[t] = Number(s);
      }
      this.addEventListener("message", (ev) => {
        if (!A.on || typeof ev.data !== "string") return;
        const head = ev.data.slice(0, 600);
        A.msgs++;
        A.bytes += ev.data.length;
        const m = seqRe.exec(head);
        if (m) {
          for (const [, t, s] of m[1].matchAll(topicRe)) {
            const n = Number(s);
            if (last[t] !== undefined && n > last[t]) A.changes[t] = (A.changes[t] || 0) + (n - last[t]);
            last[t] = n;
          }
        }
        const r = resyncRe.exec(head);
        if (r && r[1].length > 0) A.resyncs++;
      });
      this.addEventListener("close", (ev) => { A.closes.push({ code: ev.code, at: Date.now() }); });
    }
  };

  let pending = [];
  new MutationObserver((records) => {
    if (!A.on) return;
    const now = Date.now();
    for (const r of records) {
      if (r.type === "attributes") {
        const u = Number(r.target.dataset && r.target.dataset.updated);
        if (u && fresh(r.target, u)) { A.lat.push(now - u); pending.push(u); }
        continue;
      }
      for (const n of r.addedNodes) {
        const u = n.nodeType === 1 && n.dataset && Number(n.dataset.updated);
        if (u && fresh(n, u)) { A.lat.push(now - u); pending.push(u); }
      }
    }
  }).observe(document, { childList: true, subtree: true, attributes: true, attributeFilter: ["data-updated"] });

  let prev = 0;
  const frame = (t) => {
    if (A.on) {
      if (prev) A.frames.push(t - prev);
      if (pending.length) {
        const now = Date.now();
        for (const u of pending) A.latFrame.push(now - u);
      }
    }
    pending = [];
    prev = t;
    requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);

  try {
    new PerformanceObserver((list) => {
      if (!A.on) return;
      for (const e of list.getEntries()) A.longTasks.push({ start: e.startTime, dur: e.duration });
    }).observe({ type: "longtask" });
  } catch { /* not supported */ }
  try {
    new PerformanceObserver((list) => {
      if (!A.on) return;
      for (const e of list.getEntries()) {
        let forced = 0, script = 0;
        for (const s of e.scripts || []) { forced += s.forcedStyleAndLayoutDuration || 0; script += s.duration || 0; }
        A.loafs.push({ dur: e.duration, blocking: e.blockingDuration, script, forced });
      }
    }).observe({ type: "long-animation-frame" });
  } catch { /* not supported */ }
})();
