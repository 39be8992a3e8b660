// Offerdeck's client script: no framework, no build step, no inline script
// anywhere (the Content-Security-Policy forbids it). It only ever sets text
// and attributes, never HTML from strings.
"use strict";

(function () {
  const root = document.documentElement;
  root.classList.add("js");

  // Theme and presenter mode are the reader's choice and survive reloads.
  const saved = (key) => { try { return localStorage.getItem(key); } catch { return null; } };
  const save = (key, v) => { try { localStorage.setItem(key, v); } catch { /* private mode */ } };

  const theme = saved("offerdeck.theme");
  if (theme === "light" || theme === "dark") root.dataset.theme = theme;
  if (saved("offerdeck.presenter") === "on") root.dataset.presenter = "on";

  function currentTheme() {
    if (root.dataset.theme) return root.dataset.theme;
    return window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
  }

  function wire() {
    const themeBtn = document.getElementById("theme-toggle");
    const presentBtn = document.getElementById("presenter-toggle");
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

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", wire);
  else wire();
})();
