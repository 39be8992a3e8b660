#!/usr/bin/env node
// absorb.mjs: the browser lane of the performance figures (issue 8, M9 and
// the Chromium part of M1). It starts the whole dashboard in scale mode
// (`cmd/bench -serve-stack`, 100k simulated tasks by default), opens pages of
// its tasks table (50 rows a page, updated in place; --paths) in Debian's Chromium while the
// stand-in sends health-check updates at each asked rate, and measures in
// the page: main-thread busy time per 16.7 ms frame interval (from the
// toplevel tasks of a Chromium trace), requestAnimationFrame intervals, long
// tasks, JS heap and DOM nodes (CDP Performance.getMetrics), and event → DOM
// latency (now minus a row's data-updated when the row enters the DOM).
// Each rate runs twice: with Offerdeck's static/app.js ("ours") and with
// vanilla.js ("vanilla", a naive outerHTML-per-change baseline served by a
// Playwright route in place of /static/app.js, so the page is otherwise the
// same), each in a fresh browser.
//
// Run it from the repository root (needs node 20+, /usr/bin/chromium and
// `npm ci` in playwright/; no browser download):
//
//	go build -o /tmp/offerdeck-bench ./cmd/bench
//	node playwright/bench/absorb.mjs --bench-bin /tmp/offerdeck-bench           # 100k tasks, 60 s a lane
//	node playwright/bench/absorb.mjs --bench-bin /tmp/offerdeck-bench --agents 1000 --duration 15
//	node playwright/bench/absorb.mjs --bench-bin /tmp/offerdeck-bench --rates 10000 --duration 600
//
// Without --bench-bin it runs `go run ./cmd/bench`. It prints one JSON
// object on stdout (progress goes to stderr) and always stops the server:
// it closes the server's stdin, then kills its process group after a grace
// time. `npm run bench:absorb -- <flags>` in playwright/ runs it too.
import { chromium } from '@playwright/test';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..', '..');

const { values: flags } = parseArgs({
  options: {
    'duration': { type: 'string', default: '60' },
    'warmup': { type: 'string', default: '5' },
    'rates': { type: 'string', default: '2000,10000' },
    'variants': { type: 'string', default: 'ours,vanilla' },
    // The first page follows only its own rows; any other page (or a
    // filtered one) receives every task's changes: the browser's worst case.
    'paths': { type: 'string', default: '/tasks,/tasks?page=2' },
    'agents': { type: 'string', default: '10000' },
    'tasks-per-agent': { type: 'string', default: '10' },
    'bench-bin': { type: 'string' },
    'chromium': { type: 'string', default: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium' },
    'sample': { type: 'string', default: '5' },
    'trace-chunk': { type: 'string', default: '30' },
    'startup-timeout': { type: 'string', default: '900' },
    'out': { type: 'string' },
  },
});
const duration = Number(flags.duration);
const warmup = Number(flags.warmup);
const rates = flags.rates.split(',').map(Number);
const variants = flags.variants.split(',');
const paths = flags.paths.split(',');
const sampleEvery = Number(flags.sample);
const traceChunk = Number(flags['trace-chunk']);
const frameUs = 1e6 / 60;
const log = (...a) => console.error('absorb:', ...a);

// ---- The server: a child process, always stopped. ---------------------
let server = null;
async function startServer() {
  const args = ['-serve-stack', '-agents', flags.agents, '-tasks-per-agent', flags['tasks-per-agent']];
  const [cmd, argv] = flags['bench-bin'] ? [flags['bench-bin'], args] : ['go', ['run', './cmd/bench', ...args]];
  log('starting', cmd, argv.join(' '));
  const child = spawn(cmd, argv, { cwd: repo, stdio: ['pipe', 'pipe', 'inherit'], detached: true });
  const lines = [];
  let waiting = null;
  const exited = new Promise((resolve) => child.on('exit', (code, sig) => resolve({ code, sig })));
  createInterface({ input: child.stdout }).on('line', (l) => {
    if (waiting) { const w = waiting; waiting = null; w(l); } else lines.push(l);
  });
  const next = (seconds) => new Promise((resolve, reject) => {
    if (lines.length) return resolve(lines.shift());
    const timer = setTimeout(() => { waiting = null; reject(new Error(`server: no answer in ${seconds} s`)); }, seconds * 1000);
    exited.then(({ code, sig }) => reject(new Error(`server exited (${code ?? sig})`)));
    waiting = (l) => { clearTimeout(timer); resolve(l); };
  });
  server = {
    child, exited,
    async command(line) {
      child.stdin.write(line + '\n');
      const answer = await next(30);
      if (answer !== 'ok') throw new Error(`server: ${line}: ${answer}`);
    },
  };
  let line;
  do { line = await next(Number(flags['startup-timeout'])); } while (!line.startsWith('url '));
  return line.slice(4).trim();
}
async function stopServer() {
  if (!server) return;
  const { child, exited } = server;
  server = null;
  child.stdin.end();
  const grace = new Promise((r) => setTimeout(() => r('timeout'), 20_000));
  if (await Promise.race([exited, grace]) === 'timeout') {
    log('server did not stop in 20 s: killing it');
    try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ }
    await exited;
  }
}
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, async () => { await stopServer(); process.exit(130); });
}

// ---- Statistics. ------------------------------------------------------
function summary(xs) {
  if (xs.length === 0) return { n: 0 };
  const s = Float64Array.from(xs).sort();
  const at = (q) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
  const r = (v) => Math.round(v * 100) / 100;
  return { n: s.length, p50: r(at(0.5)), p99: r(at(0.99)), max: r(s[s.length - 1]) };
}
// slope is the least-squares slope of ys over xs.
function slope(xs, ys) {
  const n = xs.length;
  if (n < 2) return 0;
  const mx = xs.reduce((a, b) => a + b) / n, my = ys.reduce((a, b) => a + b) / n;
  let num = 0, den = 0;
  for (let i = 0; i < n; i++) { num += (xs[i] - mx) * (ys[i] - my); den += (xs[i] - mx) ** 2; }
  return den ? num / den : 0;
}

// ---- Tracing: main-thread busy time per frame interval. ---------------
async function readTrace(cdp) {
  const done = new Promise((resolve) => cdp.once('Tracing.tracingComplete', resolve));
  await cdp.send('Tracing.end');
  const { stream } = await done;
  const parts = [];
  for (;;) {
    const { data, eof, base64Encoded } = await cdp.send('IO.read', { handle: stream, size: 1 << 22 });
    parts.push(base64Encoded ? Buffer.from(data, 'base64').toString() : data);
    if (eof) break;
  }
  await cdp.send('IO.close', { handle: stream });
  const text = parts.join('');
  const events = JSON.parse(text);
  return Array.isArray(events) ? events : events.traceEvents;
}
function startTrace(cdp) {
  return cdp.send('Tracing.start', { categories: 'toplevel', transferMode: 'ReturnAsStream' });
}
// busyWindows reduces one trace chunk to the renderer main thread's busy
// microseconds in each frame interval, and its tasks over 50 ms.
function busyWindows(events) {
  const mains = new Set();
  for (const e of events) {
    if (e.ph === 'M' && e.name === 'thread_name' && e.args?.name === 'CrRendererMain') mains.add(e.pid + ':' + e.tid);
  }
  const byThread = new Map();
  for (const e of events) {
    if (e.ph !== 'X' || !e.dur || !e.cat?.includes('toplevel')) continue;
    const k = e.pid + ':' + e.tid;
    if (!mains.has(k)) continue;
    if (!byThread.has(k)) byThread.set(k, []);
    byThread.get(k).push([e.ts, e.ts + e.dur]);
  }
  // The page's renderer is the busiest one (a spare renderer idles).
  let spans = [], most = -1;
  for (const list of byThread.values()) {
    const total = list.reduce((a, [s, e]) => a + e - s, 0);
    if (total > most) { most = total; spans = list; }
  }
  if (spans.length === 0) return { windows: [], long: [] };
  spans.sort((a, b) => a[0] - b[0]);
  const merged = [];
  for (const [s, e] of spans) {
    const last = merged[merged.length - 1];
    if (last && s <= last[1]) last[1] = Math.max(last[1], e); else merged.push([s, e]);
  }
  const t0 = merged[0][0], t1 = merged[merged.length - 1][1];
  const windows = new Float64Array(Math.ceil((t1 - t0) / frameUs) + 1);
  const long = [];
  for (const [s, e] of merged) {
    if (e - s > 50_000) long.push((e - s) / 1000);
    for (let w = Math.floor((s - t0) / frameUs); w * frameUs + t0 < e; w++) {
      const ws = t0 + w * frameUs;
      windows[w] += Math.min(e, ws + frameUs) - Math.max(s, ws);
    }
  }
  return { windows: Array.from(windows, (us) => us / 1000), long };
}

// ---- One lane: one variant at one rate, in a fresh browser. -----------
async function lane(base, variant, rate, where) {
  const browser = await chromium.launch({
    executablePath: flags.chromium,
    args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-quic',
      '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    const page = await context.newPage();
    await page.addInitScript({ path: path.join(here, 'probe.js') });
    if (variant === 'vanilla') {
      // Only the script is swapped: a document fulfilled by a route counts
      // as outside the local network, and Chromium would block its socket.
      const script = readFileSync(path.join(here, 'vanilla.js'));
      await page.route(base + '/static/app.js*', (r) => r.fulfill({ contentType: 'text/javascript', body: script }));
    }
    const cdp = await context.newCDPSession(page);
    await cdp.send('Performance.enable');
    const browserCDP = await browser.newBrowserCDPSession();
    await page.goto(base + where, { timeout: 120_000 });
    const rows = await page.locator('#tasks-body > tr').count();
    await page.waitForTimeout(warmup * 1000);

    const metrics = async () => {
      const { metrics } = await cdp.send('Performance.getMetrics');
      return Object.fromEntries(metrics.map((m) => [m.name, m.value]));
    };
    await cdp.send('HeapProfiler.collectGarbage');
    const first = await metrics();
    const samples = [{ t: 0, heapMB: first.JSHeapUsedSize / 2 ** 20, nodes: first.Nodes, listeners: first.JSEventListeners }];
    await startTrace(browserCDP);
    await page.evaluate(() => { window.__absorb.take(); window.__absorb.on = true; });
    const started = Date.now();
    const took = { msgs: 0, bytes: 0, changes: {}, resyncs: 0, closes: [], lat: [], latFrame: [], frames: [], longTasks: [], loafs: [] };
    const take = async () => {
      const t = await page.evaluate(() => window.__absorb.take());
      took.msgs += t.msgs; took.bytes += t.bytes; took.resyncs += t.resyncs; took.closes.push(...t.closes);
      for (const [k, v] of Object.entries(t.changes)) took.changes[k] = (took.changes[k] || 0) + v;
      for (const k of ['lat', 'latFrame', 'frames', 'longTasks', 'loafs']) for (const x of t[k]) took[k].push(x);
    };
    const busy = [], traceLong = [];
    let chunkStart = Date.now();
    while (Date.now() - started < duration * 1000) {
      await page.waitForTimeout(Math.min(sampleEvery * 1000, duration * 1000 - (Date.now() - started)));
      const m = await metrics();
      samples.push({ t: (Date.now() - started) / 1000, heapMB: m.JSHeapUsedSize / 2 ** 20, nodes: m.Nodes, listeners: m.JSEventListeners });
      await take();
      if (Date.now() - chunkStart >= traceChunk * 1000 && Date.now() - started < duration * 1000 - 2000) {
        const w = busyWindows(await readTrace(browserCDP));
        busy.push(...w.windows); traceLong.push(...w.long);
        await startTrace(browserCDP);
        chunkStart = Date.now();
      }
    }
    await page.evaluate(() => { window.__absorb.on = false; });
    const elapsed = (Date.now() - started) / 1000;
    const w = busyWindows(await readTrace(browserCDP));
    busy.push(...w.windows); traceLong.push(...w.long);
    await take();
    const last = await metrics();
    await cdp.send('HeapProfiler.collectGarbage');
    const end = await metrics();

    const per = (v) => Math.round(v / elapsed);
    const perMs = (k) => Math.round((last[k] - first[k]) / elapsed * 1000 * 10) / 10; // ms a second
    const heap = samples.map((s) => s.heapMB);
    const fifth = Math.max(1, Math.floor(samples.length / 5));
    const r1 = (v) => Math.round(v * 10) / 10;
    return {
      variant, rate, path: where, seconds: Math.round(elapsed), rowsOnPage: rows,
      received: {
        messagesPerSec: per(took.msgs), bytesPerSec: per(took.bytes),
        taskChangesPerSec: per(Object.entries(took.changes).filter(([t]) => /^tasks(-page-\d+)?$/.test(t)).reduce((a, [, n]) => a + n, 0)), allChangesPerSec: per(Object.values(took.changes).reduce((a, b) => a + b, 0)),
        resyncs: took.resyncs, closes: took.closes,
      },
      rowsReplacedPerSec: per(took.lat.length),
      latencyMs: summary(took.lat), latencyAtFrameMs: summary(took.latFrame),
      mainThreadMsPerFrame: { ...summary(busy), over8: busy.filter((b) => b > 8).length, utilization: r1(busy.reduce((a, b) => a + b, 0) / (busy.length * frameUs / 1000) * 100) },
      rafIntervalMs: { ...summary(took.frames), over25: took.frames.filter((f) => f > 25).length },
      longTasks: { count: took.longTasks.length, maxMs: Math.round(Math.max(0, ...took.longTasks.map((t) => t.dur))), traceCount: traceLong.length, traceMaxMs: Math.round(Math.max(0, ...traceLong)) },
      longAnimationFrames: { count: took.loafs.length, maxMs: Math.round(Math.max(0, ...took.loafs.map((l) => l.dur))), forcedLayoutMs: Math.round(took.loafs.reduce((a, l) => a + l.forced, 0)) },
      // Main-thread time a second by kind, from Performance.getMetrics.
      msPerSec: { task: perMs('TaskDuration'), script: perMs('ScriptDuration'), layout: perMs('LayoutDuration'), style: perMs('RecalcStyleDuration') },
      layoutsPerSec: per(last.LayoutCount - first.LayoutCount), styleRecalcsPerSec: per(last.RecalcStyleCount - first.RecalcStyleCount),
      memory: {
        heapAfterGCStartMB: r1(first.JSHeapUsedSize / 2 ** 20), heapAfterGCEndMB: r1(end.JSHeapUsedSize / 2 ** 20),
        heapMinFirstFifthMB: r1(Math.min(...heap.slice(0, fifth))), heapMinLastFifthMB: r1(Math.min(...heap.slice(-fifth))),
        heapSlopeMBPerMin: Math.round(slope(samples.map((s) => s.t / 60), heap) * 100) / 100,
        nodesStart: first.Nodes, nodesEnd: end.Nodes, listenersStart: first.JSEventListeners, listenersEnd: end.JSEventListeners,
        samples: samples.map((s) => ({ t: Math.round(s.t), heapMB: r1(s.heapMB), nodes: s.nodes })),
      },
    };
  } finally {
    await browser.close();
  }
}

async function main() {
  const started = Date.now();
  const base = await startServer();
  log('dashboard at', base, 'after', Math.round((Date.now() - started) / 1000), 's');
  const out = {
    chromium: null, agents: Number(flags.agents), tasks: Number(flags.agents) * Number(flags['tasks-per-agent']),
    durationSec: duration, lanes: [],
  };
  try {
    for (const rate of rates) {
      await server.command('rate ' + rate);
      for (const where of paths) for (const v of variants) {
        log(`lane ${v} on ${where} at ${rate}/s for ${duration} s`);
        const r = await lane(base, v, rate, where);
        log(`  received ${r.received.taskChangesPerSec} task changes/s; main thread p99 ${r.mainThreadMsPerFrame.p99} ms/frame; ` +
          `latency p99 ${r.latencyMs.p99} ms; long tasks ${r.longTasks.count}; heap ${r.memory.heapAfterGCStartMB} → ${r.memory.heapAfterGCEndMB} MB`);
        out.lanes.push(r);
      }
    }
    await server.command('rate 0');
  } finally {
    await stopServer();
  }
  const b = await chromium.launch({ executablePath: flags.chromium, args: ['--headless=new', '--no-sandbox'] });
  out.chromium = b.version();
  await b.close();
  const json = JSON.stringify(out, null, 2);
  if (flags.out) writeFileSync(flags.out, json + '\n');
  process.stdout.write(json + '\n');
}

main().catch(async (err) => {
  console.error('absorb:', err);
  await stopServer();
  process.exit(1);
});
