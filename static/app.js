// Offerdeck's client script: no framework, no build step, no inline script
// anywhere (the Content-Security-Policy forbids it). Server-rendered HTML
// arrives over the WebSocket and is parsed with DOMParser (which runs no
// script) and placed by element id; text is only ever set as text.
"use strict";

(function () {
  const root = document.documentElement;
  const body = document.body;
  root.classList.add("js");
  const $ = (id) => document.getElementById(id);

  // ---- Preferences: theme and presenter mode survive reloads. ----------
  const saved = (key) => { try { return localStorage.getItem(key); } catch { return null; } };
  const save = (key, v) => { try { localStorage.setItem(key, v); } catch { /* private mode */ } };
  const theme = saved("offerdeck.theme");
  if (theme === "light" || theme === "dark") root.dataset.theme = theme;
  if (saved("offerdeck.presenter") === "on") root.dataset.presenter = "on";
  const currentTheme = () => root.dataset.theme ||
    (window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light");

  function wireTools() {
    const themeBtn = $("theme-toggle");
    const presentBtn = $("presenter-toggle");
    if (themeBtn) {
      themeBtn.hidden = false;
      themeBtn.addEventListener("click", () => {
        const next = currentTheme() === "dark" ? "light" : "dark";
        root.dataset.theme = next;
        save("offerdeck.theme", next);
      });
    }
    if (presentBtn) {
      presentBtn.hidden = false;
      presentBtn.setAttribute("aria-pressed", root.dataset.presenter === "on" ? "true" : "false");
      presentBtn.addEventListener("click", () => {
        const on = root.dataset.presenter !== "on";
        if (on) root.dataset.presenter = "on"; else delete root.dataset.presenter;
        presentBtn.setAttribute("aria-pressed", on ? "true" : "false");
        save("offerdeck.presenter", on ? "on" : "off");
      });
    }
  }

  // ---- Applying changes. ------------------------------------------------
  const parser = new DOMParser();
  function fragment(html) {
    const doc = parser.parseFromString("<template>" + html + "</template>", "text/html");
    const tpl = doc.querySelector("template");
    const el = tpl && tpl.content.firstElementChild;
    return el ? document.importNode(el, true) : null;
  }

  // keep carries what the reader is looking at across a replacement: open
  // details, the focused element and the scroll position.
  // keepScroll restores the scroll position too, at the price of a forced
  // layout: only for whole regions, not for rows swapped in place, which
  // scroll anchoring keeps steady.
  function replaceKeeping(old, el, keepScroll = true) {
    const open = Array.from(old.querySelectorAll("details")).map((d) => d.open);
    const focused = old.contains(document.activeElement) && document.activeElement.id;
    // Asking the Selection forces a layout in Chromium: only when the
    // reader has selected something at all.
    const sel = selecting && window.getSelection();
    if (sel && sel.rangeCount > 0 && !sel.isCollapsed && old.contains(sel.anchorNode)) {
      return false; // the reader is selecting text here: apply later
    }
    el.querySelectorAll("details").forEach((d, i) => { if (open[i]) d.open = true; });
    if (old.tagName === "DETAILS" && old.open) el.open = true;
    const y = keepScroll ? window.scrollY : 0;
    old.replaceWith(el);
    if (focused) { const f = $(focused); if (f) f.focus({ preventScroll: true }); }
    if (keepScroll) window.scrollTo(window.scrollX, y);
    return true;
  }

  const deferred = new Map(); // id -> change, held while text is selected there
  let selecting = false; // whether the reader has a selection that is not collapsed
  document.addEventListener("selectionchange", () => {
    const sel = window.getSelection();
    selecting = !!sel && !sel.isCollapsed;
    if (selecting) return;
    const pending = Array.from(deferred.values());
    deferred.clear();
    pending.forEach(apply);
  });

  function apply(c) {
    const old = $(c.id);
    switch (c.op) {
      case "text":
        if (old) old.textContent = c.text;
        return;
      case "del":
        if (!old) return;
        old.classList.add("leaving");
        if (c.mark) old.dataset.leaving = c.mark;
        setTimeout(() => old.remove(), reduceMotion() ? 0 : 1200);
        return;
      case "put": {
        // Decide before parsing: most puts on a long list are for rows
        // another page shows.
        const parent = !old && c.parent && $(c.parent);
        if (!old) {
          if (!parent) return; // this page does not show it
          if (parent.dataset.limit && parent.children.length >= Number(parent.dataset.limit)) return; // another page's
        }
        const el = fragment(c.html);
        if (!el) return;
        if (old) {
          if (!replaceKeeping(old, el, false)) { deferred.set(c.id, c); return; }
        } else {
          if (parent.dataset.types !== undefined && !parent.dataset.types.split(" ").includes(el.dataset.type)) return; // filtered out
          parent.querySelectorAll(":scope > .empty").forEach((e) => e.remove());
          if (c.prepend) parent.prepend(el); else parent.append(el);
          if (parent.dataset.keep) {
            while (parent.children.length > Number(parent.dataset.keep)) parent.lastElementChild.remove();
          }
          el.classList.add("arrived");
          setTimeout(() => el.classList.remove("arrived"), presenter() ? 6000 : 2500);
        }
        filterOne(el);
        refreshTimes(el);
        return;
      }
    }
  }
  const reduceMotion = () => window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  const presenter = () => root.dataset.presenter === "on";

  // ---- The live connection. ---------------------------------------------
  let positions = body.dataset.topics || "";
  let epoch = body.dataset.epoch || "";
  let socket = null;
  let attempt = 0;
  let pausedEvents = null; // events held while the events page is paused

  function setConn(state, label) {
    const conn = $("conn");
    if (conn && state) { conn.dataset.state = state; conn.textContent = label; }
    body.classList.toggle("offline", state === "offline");
  }

  function updatePositions(seq) {
    const map = new Map(positions.split(",").filter(Boolean).map((p) => p.split(":")));
    for (const [t, s] of Object.entries(seq)) map.set(t, String(s));
    positions = Array.from(map, ([t, s]) => t + ":" + s).join(",");
  }

  function connect() {
    if (!positions) return;
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const url = proto + "//" + location.host + "/ws?since=" + encodeURIComponent(positions) + "&epoch=" + encodeURIComponent(epoch);
    socket = new WebSocket(url);
    socket.addEventListener("open", () => { attempt = 0; });
    socket.addEventListener("message", (ev) => {
      let msg;
      try { msg = JSON.parse(ev.data); } catch { return; }
      for (const c of msg.changes || []) {
        if (pausedEvents && c.parent === "events-list") { holdEvent(c); continue; }
        apply(c);
      }
      updatePositions(msg.seq || {});
      if (msg.epoch) epoch = msg.epoch;
    });
    socket.addEventListener("close", (ev) => {
      socket = null;
      if (ev.code === 4000) { resync(); return; }
      retry();
    });
  }

  function retry() {
    attempt++;
    const delay = Math.min(15000, 500 * 2 ** Math.min(attempt, 5)) * (0.5 + Math.random() / 2);
    const until = Date.now() + delay;
    setConn("offline", "reconnecting in " + Math.ceil(delay / 1000) + " s");
    const banner = $("live-note");
    if (banner) { banner.hidden = false; banner.textContent = "Connection lost: what you see may be stale; reconnecting."; }
    const tick = setInterval(() => {
      const left = Math.ceil((until - Date.now()) / 1000);
      if (left > 0) setConn("offline", "reconnecting in " + left + " s");
    }, 1000);
    setTimeout(() => { clearInterval(tick); resync(); }, delay);
  }

  // resync re-renders this page's live regions from the server (the page
  // itself is the fragment source) and resumes from its positions.
  async function resync() {
    setConn("waiting", "resyncing…");
    let doc;
    try {
      const res = await fetch(location.href, { headers: { Accept: "text/html" }, credentials: "same-origin" });
      if (!res.ok) throw new Error(res.status);
      doc = parser.parseFromString(await res.text(), "text/html");
    } catch {
      retry();
      return;
    }
    const ids = ["conn", "vital-master", "nav-count-offers", "nav-count-tasks", "nav-count-agents"];
    document.querySelectorAll("[data-live], [data-region]").forEach((el) => el.id && ids.push(el.id));
    for (const id of ids) {
      const fresh = doc.getElementById(id);
      const old = $(id);
      if (fresh && old) replaceKeeping(old, document.importNode(fresh, true));
    }
    positions = doc.body.dataset.topics || positions;
    epoch = doc.body.dataset.epoch || epoch;
    const banner = $("live-note");
    if (banner) banner.hidden = true;
    filterAll();
    refreshTimes(document);
    connect();
  }

  // ---- Client-side filters (the server applies them on render too). -----
  function filterInput() { return document.querySelector("input[data-filter-for]"); }
  function matches(el, terms) {
    const text = (el.dataset.search || "").toLowerCase();
    return terms.every((t) => {
      const tt = t.replace("==", "=");
      if (text.includes(tt.replace("~", "="))) return true;
      const [name, part] = tt.split("~");
      if (part === undefined) return false;
      return text.split(" ").some((w) => w.startsWith(name + "=") && w.slice(name.length + 1).includes(part));
    });
  }
  function filterOne(el) {
    const input = filterInput();
    if (!input || !el.parentElement || el.parentElement.id !== input.dataset.filterFor) return;
    const terms = input.value.toLowerCase().split(/\s+/).filter(Boolean);
    el.hidden = terms.length > 0 && !matches(el, terms);
  }
  function filterAll() {
    const input = filterInput();
    if (!input) return;
    const box = $(input.dataset.filterFor);
    if (box) Array.from(box.children).forEach(filterOne);
  }
  function wireFilter() {
    const input = filterInput();
    if (!input) return;
    input.addEventListener("input", () => {
      filterAll();
      const url = new URL(location.href);
      if (input.value) url.searchParams.set(input.name, input.value); else url.searchParams.delete(input.name);
      history.replaceState(null, "", url);
    });
  }

  // ---- Ages and hold countdowns tick without the server. -----------------
  function human(ms) {
    const s = Math.max(0, Math.round(ms / 1000));
    if (s < 60) return s + " s";
    if (s < 3600) return Math.floor(s / 60) + " min";
    return Math.floor(s / 3600) + " h";
  }
  function refreshTimes(scope) {
    const now = Date.now();
    (scope.querySelectorAll ? scope : document).querySelectorAll("[data-hold-until]").forEach((el) => {
      const until = Number(el.dataset.holdUntil), arrived = Number(el.dataset.arrived);
      const age = el.querySelector(".age-text"), left = el.querySelector(".hold-text"), ring = el.querySelector(".ring");
      if (age) age.textContent = human(now - arrived);
      if (left) left.textContent = human(until - now);
      if (ring && until > arrived) ring.style.setProperty("--left", Math.max(0, Math.min(1, (until - now) / (until - arrived))).toFixed(3));
    });
  }

  // ---- Actions in place. -------------------------------------------------
  function flash(kind, message) {
    const el = $("flash");
    if (!el) return;
    el.className = "flash flash-" + kind;
    el.textContent = message;
    el.hidden = false;
  }
  function wireForms() {
    document.addEventListener("submit", async (ev) => {
      const form = ev.target;
      if (!(form instanceof HTMLFormElement) || form.method.toLowerCase() !== "post") return;
      if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) { ev.preventDefault(); return; }
      ev.preventDefault();
      const button = form.querySelector("button[type=submit]");
      if (button) button.disabled = true;
      flash("pending", "Working…");
      try {
        const res = await fetch(form.action, {
          method: "POST", body: new URLSearchParams(new FormData(form)),
          headers: { Accept: "application/json" }, credentials: "same-origin",
        });
        const answer = await res.json().catch(() => ({ ok: false, error: "The server answered " + res.status + "." }));
        if (answer.ok) {
          flash("ok", answer.message || "Done.");
          if (answer.next) { location.assign(answer.next); return; }
          const rid = form.querySelector("input[name=request_id]");
          if (rid) rid.value = Math.random().toString(16).slice(2) + Date.now().toString(16);
        } else {
          flash("error", answer.error || "The action failed.");
        }
      } catch {
        flash("error", "The dashboard did not answer; the action may not have happened. Check the audit page.");
      } finally {
        if (button) button.disabled = false;
      }
    });
  }

  // ---- The launch form's live preview. -----------------------------------
  function wirePreview() {
    const form = $("launch-form");
    const box = $("preview");
    if (!form || !box) return;
    let timer = 0;
    const refresh = async () => {
      const q = new URLSearchParams(new FormData(form));
      q.delete("request_id"); q.delete("back");
      try {
        const res = await fetch("/launch/preview?" + q.toString(), { credentials: "same-origin" });
        if (!res.ok) return;
        const doc = parser.parseFromString(await res.text(), "text/html");
        const fresh = doc.getElementById("preview");
        const old = $("preview");
        if (fresh && old) old.replaceWith(document.importNode(fresh, true));
      } catch { /* offline: keep the last preview */ }
    };
    form.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(refresh, 250); });
    setInterval(refresh, 3000); // offers come and go
  }

  // ---- A task's output, followed until it ends. --------------------------
  function wireOutput() {
    document.querySelectorAll("pre.output[data-task]").forEach((pre) => {
      const task = pre.dataset.task, file = pre.dataset.file;
      let next = Number(pre.dataset.next || 0);
      let idle = 0;
      const poll = async () => {
        const badge = $("task-state-" + task);
        const ended = badge && /st-(finished|failed|killed|lost)/.test(badge.className);
        try {
          const res = await fetch("/tasks/" + encodeURIComponent(task) + "/output?file=" + file + "&offset=" + next, { credentials: "same-origin" });
          if (res.ok) {
            const out = await res.json();
            if (out.data) {
              const atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
              pre.append(document.createTextNode(out.data));
              if (atBottom) pre.scrollTop = pre.scrollHeight;
              idle = 0;
            } else idle++;
            next = out.next;
          }
        } catch { /* try again */ }
        if (ended && idle > 1) return; // drained after the end
        setTimeout(poll, 1000);
      };
      setTimeout(poll, 500);
    });
  }

  // ---- Events page: pause freezes the view, the stream keeps buffering. --
  let heldCount = 0; // events that arrived while paused, held or not
  function holdEvent(c) {
    pausedEvents.push(c);
    heldCount++;
    const keep = Number(($("events-list") || {}).dataset?.keep || 0);
    if (keep && pausedEvents.length > 2 * keep) pausedEvents.splice(0, pausedEvents.length - keep); // older ones would leave the list anyway
    showPaused();
  }
  function showPaused() {
    const note = $("events-paused");
    if (note && pausedEvents) { note.hidden = false; note.textContent = heldCount + " new while paused"; }
  }
  function wirePause() {
    const btn = $("events-pause");
    if (!btn) return;
    btn.hidden = false;
    btn.addEventListener("click", () => {
      if (pausedEvents) {
        const held = pausedEvents;
        pausedEvents = null;
        held.forEach(apply);
        btn.textContent = "Pause";
        $("events-paused").hidden = true;
      } else {
        pausedEvents = [];
        heldCount = 0;
        btn.textContent = "Resume";
        showPaused();
      }
    });
  }

  // ---- Keyboard: g o offers, g t tasks, g l launch, g e events, / filter,
  // j/k to move between offers or task rows, a accept, d decline, x x kill.
  const items = () => Array.from(document.querySelectorAll("article.offer, #tasks-body > tr")).filter((el) => !el.hidden);
  function move(step) {
    const list = items();
    if (list.length === 0) return;
    const cur = list.findIndex((el) => el.classList.contains("selected"));
    const next = list[Math.max(0, Math.min(list.length - 1, cur + step))];
    list.forEach((el) => el.classList.remove("selected"));
    next.classList.add("selected");
    next.tabIndex = -1;
    next.focus();
  }
  const selected = () => document.querySelector(".selected");
  let killArmed = null;
  function wireKeys() {
    let g = false;
    document.addEventListener("keydown", (ev) => {
      const t = ev.target;
      if (t instanceof HTMLInputElement || t instanceof HTMLTextAreaElement || t instanceof HTMLSelectElement || ev.metaKey || ev.ctrlKey || ev.altKey) return;
      if (g) {
        g = false;
        const to = { o: "/offers", t: "/tasks", l: "/launch", e: "/events", a: "/agents", h: "/" }[ev.key];
        if (to) { ev.preventDefault(); location.assign(to); }
        return;
      }
      if (ev.key === "g") { g = true; setTimeout(() => { g = false; }, 1500); return; }
      if (ev.key === "/") { const f = filterInput(); if (f) { ev.preventDefault(); f.focus(); } return; }
      if (ev.key === "j") { move(1); return; }
      if (ev.key === "k") { move(-1); return; }
      const sel = selected();
      if (ev.key === "a" && sel) { const a = sel.querySelector("a.button.primary"); if (a) a.click(); return; }
      if (ev.key === "d" && sel) { const f = sel.querySelector("form.decline"); if (f) f.requestSubmit(); return; }
      if (ev.key === "x" && sel) {
        const f = sel.querySelector("form[data-confirm]");
        if (!f) return;
        if (killArmed === f) { // the second x confirms
          killArmed = null;
          delete f.dataset.confirm;
          f.requestSubmit();
        } else {
          killArmed = f;
          flash("pending", "Press x again to kill " + (sel.querySelector("a") || sel).textContent.trim() + ".");
          setTimeout(() => { if (killArmed === f) killArmed = null; }, 2000);
        }
        return;
      }
      if (ev.key === "?") { flash("ok", "Keys: g o offers · g t tasks · g l launch · g a agents · g e events · g h overview · / filter · j/k move · a accept · d decline · x x kill"); }
    });
  }

  function start() {
    wireTools();
    wireFilter();
    filterAll();
    wireForms();
    wirePreview();
    wireOutput();
    wirePause();
    wireKeys();
    refreshTimes(document);
    setInterval(() => refreshTimes(document), 1000);
    connect();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
