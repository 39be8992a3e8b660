// The vanilla partial-update baseline for absorb.mjs: the same tasks page
// with static/app.js swapped for this script, which opens the same live
// stream and applies each change naively, one at a time, with no batching:
// a put replaces the row's outerHTML (or appends it while the table is not
// full), a del removes the element, a text sets textContent. It handles no
// reconnect or resync; absorb.mjs records a closed stream.
"use strict";

(function () {
  const body = document.body;
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  const url = proto + "//" + location.host + "/ws?since=" + encodeURIComponent(body.dataset.topics || "") +
    "&epoch=" + encodeURIComponent(body.dataset.epoch || "");
  const socket = new WebSocket(url);
  socket.addEventListener("message", (ev) => {
    const msg = JSON.parse(ev.data);
    for (const c of msg.changes || []) {
      const el = document.getElementById(c.id);
      if (c.op === "put") {
        if (el) {
          el.outerHTML = c.html;
          continue;
        }
        const parent = c.parent && document.getElementById(c.parent);
        if (!parent) continue;
        if (parent.dataset.limit && parent.children.length >= Number(parent.dataset.limit)) continue;
        parent.insertAdjacentHTML("beforeend", c.html);
      } else if (c.op === "del") {
        if (el) el.remove();
      } else if (c.op === "text") {
        if (el) el.textContent = c.text;
      }
    }
  });
})();
