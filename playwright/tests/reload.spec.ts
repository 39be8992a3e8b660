import { test, expect, Page } from '@playwright/test';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, startMaster, fault, startDashboard, stopDashboard } from './processes';

// Live equals reload: with every kind of page open, a seeded random
// sequence of actions runs against the dashboard, and after each one every
// open page, as its live stream changed it, must equal a fresh load of the
// same URL (relative times aside, order included). OFFERDECK_SEEDS names
// the seeds ("1,2,3"); each is printed so a failure can be replayed.
//
// Even seeds run the dashboard on its embedded stand-in master, so a
// restart restarts the master too; odd seeds run the stand-in alone
// ("dashboard local --fault-api", with credentials) and point the dashboard
// at it, so agents can be removed and added through its fault API and a
// restart is the dashboard's alone, as against a real cluster.

const pages = ['/', '/board', '/board?group=pod', '/cluster', '/frameworks', '/offers', '/tasks', '/agents', '/events', '/calls', '/audit', '/launch', '/tasks?state=TASK_RUNNING'];

// mulberry32: a small seeded generator, so a run is replayable.
function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// state is what a reader sees of a page, as comparable text, and the live
// positions it shows (body data-at, after the epoch of the server instance
// that numbered them, body data-epoch), read in one go so that they belong
// together: the main region and the tab counts, with what legitimately
// differs between two loads taken out (relative times, per-viewer request
// ids, animations in flight, the action answer, output tails, and the
// launch form's preview and fit map, which the form's own values decide and
// the client asks for as the reader types, and the board's marks of where
// that spec fits, a layer of the viewer's own over the regions).
type State = { at: string; shape: string };
async function state(page: Page): Promise<State> {
  return page.evaluate(() => {
    const root = document.createElement('div');
    const counts = Array.from(document.querySelectorAll('nav.tabs .count')).map((c) => c.id + '=' + c.textContent).join(' ');
    root.append(document.querySelector('main')!.cloneNode(true));
    root.querySelectorAll('#flash, .leaving, pre.output, #output-error, #events-paused, #preview, #fit-map, #fit-banner, .fit-mark').forEach((el) => el.remove());
    root.querySelectorAll('time').forEach((el) => { el.textContent = ''; });
    root.querySelectorAll('*').forEach((el) => {
      el.classList.remove('arrived', 'selected');
      if (el.getAttribute('class') === '') el.removeAttribute('class');
      el.removeAttribute('style');
      el.removeAttribute('tabindex');
      el.removeAttribute('data-fit');
      if (el instanceof HTMLInputElement || el instanceof HTMLTextAreaElement) el.removeAttribute('value');
    });
    const shape = counts + '\n' + root.innerHTML.replace(/>\s+</g, '><').replace(/\s+/g, ' ');
    return { at: (document.body.dataset.epoch ?? '') + '@' + (document.body.dataset.at ?? document.body.dataset.topics ?? ''), shape };
  });
}

// logs holds what each open page's live stream did, printed when the page
// drifts.
const logs = new Map<Page, string[]>();
function watch(page: Page) {
  const log: string[] = [];
  logs.set(page, log);
  const at = () => new Date().toISOString().slice(11, 23);
  page.on('websocket', (ws) => {
    log.push(`${at()} open ${ws.url().replace(/^.*\?/, '')}`);
    ws.on('framereceived', (f) => {
      const m = String(f.payload);
      const ids = Array.from(m.matchAll(/"op":"(\w+)","id":"([^"]+)"/g), (x) => x[1] + ' ' + x[2]).join(', ');
      log.push(`${at()} frame ${m.slice(0, 70)} ${ids}`);
    });
    ws.on('socketerror', (e) => log.push(`${at()} error ${e}`));
    ws.on('close', () => log.push(`${at()} close`));
  });
  page.on('console', (m) => log.push(`${at()} console ${m.text()}`));
  page.on('pageerror', (e) => log.push(`${at()} pageerror ${e.message}`));
}

// positions parses "topic:seq,..." into a map.
const positions = (at: string) => new Map(at.split(',').filter(Boolean).map((p) => { const [t, n] = p.split(':'); return [t, Number(n)] as [string, number]; }));
// compare compares two "epoch@positions": -1 if a is behind b somewhere,
// 0 if equal, 1 if a is ahead and nowhere behind. Positions numbered by
// another server instance (an epoch other than the fresh load's, as after a
// restart) say nothing of b's: such a page is behind until it re-renders.
const compare = (a: string, b: string) => {
  const [ea, qa] = a.split('@'), [eb, qb] = b.split('@');
  if (ea !== eb) return -1;
  const pa = positions(qa), pb = positions(qb);
  let ahead = false;
  for (const [t, n] of pb) {
    const m = pa.get(t) ?? 0;
    if (m < n) return -1;
    if (m > n) ahead = true;
  }
  return ahead ? 1 : 0;
};

// settle checks every open page against a fresh load of its URL at the
// same positions: it loads the page anew, waits until the open page has
// applied the stream up to the fresh load's positions, and compares the
// two when they stand at the same positions; when the open page has moved
// on meanwhile (the cluster changed again), it loads anew and retries.
// Comparing at equal positions leaves no race: any difference is drift.
async function settle(fresher: Page, open: Map<string, Page>, step: string) {
  for (const [url, page] of open) {
    const started = Date.now();
    const deadline = started + 60_000;
    for (let attempt = 0; ; attempt++) {
      if (Date.now() > deadline) throw new Error(`${step}: ${url}: the cluster never stood still long enough to compare`);
      await fresher.goto(url);
      const fresh = await state(fresher);
      let live = await state(page);
      // Long enough for a page that lost its stream to reconnect: its
      // backoff tops out at 15 s.
      const until = Date.now() + 20_000;
      while (compare(live.at, fresh.at) < 0 && Date.now() < until) {
        await page.waitForFunction((at) => at !== (document.body.dataset.epoch ?? '') + '@' + (document.body.dataset.at ?? ''), live.at, { timeout: 10_000 }).catch(() => {});
        live = await state(page);
      }
      const c = compare(live.at, fresh.at);
      if (c < 0) {
        console.log((logs.get(page) ?? []).slice(-40).join('\n'));
        throw new Error(`${step}: ${url} stopped following its stream: at ${live.at}, a fresh load is at ${fresh.at}`);
      }
      if (c > 0) { // moved on: load again
        if (attempt % 5 == 4) console.log(`${step}: ${url} attempt ${attempt}: live at ${live.at}, fresh at ${fresh.at}`);
        continue;
      }
      if (live.shape !== fresh.shape) {
        let i = 0;
        while (i < live.shape.length && live.shape[i] === fresh.shape[i]) i++;
        let j = 0;
        while (j < live.shape.length - i && live.shape[live.shape.length - 1 - j] === fresh.shape[fresh.shape.length - 1 - j]) j++;
        console.log((logs.get(page) ?? []).slice(-40).join('\n'));
        throw new Error(`${step}: ${url} differs from its reload at the same positions (${live.at}):\n` +
          `live:   …${live.shape.slice(Math.max(0, i - 120), live.shape.length - j + 60)}…\n` +
          `reload: …${fresh.shape.slice(Math.max(0, i - 120), fresh.shape.length - j + 60)}…`);
      }
      if (process.env.OFFERDECK_RELOAD_VERBOSE) console.log(`${step}: ${url} equals its reload at ${live.at} (${Date.now() - started} ms, ${attempt + 1} loads)`);
      break;
    }
  }
}

async function act(page: Page, path: string, form: Record<string, string>) {
  const res = await page.request.post(path, { form: { request_id: 'r' + Math.random().toString(16).slice(2), ...form }, headers: { Accept: 'application/json' } });
  return res.json().catch(() => ({ ok: false, status: res.status() }));
}

const seeds = (process.env.OFFERDECK_SEEDS ?? '1,2,3,4,5,6,7,8,9,10').split(',').filter(Boolean).map(Number);

for (const seed of seeds) {
  test(`every open page equals its reload, seed ${seed}`, async ({ browser }) => {
    test.setTimeout(600_000); // a dozen open pages, each compared after every step
    console.log(`live-equals-reload seed ${seed} (OFFERDECK_SEEDS=${seed} replays it)`);
    const rand = rng(seed);
    const pick = <T,>(xs: T[]) => xs[Math.floor(rand() * xs.length)];
    const port = freePort();
    const stateDir = mkdtempSync(path.join(tmpdir(), 'offerdeck-reload-'));
    const base = `http://127.0.0.1:${port}`;
    const master = seed % 2 === 1 ? await startMaster(stateDir) : undefined;
    console.log(`seed ${seed}: ${master ? 'the stand-in run alone, with its fault API' : 'the embedded stand-in'}`);
    let dash = await startDashboard(port, stateDir, master);
    try {
    const open = new Map<string, Page>();
    for (const url of pages) {
      const p = await browser.newPage({ baseURL: base });
      watch(p);
      await p.goto(url);
      open.set(url, p);
    }
    const driver = open.get('/')!;
    // Fresh loads happen in a page of their own, navigated anew each time,
    // without the client script: a fresh render as the server wrote it,
    // standing still at the positions it was rendered at.
    const fresherContext = await browser.newContext({ javaScriptEnabled: false, baseURL: base });
    const fresher = await fresherContext.newPage();
    await expect(driver.locator('#offer-count')).not.toHaveText('0 offers', { timeout: 15_000 });
    await settle(fresher, open, 'start');
    const launched: string[] = [];
    const neighbours: string[] = []; // other frameworks' ids, oldest first
    const removeAt = 1 + Math.floor(rand() * 5);
    const neighbourAt = removeAt === 1 ? 2 : removeAt - 1;
    for (let step = 0; step < 6; step++) {
      const choices = ['launch', 'launch', 'accept', 'fail', 'decline', 'kill', 'reconcile', 'restart'];
      if (master) choices.push('remove-agent', 'add-agent', 'neighbour', 'teardown');
      // The seeds with a stand-in of their own lose an agent once for sure,
      // and another framework joins the cluster once for sure.
      const choice = master && step === removeAt ? 'remove-agent' : master && step === neighbourAt ? 'neighbour' : pick(choices);
      let what = choice;
      switch (choice) {
        case 'launch': {
          const name = `s${seed}-${step}`;
          const a = await act(driver, '/launch', { name, command: pick(['true', 'sleep 0.3', 'sleep 30']), cpus: '0.1', mem: '16', instances: String(1 + Math.floor(rand() * 2)) });
          (a.tasks ?? []).forEach((id: string) => launched.push(id));
          what += ` ${name}: ${JSON.stringify(a)}`;
          break;
        }
        case 'fail': {
          const a = await act(driver, '/launch', { name: `f${seed}-${step}`, command: 'exit 3', cpus: '0.1', mem: '16', instances: '1' });
          what += `: ${JSON.stringify(a)}`;
          break;
        }
        case 'accept': {
          // An explicit Accept of one offer, as its card's button does.
          const offers = await open.get('/offers')!.locator('article.offer').evaluateAll((els) => els.map((e) => e.id.replace(/^offer-/, '')));
          if (offers.length > 0) {
            const a = await act(driver, `/offers/${encodeURIComponent(pick(offers))}/accept`, { name: `a${seed}-${step}`, command: pick(['true', 'sleep 30']), cpus: '0.1', mem: '16', instances: '1' });
            (a.tasks ?? []).forEach((id: string) => launched.push(id));
            what += `: ${JSON.stringify(a)}`;
          }
          break;
        }
        case 'remove-agent': {
          // The master stops hearing from an agent: its tasks are lost,
          // its offers rescinded, and the framework told.
          const agents = await open.get('/agents')!.locator('tr:not(:has(.removed)) .agent-id').evaluateAll((els) => els.map((e) => e.getAttribute('title')!));
          if (agents.length > 1) what += ` ${await fault(master!, `agents/${encodeURIComponent(pick(agents))}/remove`)}`;
          break;
        }
        case 'add-agent':
          what += ` ${await fault(master!, 'agents', { hostname: `late-${seed}-${step}.demo`, cpus: 1, mem: 256, disk: 1024, attributes: 'rack:late' })}`;
          break;
        case 'neighbour': {
          // Another framework joins the cluster; its tasks run once the
          // dashboard's held offers go back to the master.
          const answer = await fault(master!, 'frameworks', { name: `n${seed}-${step}`, tasks: 1 + Math.floor(rand() * 3), cpus: 0.1, mem: 16 });
          const id = /"framework_id":"([^"]+)"/.exec(answer)?.[1];
          if (id) neighbours.push(id);
          what += ` ${answer}`;
          break;
        }
        case 'teardown':
          if (neighbours.length > 0) what += ` ${await fault(master!, `frameworks/${encodeURIComponent(neighbours.shift()!)}/teardown`)}`;
          break;
        case 'decline': {
          const offers = await open.get('/offers')!.locator('article.offer').evaluateAll((els) => els.map((e) => e.id.replace(/^offer-/, '')));
          if (offers.length > 0) what += `: ${JSON.stringify(await act(driver, `/offers/${encodeURIComponent(pick(offers))}/decline`, { refuse: '5s' }))}`;
          break;
        }
        case 'kill': {
          if (launched.length > 0) what += `: ${JSON.stringify(await act(driver, `/tasks/${encodeURIComponent(pick(launched))}/kill`, {}))}`;
          break;
        }
        case 'reconcile':
          what += `: ${JSON.stringify(await act(driver, '/reconcile', {}))}`;
          break;
        case 'restart':
          // The open pages lose their streams, reconnect on their own
          // and re-render what changed meanwhile.
          await stopDashboard(dash);
          dash = await startDashboard(port, stateDir, master);
          break;
      }
      // Another framework's tasks page joins once one exists.
      if (neighbours.length > 0 && ![...open.keys()].some((u) => u.startsWith('/tasks?framework='))) {
        const url = '/tasks?framework=' + encodeURIComponent(neighbours[0]);
        const p = await browser.newPage({ baseURL: base });
        watch(p);
        await p.goto(url);
        open.set(url, p);
      }
      // A task's own page joins the open pages once one exists.
      if (launched.length > 0 && ![...open.keys()].some((u) => u.startsWith('/tasks/'))) {
        const url = '/tasks/' + encodeURIComponent(launched[0]);
        const p = await browser.newPage({ baseURL: base });
        watch(p);
        await p.goto(url);
        open.set(url, p);
      }
      console.log(`seed ${seed} step ${step}: ${what}`);
      await settle(fresher, open, `seed ${seed} step ${step} (${what})`);
    }
    for (const p of open.values()) await p.close();
    await fresherContext.close();
    } finally {
      await stopDashboard(dash);
      if (master) await stopDashboard(master.proc);
    }
  });
}
