import { test, expect } from '@playwright/test';
import { spawn, ChildProcess, execFileSync } from 'node:child_process';
import { createServer, Server } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const binary = path.join(__dirname, '..', '.build', 'dashboard');

function freePort(): string {
  return execFileSync(process.execPath, ['-e',
    "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{process.stdout.write(String(s.address().port));s.close();});"]).toString();
}

// Payloads that would run script if any page put cluster strings into the
// DOM as markup. Each sets window.__xss or opens a dialog; none contains
// ';' so they also fit the agents' attribute syntax.
const payloads = [
  `<script>window.__xss=1</script>`,
  `<img src=x onerror=window.__xss=2>`,
  `<svg onload=window.__xss=3>`,
  `"><script>window.__xss=4</script>`,
  `'><img src=x onerror=alert(5)>`,
  `<iframe src="javascript:window.top.__xss=6"></iframe>`,
  `<a href="javascript:window.__xss=7">x</a>`,
  `<body onload=window.__xss=8>`,
  `<details open ontoggle=window.__xss=9>`,
  `<input autofocus onfocus=window.__xss=10>`,
  `<video><source onerror=window.__xss=11></video>`,
  `<audio src=x onerror=window.__xss=12>`,
  `<marquee onstart=window.__xss=13>`,
  `<object data="javascript:window.__xss=14"></object>`,
  `<embed src="javascript:window.__xss=15">`,
  `<math><mtext></mtext><mglyph><svg><mtext><style><img src=x onerror=window.__xss=16></style></mtext></svg></mglyph></math>`,
  `<template><script>window.__xss=17</script></template>`,
  `<noscript><p title="</noscript><img src=x onerror=window.__xss=18>">`,
  `{{constructor.constructor('window.__xss=19')()}}`,
  `\${window.__xss=20}`,
  `<style>@import 'javascript:window.__xss=21'</style>`,
  `<link rel=stylesheet href="javascript:window.__xss=22">`,
  `<meta http-equiv="refresh" content="0,url=javascript:window.__xss=23">`,
  `<form action="javascript:window.__xss=24"><button>x</button></form>`,
  `<base href="javascript:window.__xss=25//">`,
  `<select autofocus onfocus=window.__xss=26>`,
  `<textarea autofocus onfocus=window.__xss=27>`,
  `<keygen autofocus onfocus=window.__xss=28>`,
];

test('XSS payloads in every cluster string execute nothing and show as text', async ({ page }) => {
  test.setTimeout(60_000);
  const dir = mkdtempSync(path.join(tmpdir(), 'offerdeck-xss-'));
  // Agents whose hostnames, attribute names and values, and set items carry
  // the payloads: the stand-in sends them in every offer.
  const agents = payloads.map((p, i) => ({
    hostname: `h${i}-${p}`,
    cpus: 1, mem: 256, disk: 100, ports: [[9000, 9010]],
    sets: { [`set${i}`]: [p] },
    attributes: `a${i}:${p.replace(/:/g, '')}`,
  }));
  writeFileSync(path.join(dir, 'agents.json'), JSON.stringify(agents));
  const port = freePort();
  const dash: ChildProcess = spawn(binary, ['--listen', `127.0.0.1:${port}`, '--state-dir', path.join(dir, 'state'),
    '--agents-file', path.join(dir, 'agents.json')], { stdio: 'ignore' });
  const dialogs: string[] = [];
  page.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss(); });
  try {
    const url = `http://127.0.0.1:${port}`;
    await expect(async () => { await page.goto(url + '/offers'); }).toPass({ timeout: 15_000 });
    await expect(page.locator('section.agent')).toHaveCount(payloads.length, { timeout: 20_000 });
    // A task whose command prints a payload: its output is a cluster string too.
    const res = await page.request.post(url + '/launch', {
      form: { name: 'xss', command: `echo '${payloads[1]}'`, cpus: '0.1', mem: '32', request_id: 'xss-1' },
      headers: { Accept: 'application/json' },
    });
    expect((await res.json()).ok).toBe(true);
    for (const p of ['/', '/board', '/offers', '/agents', '/events', '/tasks', '/launch', '/audit']) {
      await page.goto(url + p);
      await page.waitForTimeout(300);
      expect(await page.evaluate(() => (window as any).__xss)).toBeUndefined();
    }
    await page.goto(url + '/offers');
    const text = await page.locator('#offers-list').textContent();
    for (const p of payloads.slice(0, 10)) expect(text).toContain(p);
    await page.goto(url + '/tasks');
    await page.locator('#tasks-body a', { hasText: 'xss' }).first().click();
    await expect(page.locator('#stdout')).toContainText(payloads[1], { timeout: 15_000 });
    expect(await page.evaluate(() => (window as any).__xss)).toBeUndefined();
    expect(dialogs).toEqual([]);
    await page.screenshot({ path: 'artifacts/xss-task.png', fullPage: true });
  } finally {
    const exited = new Promise((r) => dash.once('exit', r));
    dash.kill('SIGTERM');
    await exited;
  }
});

test('another origin cannot act through the viewer\'s browser: form, fetch, WebSocket, iframe', async ({ page, baseURL }) => {
  const target = baseURL!;
  const auditRows = async () => (await (await page.request.get(target + '/audit')).text()).split('id="audit-').length - 1;
  const before = await auditRows();
  // The attacker's page, on another origin (localhost is another site than 127.0.0.1).
  const evil: Server = createServer((req, res) => {
    res.setHeader('Content-Type', 'text/html');
    res.end(`<!doctype html><body>
      <form id=f method=post action="${target}/reconcile"><input name=request_id value=evil-1></form>
      <iframe id=frame src="${target}/offers"></iframe>
      <script>
        window.results = {};
        fetch("${target}/suppress", {method: "POST", mode: "no-cors", body: new URLSearchParams({request_id: "evil-2"})})
          .then(() => window.results.fetch = "sent").catch((e) => window.results.fetch = "blocked");
        const ws = new WebSocket("${target.replace('http', 'ws')}/ws?since=header:0&epoch=x");
        // The form navigates away, carrying what became of the socket in
        // its address: refused by the server, or still pending (Chromium
        // may hold a socket from one loopback name to another). Never open.
        let posted = false;
        const post = () => {
          if (posted) return;
          posted = true;
          const f = document.getElementById("f");
          f.action += "?ws=" + (window.results.ws || "pending");
          f.submit();
        };
        ws.onopen = () => { window.results.ws = "open"; post(); };
        ws.onerror = () => { window.results.ws = "refused"; post(); };
        setTimeout(post, 3000);
      </script></body>`);
  });
  await new Promise<void>((r) => evil.listen(0, 'localhost', () => r()));
  const evilURL = `http://localhost:${(evil.address() as any).port}/`;
  try {
    await page.goto(evilURL);
    // The framed dashboard is blocked by frame-ancestors 'none' and X-Frame-Options.
    const frame = page.frames().find((f) => f !== page.mainFrame());
    expect(frame === undefined || !frame.url().startsWith(target) || (await frame.locator('h1').count()) === 0).toBe(true);
    // The form post lands on a 403 page, and the socket never opened.
    await page.waitForURL(/\/reconcile\?ws=(refused|pending)$/, { timeout: 10_000 });
    expect(await page.content()).toContain('cross-origin');
  } finally {
    evil.close();
  }
  expect(await auditRows()).toBe(before);
  const suppressed = await (await page.request.get(target + '/offers')).text();
  expect(suppressed).toContain('>Suppress<'); // still offered, not suppressed
});
