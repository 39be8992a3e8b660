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
  // Presenter mode lives in a cookie the server reads (it renders the page
  // in it, and lands a presenter on the board); an earlier choice kept in
  // localStorage moves there.
  const setPresenter = (on) => {
    if (on) root.dataset.presenter = "on"; else delete root.dataset.presenter;
    document.cookie = "offerdeck-presenter=" + (on ? "on; max-age=31536000" : "; max-age=0") + "; path=/; samesite=lax" +
      (location.protocol === "https:" ? "; secure" : "");
  };
  if (saved("offerdeck.presenter") === "on" && root.dataset.presenter !== "on") setPresenter(true);
  try { localStorage.removeItem("offerdeck.presenter"); } catch { /* storage off */ }
  const currentTheme = () => root.dataset.theme ||
    (window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light");

  function wireTools() {
    const themeBtn = $("theme-toggle");
    const presentBtn = $("presenter-toggle");
    if (themeBtn) {
      themeBtn.addEventListener("click", () => {
        const next = currentTheme() === "dark" ? "light" : "dark";
        root.dataset.theme = next;
        save("offerdeck.theme", next);
      });
    }
    if (presentBtn) {
      // Without the script the button posts its form; with it, the page
      // switches in place.
      const sync = () => {
        const on = root.dataset.presenter === "on";
        presentBtn.setAttribute("aria-pressed", on ? "true" : "false");
        const field = presentBtn.form && presentBtn.form.elements.namedItem("presenter");
        if (field) field.value = on ? "off" : "on";
      };
      sync();
      presentBtn.addEventListener("click", (ev) => {
        ev.preventDefault();
        setPresenter(root.dataset.presenter !== "on");
        sync();
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

  // Lists whose members the client places itself: a put of an element the
  // page lacks goes before the element the server names, else at the end
  // (or the top). A paged list (one page of several) cannot place a new
  // member without knowing the other pages, so it re-renders instead,
  // unless the server keeps its window (window: it deletes what leaves).
  // A batch keeps only the newest change of each element, where that one
  // was made, so a new member may name one that the batch places later:
  // such a put waits in later until the batch is applied (see applyAll).
  function apply(c, later) {
    const old = $(c.id);
    switch (c.op) {
      case "resync":
        if (old) requestResync();
        return;
      case "del":
        if (!old) return;
        old.removeAttribute("id"); // a put of the same id may follow at once
        old.classList.add("leaving");
        if (c.mark) old.dataset.leaving = c.mark;
        setTimeout(() => old.remove(), reduceMotion() ? 0 : 1200);
        return;
      case "put": {
        // Decide before parsing: most puts on a long list are for rows
        // another page shows.
        const parent = !old && c.parent && $(c.parent);
        if (!old && !parent) return; // this page does not show it
        if (!old && parent.dataset.paged === "true" && !c.window) { requestResync(); return; }
        const el = fragment(c.html);
        if (!el) return;
        if (old) {
          if (!replaceKeeping(old, el, false)) { deferred.set(c.id, c); return; }
        } else {
          const before = c.before && $(c.before);
          if (c.before && !before && later) { later.push(c); return; }
          if (before && before.parentElement === parent) parent.insertBefore(el, before);
          else if (c.prepend) parent.prepend(el);
          else parent.append(el);
          if (c.seq) trimEvents(parent, c.seq);
          if (parent.dataset.keep) {
            while (parent.children.length > Number(parent.dataset.keep)) parent.lastElementChild.remove();
          }
          if (filteredOut(parent, el)) el.remove();
          else {
            el.classList.add("arrived");
            setTimeout(() => el.classList.remove("arrived"), presenter() ? 6000 : 2500);
          }
        }
        filterOne(el);
        refreshTimes(el);
        countHidden();
        return;
      }
    }
  }

  // filteredOut reports whether a list's filters, as the server applied
  // them on render, leave out a new member: its type, its cause, and what
  // it must be about (the calls of one offer, task or audit entry).
  function filteredOut(list, el) {
    const d = list.dataset;
    if (d.types !== undefined && !d.types.split(" ").includes(el.dataset.type)) return true;
    if (d.causes !== undefined && !d.causes.split(" ").includes(el.dataset.cause)) return true;
    return !!d.match && !(el.dataset.links || "").split(" ").includes(d.match);
  }

  // trimEvents keeps the events list to the events after newest-keep, as a
  // fresh render of the page shows them, whichever types it lists.
  function trimEvents(list, seq) {
    const newest = Math.max(Number(list.dataset.newest || 0), seq);
    list.dataset.newest = String(newest);
    const keep = Number(list.dataset.keep || 0);
    if (!keep) return;
    Array.from(list.children).forEach((li) => { if (Number(li.dataset.seq) <= newest - keep) li.remove(); });
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

  // updatePositions records how far the page has applied its topics; the
  // body carries it as data-at, and the server instance that numbered them
  // as data-epoch, for tools and tests that compare a page with a fresh
  // render at the same positions.
  function updatePositions(seq) {
    const map = new Map(positions.split(",").filter(Boolean).map((p) => p.split(":")));
    for (const [t, s] of Object.entries(seq)) map.set(t, String(s));
    positions = Array.from(map, ([t, s]) => t + ":" + s).join(",");
    body.dataset.at = positions;
  }
  body.dataset.at = positions;

  function connect() {
    if (!positions) return;
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const url = proto + "//" + location.host + "/ws?since=" + encodeURIComponent(positions) + "&epoch=" + encodeURIComponent(epoch);
    const ws = new WebSocket(url);
    socket = ws;
    ws.addEventListener("open", () => { attempt = 0; });
    ws.addEventListener("message", (ev) => {
      if (socket !== ws) return; // replaced by a resync
      let msg;
      try { msg = JSON.parse(ev.data); } catch { return; }
      // A topic the server cannot resume (or another server instance,
      // whose positions number other changes) is re-rendered whole. The
      // batch's positions and epoch describe that render, not this page,
      // so they are taken from it and not from the message.
      if ((msg.resync && msg.resync.length) || (msg.epoch && msg.epoch !== epoch)) { resync(); return; }
      applyAll((msg.changes || []).filter((c) => {
        if (pausedEvents && c.parent === "events-list") { holdEvent(c); return false; }
        return true;
      }));
      updatePositions(msg.seq || {});
    });
    ws.addEventListener("close", (ev) => {
      if (socket !== ws) return;
      socket = null;
      if (ev.code === 4000) { resync(); return; }
      if (ev.code === 1008) { if (!leaving) location.reload(); return; } // the session ended: the server says where to go
      retry();
    });
  }

  // applyAll applies a batch of changes in order, then the puts that named
  // an element the batch placed after them, until none can be placed; any
  // left go where a put without a neighbour goes.
  function applyAll(changes) {
    let later = [];
    for (const c of changes) apply(c, later);
    while (later.length) {
      const waiting = later;
      later = [];
      for (const c of waiting) apply(c, later);
      if (later.length === waiting.length) { later.forEach((c) => apply(c, null)); break; }
    }
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

  // requestResync re-renders the page's regions soon, at most once a
  // second however often the stream asks.
  let resyncAt = 0, resyncTimer = 0;
  function requestResync() {
    if (resyncTimer) return;
    const wait = Math.max(0, resyncAt + 1000 - Date.now());
    resyncTimer = setTimeout(() => { resyncTimer = 0; resync(); }, wait);
  }

  // resync re-renders this page's regions from a fresh render of the page
  // and resumes the stream from that render's positions: the page then
  // equals its reload, by construction.
  let resyncing = false;
  async function resync() {
    if (resyncing) return;
    resyncing = true;
    resyncAt = Date.now();
    if (socket) { const ws = socket; socket = null; ws.close(1000, "resync"); }
    let doc;
    try {
      const res = await fetch(location.href, { headers: { Accept: "text/html" }, credentials: "same-origin" });
      if (res.redirected || res.status === 401) { location.reload(); return; }
      if (!res.ok) throw new Error(res.status);
      doc = parser.parseFromString(await res.text(), "text/html");
    } catch {
      resyncing = false;
      retry();
      return;
    }
    resyncing = false;
    const fresh = Array.from(doc.querySelectorAll("[data-region]")).filter((el) => el.id && !el.parentElement.closest("[data-region]"));
    const mine = Array.from(document.querySelectorAll("[data-region]")).filter((el) => el.id && !el.parentElement.closest("[data-region]"));
    const same = fresh.length === mine.length && fresh.every((el, i) => el.id === mine[i].id);
    if (!same) { location.reload(); return; } // the page's shape changed (e.g. a task left): load it whole
    fresh.forEach((el, i) => replaceKeeping(mine[i], document.importNode(el, true)));
    positions = doc.body.dataset.topics || positions;
    body.dataset.at = positions;
    epoch = doc.body.dataset.epoch || epoch;
    body.dataset.epoch = epoch;
    const banner = $("live-note");
    if (banner) banner.hidden = true;
    body.classList.remove("offline");
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
    countHidden();
  }
  // countHidden says how many offers (or tasks) the filter hides, as the
  // server's render says it.
  function countHidden() {
    const note = document.querySelector("[data-hidden-count]");
    const input = filterInput();
    if (!note || !input) return;
    const box = $(input.dataset.filterFor);
    if (!box) return;
    let n = 0;
    Array.from(box.children).forEach((el) => {
      if (!el.hidden) return;
      n += el.matches("section.agent") ? el.querySelectorAll("article.offer").length : 1;
    });
    const [one, many] = note.dataset.hiddenCount.split(",");
    note.textContent = (n === 1 ? "1 " + one : n + " " + many) + " hidden by the filter.";
    note.hidden = n === 0;
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

  // ---- Times: the server writes moments; the client says how long ago,
  // or in how long, and keeps that ticking. ---------------------------------
  function span(ms) {
    const s = Math.round(Math.abs(ms) / 1000);
    if (s < 60) return s + " s";
    if (s < 3600) return Math.floor(s / 60) + " min";
    if (s < 48 * 3600) return Math.floor(s / 3600) + " h";
    return Math.floor(s / 86400) + " days";
  }
  function relative(t, now, rel) {
    const d = t - now;
    if (Math.abs(d) < 2000) return rel === "in" && d > 0 ? "in a moment" : "just now";
    return d > 0 && rel === "in" ? "in " + span(d) : (d > 0 ? "just now" : span(d) + " ago");
  }
  function refreshTimes(scope) {
    const now = Date.now();
    const root = scope.querySelectorAll ? scope : document;
    const times = root.matches && root.matches("time[data-rel]") ? [root] : [];
    times.push(...root.querySelectorAll("time[data-rel]"));
    for (const el of times) {
      const t = Date.parse(el.getAttribute("datetime"));
      if (!Number.isNaN(t)) setText(el, relative(t, now, el.dataset.rel));
    }
    applyLaneSpan(root);
    applyFit(root, false);
    // The board's offer lanes and chart stand as of their last change:
    // slide them on to now, so bars move left and held offers keep
    // growing. They are drawn up to the end of the clock's step (data-now),
    // which may be ahead of now.
    if (root === document) sweepSlides();
    eachLaneList(root, "ol.lanes", (ol, scope) => {
      const svgs = scope.matches(".slide") ? [scope] : scope.querySelectorAll(".slide");
      svgs.forEach((svg) => { if (watchSlide(svg)) slide(svg, now, drawnTo(ol)); });
    });
    root.querySelectorAll("[data-hold-until]").forEach((el) => {
      const until = Date.parse(el.dataset.holdUntil), arrived = Date.parse(el.dataset.arrived);
      const ring = el.querySelector(".ring");
      if (ring && until > arrived) ring.style.setProperty("--left", Math.max(0, Math.min(1, (until - now) / (until - arrived))).toFixed(3));
    });
  }

  // slide moves a lane's or chart's picture as a whole, by the share of its
  // span (its viewBox) passed since drawnTo: a transform of the whole SVG
  // element, which the compositor moves without laying the SVG out or
  // painting it again. (A CSS animation doing the same kept the main
  // thread restyling every frame: 58 ms a second on the board at scale.)
  function slide(svg, now, drawnTo) {
    const span = svg.viewBox.baseVal.width;
    if (span > 0) svg.style.transform = "translateX(" + (-(now - drawnTo) / 1000 / span * 100).toFixed(3) + "%)";
  }
  // Only the pictures on the screen step each second: each one stepped
  // costs the page a style pass over it, and at scale the board has 60
  // lanes of which a screen shows a dozen. One coming into view is slid to
  // now as it comes. watchSlide says whether svg is to be slid now: a
  // picture seen for the first time is (it is drawn unmoved), then only
  // while on the screen. The pictures the stream replaced are let go each
  // second (sweepSlides), so the observer holds only the page's.
  const slidesSeen = new Set(), slidesOff = new WeakSet();
  const slideWatch = "IntersectionObserver" in window && new IntersectionObserver((entries) => {
    const now = Date.now();
    for (const e of entries) {
      if (!e.isIntersecting) { slidesOff.add(e.target); continue; }
      slidesOff.delete(e.target);
      const ol = e.target.closest("ol.lanes");
      if (ol) slide(e.target, now, drawnTo(ol));
    }
  });
  function watchSlide(svg) {
    if (!slideWatch) return true;
    if (!slidesSeen.has(svg)) {
      slidesSeen.add(svg);
      slideWatch.observe(svg);
      return true;
    }
    return !slidesOff.has(svg);
  }
  function sweepSlides() {
    for (const svg of slidesSeen) {
      if (!svg.isConnected) { slideWatch.unobserve(svg); slidesSeen.delete(svg); }
    }
  }

  // ---- The board's lanes: how far back they reach, the viewer's pick. ----
  const laneSpans = { 60: "last minute", 300: "last 5 minutes", 900: "last 15 minutes" };
  function laneSpan() {
    let v = 300;
    try { v = Number(localStorage.getItem("offerdeck-lane-span")) || 300; } catch (e) { /* storage off */ }
    return laneSpans[v] ? v : 300;
  }
  // eachLaneList calls fn with each list of lanes (sel) under root, and
  // with the list root is in (a lane the stream replaced), root as its
  // scope; for an axis the stream replaced (the lanes' clock stepped on),
  // with its whole list.
  function eachLaneList(root, sel, fn) {
    root.querySelectorAll(sel).forEach((ol) => fn(ol, ol));
    const own = root.parentElement && root.parentElement.closest(sel);
    if (own) fn(own, root);
    if (root.matches && root.matches(".lane-axis")) {
      const list = root.parentElement && root.parentElement.querySelector(sel);
      if (list) fn(list, list);
    }
  }
  // drawnTo is when a list of lanes is drawn up to: the chart's own
  // data-now, the offer lanes' that of their axis (which goes out alone
  // when their clock steps on, the lanes standing as drawn).
  function drawnTo(ol) {
    if (ol.dataset.now) return Number(ol.dataset.now);
    const axis = ol.parentElement && ol.parentElement.querySelector(".lane-axis[data-now]");
    return axis ? Number(axis.dataset.now) : NaN;
  }
  // applyLaneSpan shows the newest span seconds up to where the offer
  // lanes are drawn to, their positions being seconds from data-origin: 300,
  // the default, is what the server wrote. It runs every second with the
  // clock: it writes only what differs, since each write lays the page out
  // again.
  function applyLaneSpan(root) {
    const span = laneSpan();
    eachLaneList(root, "ol.offer-lanes[data-origin]", (ol, scope) => {
      const end = (drawnTo(ol) - Number(ol.dataset.origin)) / 1000;
      if (!Number.isFinite(end)) return;
      const svgs = scope.matches(".lane-svg") ? [scope] : scope.querySelectorAll(".lane-svg"); // a lane's picture the stream replaced
      svgs.forEach((svg) => setAttr(svg, "viewBox", (end - span) + " 0 " + span + " 10"));
      const start = ol.parentElement && ol.parentElement.querySelector(".lane-start");
      if (start) setText(start, "−" + span + " s");
    });
    const title = $("lane-span");
    if (title) setText(title, laneSpans[span]);
    document.querySelectorAll("button.lane-span").forEach((b) => setAttr(b, "aria-pressed", String(Number(b.dataset.span) === span)));
  }
  function setAttr(el, name, v) { if (el.getAttribute(name) !== v) el.setAttribute(name, v); }
  function setText(el, v) { if (el.textContent !== v) el.textContent = v; }
  function wireLaneSpan() {
    document.querySelectorAll("button.lane-span").forEach((b) => b.addEventListener("click", () => {
      try { localStorage.setItem("offerdeck-lane-span", b.dataset.span); } catch (e) { /* storage off */ }
      applyLaneSpan(document);
    }));
  }

  // A select that says so sends its form as soon as the reader picks (the
  // board's grouping); without the script its form has a button. Listened
  // for on the document: live updates replace the select.
  document.addEventListener("change", (ev) => {
    const s = ev.target;
    if (s instanceof HTMLSelectElement && s.hasAttribute("data-submit-on-change") && s.form) s.form.requestSubmit();
  });

  // ---- Actions in place. -------------------------------------------------
  // flash shows an action's answer; answers that went well leave by
  // themselves, errors stay until the reader closes them.
  let flashTimer = 0;
  function flash(kind, message) {
    const el = $("flash");
    if (!el) return;
    el.className = "flash flash-" + kind;
    el.textContent = message;
    el.hidden = false;
    clearTimeout(flashTimer);
    if (kind !== "error") flashTimer = setTimeout(() => { el.hidden = true; }, kind === "pending" ? 15000 : 6000);
  }
  const requestID = () => {
    const b = new Uint8Array(12);
    crypto.getRandomValues(b);
    return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  };
  let leaving = false; // a form that navigates (log in, log out) was sent
  function wireForms() {
    document.addEventListener("submit", (ev) => {
      if (ev.target instanceof HTMLFormElement && !ev.target.matches(".act, .act-page")) leaving = true;
    });
    const f = $("flash");
    if (f) f.addEventListener("click", () => { f.hidden = true; });
    document.addEventListener("submit", async (ev) => {
      const form = ev.target;
      // Only the action forms answer in place; logging in and out are
      // ordinary navigations.
      if (!(form instanceof HTMLFormElement) || form.method.toLowerCase() !== "post" || !form.matches(".act, .act-page")) return;
      if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) { ev.preventDefault(); return; }
      ev.preventDefault();
      const rid = form.querySelector("input[name=request_id]");
      if (rid && !rid.value) rid.value = requestID();
      const button = form.querySelector("button[type=submit]");
      if (button) button.disabled = true;
      flash("pending", "Working…");
      try {
        const res = await fetch(form.action, {
          method: "POST", body: new URLSearchParams(new FormData(form)),
          headers: { Accept: "application/json" }, credentials: "same-origin",
        });
        const answer = await res.json().catch(() => ({ ok: false, error: "The server answered " + res.status + " without saying why." }));
        if (answer.ok) {
          flash("ok", answer.message || "Done.");
          if (answer.next) { location.assign(answer.next); return; }
          if (rid) rid.value = ""; // the next submission is a new request
        } else {
          flash("error", answer.error || "The action failed.");
          if (rid && res.status !== 409) rid.value = ""; // refused: trying again is a new request
        }
      } catch {
        flash("error", "The dashboard did not answer; the action may not have happened. Check the audit page.");
      } finally {
        if (button) button.disabled = false;
        if (rid && form.closest("[data-region]")) rid.value = "";
      }
    });
    // Copy buttons copy the id they stand beside.
    document.addEventListener("click", async (ev) => {
      const b = ev.target instanceof Element && ev.target.closest("button.copy[data-copy]");
      if (!b) return;
      try { await navigator.clipboard.writeText(b.dataset.copy); flash("ok", "Copied " + (b.dataset.copyLabel || b.dataset.copy)); }
      catch { flash("error", "The browser did not allow copying; select the text instead."); }
    });
  }

  // ---- The launch form's live preview. -----------------------------------
  // The spec typed is also left in localStorage (with the time, renewed at
  // every refresh), so that a board open in another tab of this browser
  // marks where it fits: the storage event tells it at once, and a spec
  // the Launch page stopped renewing (closed, or gone to another page)
  // is stale after specStale.
  const specKey = "offerdeck.launch-spec";
  const specStale = 120000;
  function wirePreview() {
    const form = $("launch-form");
    const box = $("preview");
    if (!form || !box) return;
    let timer = 0;
    const query = () => {
      const q = new URLSearchParams(new FormData(form));
      q.delete("request_id"); q.delete("back"); q.delete("preview");
      return q.toString();
    };
    const refresh = async () => {
      const q = query();
      try { localStorage.setItem(specKey, JSON.stringify({ q, at: Date.now() })); } catch { /* storage off */ }
      try {
        const res = await fetch("/launch/preview?" + q, { credentials: "same-origin" });
        if (!res.ok) return;
        const doc = parser.parseFromString(await res.text(), "text/html");
        for (const id of ["preview", "fit-map"]) {
          const fresh = doc.getElementById(id), old = $(id);
          if (fresh && old) replaceKeeping(old, document.importNode(fresh, true), false);
        }
      } catch { /* offline: keep the last preview */ }
    };
    form.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(refresh, 250); });
    setInterval(refresh, 3000); // offers come and go
    window.addEventListener("pagehide", () => { try { localStorage.removeItem(specKey); } catch { /* storage off */ } });
    window.addEventListener("pageshow", (ev) => { if (ev.persisted) refresh(); });
    try { localStorage.setItem(specKey, JSON.stringify({ q: query(), at: Date.now() })); } catch { /* storage off */ }
  }

  // ---- The board: where the spec typed on Launch fits. ------------------
  // A layer of the viewer's own over the shared regions: the board asks
  // the server's preview for the spec's fit map and copies each agent's
  // mark (and data-fit, which lights the card and the lane up) onto its
  // rack map and lanes; refreshTimes lays it again over regions the
  // stream replaced. Nothing of it is ever part of a region's bytes.
  let fitMarks = null; // agent id -> { fit, mark } of the last answer
  let fitQuery = "", fitHidden = "";
  // focusedFit is the mark that last had focus, so that a mark the stream
  // replaced (its lane or card re-rendered) gets the focus back.
  let focusedFit = null;
  function specTyped() {
    let v = null;
    try { v = JSON.parse(localStorage.getItem(specKey) || "null"); } catch { /* storage off or bad */ }
    return v && typeof v.q === "string" && Date.now() - v.at < specStale ? v.q : "";
  }
  async function fetchFit() {
    const q = specTyped();
    if (!q || q === fitHidden) { fitQuery = q; clearFit(); return; }
    try {
      const res = await fetch("/launch/preview?" + q, { credentials: "same-origin" });
      if (!res.ok) return;
      const doc = parser.parseFromString(await res.text(), "text/html");
      if (q !== specTyped()) return; // a newer spec is on its way
      fitQuery = q;
      fitMarks = new Map();
      doc.querySelectorAll("#fit-map [data-agent]").forEach((el) => {
        const mark = el.querySelector(".fit-mark");
        if (mark) fitMarks.set(el.dataset.agent, { fit: el.dataset.fit, mark: document.importNode(mark, true) });
      });
      const banner = $("fit-banner");
      if (banner) {
        const summary = doc.getElementById("fit-summary");
        $("fit-banner-text").textContent = "Lit up: where the spec typed on Launch fits. " + (summary ? summary.textContent : "");
        banner.hidden = false;
      }
      applyFit(document, true);
    } catch { /* offline: keep the last marks */ }
  }
  function clearFit() {
    fitMarks = null;
    document.querySelectorAll("[data-agent][data-fit]").forEach((el) => delete el.dataset.fit);
    document.querySelectorAll("[data-region] .fit-mark").forEach((el) => el.remove());
    const banner = $("fit-banner");
    if (banner) banner.hidden = true;
  }
  // applyFit marks the lanes and cards under scope; fresh replaces marks
  // already there (a new answer), otherwise only unmarked ones get one.
  function applyFit(scope, fresh) {
    if (!fitMarks || !$("fit-banner")) return;
    const els = Array.from(scope.querySelectorAll("li.lane[data-agent], li.rack-agent[data-agent]"));
    if (scope.matches && scope.matches("li[data-agent]")) els.push(scope);
    for (const el of els) {
      const m = fitMarks.get(el.dataset.agent);
      const old = el.querySelector(".fit-mark");
      if (old && (!fresh || (m && old.outerHTML === m.mark.outerHTML && el.dataset.fit === m.fit))) continue;
      if (old) old.remove();
      if (!m) { delete el.dataset.fit; continue; }
      el.dataset.fit = m.fit;
      const mark = m.mark.cloneNode(true);
      if (el.matches(".lane")) el.querySelector(".lane-host").append(mark);
      else el.querySelector("h2, h3, h4").after(mark);
      const f = focusedFit;
      if (f && !f.el.isConnected && (document.activeElement === body || !document.activeElement) &&
          f.agent === el.dataset.agent && f.lane === el.matches(".lane")) {
        mark.focus({ preventScroll: true });
      }
    }
  }
  function wireFit() {
    const banner = $("fit-banner");
    if (!banner) return;
    document.addEventListener("focusin", (ev) => {
      const li = ev.target instanceof Element && ev.target.matches(".fit-mark") && ev.target.closest("li[data-agent]");
      if (li) focusedFit = { el: ev.target, agent: li.dataset.agent, lane: li.matches(".lane") };
    });
    window.addEventListener("storage", (ev) => { if ((ev.key === specKey || ev.key === null) && specTyped() !== fitQuery) fetchFit(); });
    $("fit-banner-hide").addEventListener("click", () => { fitHidden = fitQuery; clearFit(); });
    // The storage event brings a new spec at once; offers coming and going
    // are followed by asking again every 3 s while a spec is typed (not
    // on the Launch tab's renewals, which a browser may throttle in a
    // background tab). A spec no longer renewed goes stale.
    setInterval(() => { if (fitMarks || specTyped()) fetchFit(); }, 3000);
    fetchFit();
  }

  // ---- A task's output, followed until it ends. --------------------------
  function wireOutput() {
    document.querySelectorAll("pre.output[data-task]").forEach((pre) => {
      const task = pre.dataset.task, file = pre.dataset.file;
      let next = Number(pre.dataset.next || 0);
      let idle = 0;
      const poll = async () => {
        const head = document.querySelector("[data-live-task]");
        const ended = head && head.dataset.liveTask === "false";
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
    const list = $("events-list");
    const type = /data-type="([A-Z_]+)"/.exec(c.html || "");
    if (!list || !type || list.dataset.types.split(" ").includes(type[1])) heldCount++;
    const keep = Number(($("events-list") || {}).dataset?.keep || 0);
    if (keep && pausedEvents.length > 2 * keep) pausedEvents.splice(0, pausedEvents.length - keep); // older ones would leave the list anyway
    showPaused();
  }
  function showPaused() {
    const note = $("events-paused");
    if (note && pausedEvents) { note.hidden = false; note.textContent = (heldCount === 1 ? "1 new event" : heldCount + " new events") + " while paused"; }
  }
  function wirePause() {
    const btn = $("events-pause");
    if (!btn) return;
    btn.addEventListener("click", () => {
      if (pausedEvents) {
        const held = pausedEvents;
        pausedEvents = null;
        applyAll(held);
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

  // ---- Keyboard: g o offers, g t tasks, g l launch, g e events, g c calls, / filter,
  // j/k to move between offers or task rows, a accept, d decline, x x kill.
  // Only what the reader can see: a row or offer inside a hidden card (an
  // agent the filter hides) is not selectable.
  const items = () => Array.from(document.querySelectorAll("article.offer, #tasks-body > tr")).filter((el) => !el.closest("[hidden]") && el.getClientRects().length > 0);
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
        const to = { o: "/offers", t: "/tasks", l: "/launch", e: "/events", c: "/calls", a: "/agents", h: "/" }[ev.key];
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
      if (ev.key === "?") { flash("ok", "Keys: g o offers · g t tasks · g l launch · g a agents · g e events · g c calls · g h overview · / filter · j/k move · a accept · d decline · x x kill"); }
    });
  }

  function start() {
    wireTools();
    wireFilter();
    filterAll();
    wireForms();
    wirePreview();
    wireFit();
    wireOutput();
    wirePause();
    wireKeys();
    wireLaneSpan();
    refreshTimes(document);
    setInterval(() => refreshTimes(document), 1000);
    connect();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
