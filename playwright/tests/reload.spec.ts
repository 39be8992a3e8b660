import { test, expect, Page, Browser } from '@playwright/test';

// Live equals reload: with every kind of page open, a seeded random
// sequence of actions runs against the dashboard, and after each one every
// open page, as its live stream changed it, must equal a fresh load of the
// same URL (relative times aside, order included). OFFERDECK_SEEDS names
// the seeds ("1,2,3"); each is printed so a failure can be replayed.

const pages = ['/', '/offers', '/tasks', '/agents', '/events', '/audit', '/launch', '/tasks?state=TASK_RUNNING'];

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

// shape is what a reader sees of a page, as comparable text: the main
// region and the tab counts, with what legitimately differs between two
// loads taken out (relative times, per-viewer request ids, animations in
// flight, the action answer).
async function shape(page: Page): Promise<string> {
  return page.evaluate(() => {
    const root = document.createElement('div');
    const counts = Array.from(document.querySelectorAll('nav.tabs .count')).map((c) => c.id + '=' + c.textContent).join(' ');
    root.append(document.querySelector('main')!.cloneNode(true));
    root.querySelectorAll('#flash, .leaving, pre.output, #output-error, #events-paused').forEach((el) => el.remove());
    root.querySelectorAll('time').forEach((el) => { el.textContent = ''; });
    root.querySelectorAll('input[name=request_id]').forEach((el) => el.setAttribute('value', ''));
    root.querySelectorAll('*').forEach((el) => {
      el.classList.remove('arrived', 'selected');
      if (el.getAttribute('class') === '') el.removeAttribute('class');
      el.removeAttribute('style');
      el.removeAttribute('tabindex');
      if (el instanceof HTMLInputElement || el instanceof HTMLTextAreaElement) el.removeAttribute('value');
    });
    return counts + '\n' + root.innerHTML.replace(/>\s+</g, '><').replace(/\s+/g, ' ');
  });
}

async function fresh(browser: Browser, url: string): Promise<string> {
  const p = await browser.newPage();
  try {
    await p.goto(url);
    return await shape(p);
  } finally {
    await p.close();
  }
}

// settle waits until every open page equals its reload; a page that never
// does fails with the first difference.
async function settle(browser: Browser, open: Map<string, Page>, step: string) {
  for (const [url, page] of open) {
    let live = '', reload = '';
    await expect.poll(async () => {
      const l = await shape(page);
      const r = await fresh(browser, url);
      live = l;
      reload = r;
      return l === r;
    }, { message: `${step}: ${url} drifted from its reload`, timeout: 15_000, intervals: [200, 400, 800] }).toBe(true)
      .catch((err) => {
        let i = 0;
        while (i < live.length && live[i] === reload[i]) i++;
        let j = 0;
        while (j < live.length && live[live.length - 1 - j] === reload[reload.length - 1 - j]) j++;
        throw new Error(`${err.message}\nfirst difference at ${i}:\nlive:   ${live.slice(Math.max(0, i - 100), live.length - j + 100)}\nreload: ${reload.slice(Math.max(0, i - 100), reload.length - j + 100)}`);
      });
  }
}

async function act(page: Page, path: string, form: Record<string, string>) {
  const res = await page.request.post(path, { form: { request_id: 'r' + Math.random().toString(16).slice(2), ...form }, headers: { Accept: 'application/json' } });
  return res.json().catch(() => ({ ok: false, status: res.status() }));
}

const seeds = (process.env.OFFERDECK_SEEDS ?? '').split(',').filter(Boolean).map(Number);

for (const seed of seeds) {
  test(`every open page equals its reload, seed ${seed}`, async ({ browser }) => {
    test.setTimeout(240_000);
    console.log(`live-equals-reload seed ${seed} (OFFERDECK_SEEDS=${seed} replays it)`);
    const rand = rng(seed);
    const pick = <T,>(xs: T[]) => xs[Math.floor(rand() * xs.length)];
    const open = new Map<string, Page>();
    for (const url of pages) {
      const p = await browser.newPage();
      await p.goto(url);
      open.set(url, p);
    }
    const driver = open.get('/')!;
    await expect(driver.locator('#offer-count')).not.toHaveText('0 offers', { timeout: 15_000 });
    await settle(browser, open, 'start');
    const launched: string[] = [];
    for (let step = 0; step < 6; step++) {
      const choice = pick(['launch', 'launch', 'fail', 'decline', 'kill', 'reconcile']);
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
      }
      // A task's own page joins the open pages once one exists.
      if (launched.length > 0 && ![...open.keys()].some((u) => u.startsWith('/tasks/'))) {
        const url = '/tasks/' + encodeURIComponent(launched[0]);
        const p = await browser.newPage();
        await p.goto(url);
        open.set(url, p);
      }
      await settle(browser, open, `seed ${seed} step ${step} (${what})`);
    }
    for (const p of open.values()) await p.close();
  });
}
