import { test, expect, ElementHandle, Page } from '@playwright/test';

// The demo board: its figures agree with the rest of the dashboard at the
// same moment, follow a decline live, and keep the viewer's lane span.

test('the board counts and draws offers as the offers page holds them, and follows a decline live', async ({ page, browser }) => {
  await page.goto('/board');
  await expect(page.locator('ol.offer-lanes > li.lane')).toHaveCount(3, { timeout: 15_000 });
  // Held now, the held bars and the Offers tab count are one number.
  const held = page.locator('.flow-item.how-held .flow-count');
  await expect(async () => {
    const n = await page.locator('#nav-count-offers').textContent();
    expect(await held.textContent()).toBe(n);
    expect(String(await page.locator('ol.offer-lanes rect.how-held').count())).toBe(n);
  }).toPass({ timeout: 10_000 });
  const declined = page.locator('.flow-item.how-declined .flow-count');
  const before = Number(await declined.textContent());

  // A second viewer declines an offer on the Offers page.
  const other = await browser.newPage();
  await other.goto('/offers');
  const offer = other.locator('section.agent', { hasText: 'agent-3.demo' }).locator('article.offer').first();
  await expect(offer).toBeVisible({ timeout: 15_000 });
  await offer.locator('select[name=refuse]').selectOption('5s');
  await offer.getByRole('button', { name: 'Decline' }).click();
  await expect(other.locator('#flash')).toContainText('declined agent-3.demo');

  // The board shows it without a reload: counted, and drawn in agent-3's lane.
  await expect(declined).toHaveText(String(before + 1), { timeout: 10_000 });
  const lane = page.locator('li.lane', { hasText: 'agent-3.demo' });
  await expect(lane.locator('rect.how-declined').first()).toBeAttached();
  await expect(lane.locator('svg')).toHaveAttribute('aria-label', /declined by a person/);
  // Each agent's meters say in words what the bars draw.
  await expect(page.locator('.rack-agent', { hasText: 'agent-1.demo' }).locator('.meter-text').first()).toContainText(/used · .* offered/);
  await page.screenshot({ path: 'artifacts/board.png', fullPage: true });
  await other.close();
});

// shownSpan is how many seconds every offer lane shows, when each shows
// them up to where the lanes are drawn to (their axis's data-now, in
// seconds from the lanes' data-origin), else NaN.
const shownSpan = (page: Page) => page.evaluate(() => {
  const ol = document.querySelector('ol.offer-lanes') as HTMLElement | null;
  const axis = document.getElementById('lanes-axis');
  const svgs = Array.from(document.querySelectorAll('ol.offer-lanes .lane-svg'));
  if (!ol || !axis || svgs.length === 0) return NaN;
  const end = (Number(axis.dataset.now) - Number(ol.dataset.origin)) / 1000;
  const boxes = new Set(svgs.map((svg) => svg.getAttribute('viewBox')));
  if (boxes.size !== 1) return NaN;
  const [x, , w] = String([...boxes][0]).split(' ').map(Number);
  return x + w === end ? w : NaN;
});

test('the lane span is the viewer\'s pick, kept across a reload', async ({ page }) => {
  await page.goto('/board');
  await expect.poll(() => shownSpan(page), { timeout: 15_000 }).toBe(300);
  await page.getByRole('button', { name: '15 min', exact: true }).click();
  await expect.poll(() => shownSpan(page)).toBe(900);
  await expect(page.locator('#lane-span')).toHaveText('last 15 minutes');
  await expect(page.getByRole('button', { name: '15 min', exact: true })).toHaveAttribute('aria-pressed', 'true');
  await page.reload();
  await expect.poll(() => shownSpan(page)).toBe(900);
  await expect(page.locator('.lane-start')).toHaveText('−900 s');
  // Back to the default for the tests that follow.
  await page.getByRole('button', { name: '5 min', exact: true }).click();
  await expect.poll(() => shownSpan(page)).toBe(300);
});

// The lanes' clock steps on once a minute: the server sends their axis
// alone, and every lane, standing as drawn, must move with it.
test('every lane moves with the axis when the lanes\' clock steps on', async ({ page }) => {
  test.setTimeout(120_000);
  await page.goto('/board');
  await expect.poll(() => shownSpan(page), { timeout: 15_000 }).toBe(300);
  const drawnTo = () => page.locator('#lanes-axis').getAttribute('data-now').then(Number);
  const before = await drawnTo();
  await expect.poll(drawnTo, { timeout: 90_000 }).toBeGreaterThan(before);
  await expect.poll(() => shownSpan(page)).toBe(300);
});

// The lanes step with the clock once a second, but only those on the
// screen (app.js: watchSlide): a lane scrolled into view must stand where
// the clock says at once, not where it was when it left the screen. The
// page's clock is Playwright's, so seconds pass when the test says.
test('a lane scrolled into view stands where the clock says', async ({ browser }) => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 360 } });
  const page = await context.newPage();
  await page.clock.install();
  await page.goto('/board');
  const lane = page.locator('ol.offer-lanes > li.lane').last();
  await expect(lane).toBeAttached({ timeout: 15_000 });
  // shift is how far a lane's picture stands from where the clock says (in
  // seconds of its span): 0 when it is in place, NaN when the stream has
  // replaced it since (a picture drawn afresh is slid to now at first sight,
  // on the screen or off, so it proves nothing here).
  const shift = (svg: SVGSVGElement) => {
    if (!svg.isConnected) return NaN;
    const drawnTo = Number(document.getElementById('lanes-axis')!.dataset.now);
    const moved = Number(/translateX\((-?[\d.]+)%\)/.exec(svg.style.transform)?.[1] ?? 0);
    return -moved / 100 * svg.viewBox.baseVal.width - (Date.now() - drawnTo) / 1000;
  };
  // The clock stops, then a minute passes while the lane is off the screen,
  // and it is scrolled in: with the clock stopped, only its coming into view
  // can put it in place. The stand-in's offers come and go in real time
  // meanwhile; should one replace the lane's picture, the minute is run again.
  await page.clock.pauseAt(await page.evaluate(() => Date.now() + 1_000));
  for (let attempt = 1; ; attempt++) {
    await page.evaluate(() => window.scrollTo(0, 0));
    await expect(lane).not.toBeInViewport();
    const svg = await lane.locator('svg.slide').elementHandle() as ElementHandle<SVGSVGElement>;
    await page.clock.runFor(60_000);
    const behind = await svg.evaluate(shift);
    await lane.scrollIntoViewIfNeeded();
    await expect(lane).toBeInViewport();
    // Until the observer has said the picture is on the screen, it stays a
    // minute behind; then it must be in place, this very picture.
    await expect.poll(async () => Math.abs(await svg.evaluate(shift)), { timeout: 5_000 })
      .not.toBeGreaterThan(1.01); // NaN passes: replaced, judged below
    if (Number.isNaN(await svg.evaluate(shift)) || Number.isNaN(behind)) {
      expect(attempt, 'the stream replaced the lane in every try').toBeLessThan(3);
      continue;
    }
    expect(behind).toBeLessThan(-50); // it was a minute behind
    break;
  }
  // On the screen, it goes on stepping with the clock, whatever the stream
  // replaced meanwhile.
  await page.clock.runFor(30_000);
  await expect.poll(async () => Math.abs(await lane.locator('svg.slide').evaluate(shift))).toBeLessThan(1.01);
  await context.close();
});

// Launch links in: the spec typed on Launch lights up, on a board open in
// another tab of the same browser, the agents it fits, and says on hover
// and on keyboard focus why the others do not. The marks are the viewer's
// own: the server's answer for the spec, laid over the shared regions.
for (const js of [true, false]) {
  test(`the agent map groups by the attribute the viewer picks (${js ? 'with' : 'without'} JavaScript)`, async ({ browser }) => {
    const context = await browser.newContext({ javaScriptEnabled: js });
    const page = await context.newPage();
    await page.goto('/board');
    const map = page.locator('#board-racks');
    await expect(map.getByRole('heading', { level: 2 })).toHaveText('Agents by rack', { timeout: 15_000 });
    await expect(map.locator('.rack-agent')).toHaveCount(3);
    await map.getByLabel('Group by').selectOption('pod');
    if (!js) await map.getByRole('button', { name: 'Group' }).click();
    await expect(page).toHaveURL(/\/board\?group=pod$/);
    await expect(map.getByRole('heading', { level: 2 })).toHaveText('Agents by pod');
    await expect(map.getByLabel('Group by')).toHaveValue('pod');
    // The stand-in's pods: agent-1 demo,dev, agent-2 demo, agent-3 dev.
    await expect(map.locator('.rack-name')).toHaveText([/pod\s+demo$/, /pod\s+demo,dev$/, /pod\s+dev$/]);
    await expect(map.locator('.rack', { has: page.locator('.rack-name', { hasText: /pod\s+dev$/ }) }).locator('.rack-agent')).toHaveText([/agent-3\.demo/]);
    await page.screenshot({ path: `artifacts/board-by-pod-${js ? 'js' : 'nojs'}.png`, fullPage: true });
    // An attribute no agent has is said, and the map grouped as usual.
    await page.goto('/board?group=nosuch');
    await expect(page).toHaveURL(/\/board$/);
    await expect(page.locator('#flash')).toContainText('No agent offering to us has the attribute "nosuch"');
    await expect(map.getByRole('heading', { level: 2 })).toHaveText('Agents by rack');
    await context.close();
  });
}

test('a spec typed on Launch marks where it fits on the board, with the reason on hover and focus', async ({ page, context }) => {
  test.setTimeout(300_000);
  const launch = page;
  await launch.goto('/launch');
  const board = await context.newPage();
  await board.goto('/board');
  await expect(board.locator('ol.offer-lanes > li.lane')).toHaveCount(3, { timeout: 15_000 });

  // 900 MB: agent-1 (496 MB) can never run it.
  await launch.locator('#mem').fill('900');
  const marks = (p: typeof page, scope: string) => p.locator(scope + ' [data-agent][data-fit]').evaluateAll(
    (els) => els.map((el) => (el as HTMLElement).dataset.agent + '=' + (el as HTMLElement).dataset.fit).sort().join(' '));
  // The board's cards say what the Launch page's own map says, agent by
  // agent, and so do its lanes.
  await expect(async () => {
    const want = await marks(launch, '#fit-map');
    expect(want.split(' ')).toHaveLength(3);
    expect(await marks(board, '#board-racks')).toBe(want);
    expect(await marks(board, '#board-lanes')).toBe(want);
    // agent-1 holds an offer now, so it is told why not.
    expect(await launch.locator('#fit-map li.rack-agent', { hasText: 'agent-1.demo' }).getAttribute('data-fit')).toBe('no');
    expect(await board.locator('#board-racks li.rack-agent', { hasText: 'agent-1.demo' }).getAttribute('data-fit')).toBe('no');
  }).toPass({ timeout: 60_000 });
  await expect(board.locator('#fit-banner')).toBeVisible();
  await expect(board.locator('#fit-banner-text')).toContainText('agents with offers held');

  // Offers come and go (held 30 s, then declined by the hold policy, and
  // offered again): each look waits for agent-1 to hold one.
  const card = board.locator('#board-racks li.rack-agent', { hasText: 'agent-1.demo' });
  const mark = card.locator('.fit-mark');
  const why = mark.locator('.fit-why');
  const shown = (w: typeof why) => w.evaluate((el) => el.getBoundingClientRect().width > 40);
  await expect(async () => {
    await board.mouse.move(0, 0);
    expect(await card.getAttribute('data-fit')).toBe('no');
    await expect(mark).toContainText('does not fit', { timeout: 5000 }); // a word and an icon, not only a colour
    expect(await shown(why)).toBe(false);
    await mark.hover({ timeout: 5000 });
    expect(await shown(why)).toBe(true);
    expect(await why.textContent()).toMatch(/needs mem 900, agent-1\.demo has \d+/);
  }).toPass({ timeout: 100_000 });
  await board.mouse.move(0, 0);
  await expect.poll(() => shown(why)).toBe(false);
  // By keyboard: the lane's mark takes focus and says the same.
  const lane = board.locator('li.lane', { hasText: 'agent-1.demo' });
  const laneMark = lane.locator('.fit-mark');
  await expect(async () => {
    expect(await lane.getAttribute('data-fit')).toBe('no');
    await laneMark.focus({ timeout: 5000 });
    await expect(laneMark).toBeFocused({ timeout: 5000 });
    expect(await shown(laneMark.locator('.fit-why'))).toBe(true);
    await expect(laneMark).toHaveAccessibleName(/does not fit.*needs mem 900/, { timeout: 5000 });
  }).toPass({ timeout: 100_000 });

  // A smaller spec: the marks follow as it is typed.
  await launch.locator('#mem').fill('32');
  await expect(async () => {
    const want = await marks(launch, '#fit-map');
    expect(want).not.toContain('=no');
    expect(await marks(board, '#board-racks')).toBe(want);
  }).toPass({ timeout: 15_000 });
  await board.screenshot({ path: test.info().outputPath('board-fit.png'), fullPage: true });

  // Leaving Launch takes the marks away.
  await launch.goto('/offers');
  await expect(board.locator('#fit-banner')).toBeHidden({ timeout: 10_000 });
  await expect(board.locator('[data-region] .fit-mark')).toHaveCount(0);
  await expect(board.locator('[data-agent][data-fit]')).toHaveCount(0);
  await board.close();
});

test('without JavaScript, Launch previews where a spec fits on the rack map', async ({ browser }) => {
  const ctx = await browser.newContext({ javaScriptEnabled: false });
  const page = await ctx.newPage();
  await page.goto('/launch');
  await page.locator('#mem').fill('900');
  await page.getByRole('button', { name: 'Preview where it fits' }).click();
  await expect(page).toHaveURL(/preview=1/);
  await expect(page.locator('#mem')).toHaveValue('900');
  const card = page.locator('#fit-map li.rack-agent', { hasText: 'agent-1.demo' });
  await expect(card).toHaveAttribute('data-fit', /^(no|none)$/);
  if (await card.getAttribute('data-fit') === 'no') await expect(card.locator('.fit-why')).toHaveText(/needs mem 900, agent-1\.demo has \d+/);
  await expect(page.locator('#fit-summary')).not.toBeEmpty();
  await ctx.close();
});

// Presenter mode is known to the server (a cookie): a presenter who opens
// the dashboard lands on the board, with or without the client script,
// and the Overview tab still shows the overview.
for (const js of [true, false]) {
  test(`a presenter lands on the board (${js ? 'with' : 'without'} JavaScript)`, async ({ browser }) => {
    const ctx = await browser.newContext({ javaScriptEnabled: js });
    const page = await ctx.newPage();
    await page.goto('/');
    await expect(page).toHaveURL(/\/$/);
    await expect(page.locator('#presenter-toggle')).toHaveAttribute('aria-pressed', 'false');
    await page.locator('#presenter-toggle').click();
    await expect(page.locator('html')).toHaveAttribute('data-presenter', 'on');
    await expect(page.locator('#presenter-toggle')).toHaveAttribute('aria-pressed', 'true');
    await page.goto('/');
    await expect(page).toHaveURL(/\/board$/);
    await expect(page.locator('main h1')).toHaveText('Board');
    await expect(page.locator('html')).toHaveAttribute('data-presenter', 'on');
    await page.locator('nav.tabs').getByRole('link', { name: 'Overview' }).click();
    await expect(page).toHaveURL(/\/$/);
    await expect(page.locator('main h1')).not.toHaveText('Board');
    // Off again: the overview is the landing page.
    await page.locator('#presenter-toggle').click();
    await expect(page.locator('html')).not.toHaveAttribute('data-presenter', 'on');
    await page.goto('/');
    await expect(page).toHaveURL(/\/$/);
    await ctx.close();
  });
}
