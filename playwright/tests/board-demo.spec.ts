import { test, expect, Browser, BrowserContext, Page, APIRequestContext } from '@playwright/test';

// The board through the demo flow a presenter runs: offers arriving, a
// decline, an accept of `echo hello world`, a `sleep` killed. At each step
// three boards follow live (light at 1280 px, dark on a 390 px phone,
// presenter mode at 1280 x 720), each is photographed (attached to the
// report), and their lanes, flow and agent bars hold the numbers the JSON
// API gives at the same moment. The phone's board never overflows.

const api = '/offerdeck/api/v1';
type Agent = { id: string; hostname: string; offers: number; offered: { cpus: number; mem: number } };
type Task = { id: string; agent_id: string; state: string; terminal: boolean; resources: { cpus: number; mem: number } };
type Offer = { id: string; agent_id: string; hostname: string };

// The board's words for a number: the server's scalarText.
const cpus = (v: number) => String(Math.round(v * 1000) / 1000);
const mem = (v: number) => (v >= 1024 ? (v / 1024).toFixed(1) + ' GB' : String(Math.round(v * 1000) / 1000) + ' MB');

async function read(req: APIRequestContext) {
  const agents = (await (await req.get(api + '/agents')).json()).agents as Agent[];
  const tasks = (await (await req.get(api + '/tasks?limit=500')).json()).tasks as Task[];
  return { agents, tasks };
}

// expected is what the board should say per agent, from the API: held
// bars, and the cpus and mem meters' words.
function expected(s: Awaited<ReturnType<typeof read>>) {
  const out: Record<string, { held: number; cpus: string; mem: string }> = {};
  for (const a of s.agents) {
    let uc = 0, um = 0;
    for (const t of s.tasks) if (t.agent_id === a.id && !t.terminal) { uc += t.resources.cpus; um += t.resources.mem; }
    out[a.hostname] = {
      held: a.offers,
      cpus: `${cpus(uc)} used · ${cpus(a.offered.cpus)} offered`,
      mem: `${mem(um)} used · ${mem(a.offered.mem)} offered`,
    };
  }
  return out;
}

// shown is what a board says per agent.
async function shown(page: Page) {
  return page.evaluate(() => {
    const out: Record<string, { held: number; cpus: string; mem: string }> = {};
    document.querySelectorAll('#board-racks li.rack-agent').forEach((li) => {
      const host = li.querySelector('h4')!.getAttribute('title')!;
      const meter = (n: string) => Array.from(li.querySelectorAll('.meter')).find((m) => m.querySelector('.meter-name')!.textContent === n)!
        .querySelector('.meter-text')!.textContent!;
      const lane = document.querySelector(`#board-lanes li.lane[data-agent="${li.getAttribute('data-agent')}"]`);
      out[host] = { held: lane ? lane.querySelectorAll('rect.how-held').length : 0, cpus: meter('cpus'), mem: meter('mem') };
    });
    return out;
  });
}

const flowCount = (page: Page, key: string) => page.locator(`.flow-item.how-${key} .flow-count`).textContent().then(Number);

// agrees waits until every board says what the API says, read before and
// after the boards so that the moment is one the cluster stood still in.
async function agrees(boards: Page[], req: APIRequestContext) {
  await expect(async () => {
    const before = expected(await read(req));
    const seen = await Promise.all(boards.map(shown));
    const after = expected(await read(req));
    expect(after).toEqual(before);
    for (const s of seen) expect(s).toEqual(before);
    const held = Object.values(before).reduce((n, a) => n + a.held, 0);
    for (const b of boards) expect(await flowCount(b, 'held')).toBe(held);
  }).toPass({ timeout: 30_000 });
}

async function snap(boards: { name: string; page: Page }[], step: string) {
  for (const b of boards) {
    const path = test.info().outputPath(`board-${step}-${b.name}.png`);
    await b.page.screenshot({ path, fullPage: true });
    await test.info().attach(`${step} (${b.name})`, { path, contentType: 'image/png' });
  }
}

async function noOverflow(page: Page) {
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
}

async function board(browser: Browser, name: string, opts: Parameters<Browser['newContext']>[0], presenter = false) {
  const ctx: BrowserContext = await browser.newContext({ ...opts, reducedMotion: 'reduce' });
  if (presenter) {
    const url = new URL(test.info().project.use.baseURL!);
    await ctx.addCookies([{ name: 'offerdeck-presenter', value: 'on', domain: url.hostname, path: '/' }]);
  }
  const page = await ctx.newPage();
  // A presenter opening the dashboard lands on the board.
  await page.goto(presenter ? '/' : '/board');
  await expect(page).toHaveURL(/\/board$/);
  await expect(page.locator('html')).toHaveClass(/\bjs\b/);
  return { name, page, ctx };
}

// heldOffer is an offer held of host, once there is one.
async function heldOffer(req: APIRequestContext, host: string): Promise<Offer> {
  let found: Offer | undefined;
  await expect(async () => {
    const offers = (await (await req.get(api + '/offers')).json()).offers as Offer[];
    found = offers.find((o) => o.hostname === host);
    expect(found, `an offer of ${host}`).toBeTruthy();
  }).toPass({ timeout: 30_000 });
  return found!;
}

async function taskState(req: APIRequestContext, id: string, want: RegExp) {
  await expect(async () => {
    const t = await (await req.get(api + '/tasks/' + encodeURIComponent(id))).json();
    expect(t.state).toMatch(want);
  }).toPass({ timeout: 30_000 });
}

test('the board through the demo flow, in light, dark and presenter mode, agrees with the API', async ({ browser, request }) => {
  test.setTimeout(240_000);
  const boards = [
    await board(browser, 'light', { viewport: { width: 1280, height: 800 }, colorScheme: 'light' }),
    await board(browser, 'dark-phone', { viewport: { width: 390, height: 844 }, colorScheme: 'dark' }),
    await board(browser, 'presenter', { viewport: { width: 1280, height: 720 }, colorScheme: 'light' }, true),
  ];
  const pages = boards.map((b) => b.page);
  const phone = boards[1].page;
  await expect(boards[2].page.locator('html')).toHaveAttribute('data-presenter', 'on');

  // 1. Offers arriving: a lane per agent, each with its held offers.
  for (const p of pages) await expect(p.locator('ol.offer-lanes > li.lane')).toHaveCount(3, { timeout: 15_000 });
  await agrees(pages, request);
  await noOverflow(phone);
  await snap(boards, '1-offers');

  // 2. A decline: counted, and drawn in the agent's lane.
  const declined = await flowCount(pages[0], 'declined');
  const o3 = await heldOffer(request, 'agent-3.demo');
  const dec = await request.post(api + '/offers/' + encodeURIComponent(o3.id) + '/decline', { data: { refuse_seconds: 5 } });
  expect(dec.status(), await dec.text()).toBe(200);
  for (const p of pages) {
    await expect(p.locator('.flow-item.how-declined .flow-count')).toHaveText(String(declined + 1), { timeout: 10_000 });
    await expect(p.locator('li.lane', { hasText: 'agent-3.demo' }).locator('rect.how-declined').first()).toBeAttached();
  }
  await agrees(pages, request);
  await noOverflow(phone);
  await snap(boards, '2-decline');

  // 3. An accept of `echo hello world`: the offer's bar ends as accepted.
  const accepted = await flowCount(pages[0], 'accepted');
  const o1 = await heldOffer(request, 'agent-1.demo');
  const acc = await request.post(api + '/offers/' + encodeURIComponent(o1.id) + '/accept',
    { data: { name: 'hello', command: 'echo hello world', cpus: 0.1, mem: 32 } });
  expect(acc.status(), await acc.text()).toBe(202);
  const hello = (await acc.json()).task_ids[0] as string;
  await taskState(request, hello, /TASK_FINISHED/);
  for (const p of pages) {
    await expect(p.locator('.flow-item.how-accepted .flow-count')).toHaveText(String(accepted + 1), { timeout: 10_000 });
    await expect(p.locator('li.lane', { hasText: 'agent-1.demo' }).locator('rect.how-accepted').first()).toBeAttached();
  }
  await agrees(pages, request);
  await noOverflow(phone);
  await snap(boards, '3-accept');

  // 4. A `sleep`, running: its share shows as used on its agent's bars...
  const o2 = await heldOffer(request, 'agent-2.demo');
  const sl = await request.post(api + '/offers/' + encodeURIComponent(o2.id) + '/accept',
    { data: { name: 'nap', command: 'sleep 600', cpus: 0.5, mem: 64 } });
  expect(sl.status(), await sl.text()).toBe(202);
  const nap = (await sl.json()).task_ids[0] as string;
  await taskState(request, nap, /TASK_RUNNING/);
  for (const p of pages) {
    await expect(p.locator('li.rack-agent', { hasText: 'agent-2.demo' }).locator('.meter-text').first()).toContainText('0.5 used', { timeout: 10_000 });
  }
  await agrees(pages, request);
  await noOverflow(phone);
  await snap(boards, '4-sleep-running');

  // ...and killed, it is used no more.
  const kill = await request.post(api + '/tasks/' + encodeURIComponent(nap) + '/kill', { data: {} });
  expect(kill.status(), await kill.text()).toBe(202);
  await taskState(request, nap, /TASK_KILLED/);
  for (const p of pages) {
    await expect(p.locator('li.rack-agent', { hasText: 'agent-2.demo' }).locator('.meter-text').first()).toContainText(/^0 used/, { timeout: 10_000 });
  }
  await agrees(pages, request);
  await noOverflow(phone);
  await snap(boards, '5-sleep-killed');

  for (const b of boards) await b.ctx.close();
});
