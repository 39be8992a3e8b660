import { test, expect, Page } from '@playwright/test';

// The suite shares one dashboard (and its embedded stand-in with three demo
// agents), so each test leaves the offers as it found them: held, and
// declined only for a few seconds.

async function offersPage(page: Page) {
  await page.goto('/offers');
  await expect(page.locator('section.agent')).toHaveCount(3, { timeout: 15_000 });
}

test('offers arrive live with attributes and resources; decline sends one away until the refuse time', async ({ page }) => {
  await offersPage(page);
  const agent1 = page.locator('section.agent', { hasText: 'agent-1.demo' });
  await expect(agent1.locator('.chip', { hasText: 'rack' })).toContainText('r2d2');
  await expect(agent1.locator('.chip', { hasText: 'pod' })).toContainText('demo,dev');
  // agent-1 may be between offers: the hold policy declined the last one
  // for the refuse time (5 s), and the next comes with the allocation after.
  await expect(agent1.locator('article.offer').first()).toBeVisible({ timeout: 15_000 });
  await expect(agent1.locator('.resources').first()).toContainText('cpus');
  await expect(agent1.locator('.resources').first()).toContainText('9000–10000');
  await expect(page.getByRole('status').first()).toHaveAttribute('data-state', 'live');

  const offer = agent1.locator('article.offer').first();
  const offerId = await offer.getAttribute('id');
  await offer.locator('select[name=refuse]').selectOption('5s');
  await offer.getByRole('button', { name: 'Decline' }).click();
  await expect(page.locator('#flash')).toContainText('declined agent-1.demo');
  // It leaves without a reload...
  await expect(page.locator('#' + offerId)).toHaveCount(0, { timeout: 5_000 });
  // ...and agent-1 comes back with a new offer after the refuse time.
  await expect(page.locator('section.agent', { hasText: 'agent-1.demo' }).locator('article.offer')).toHaveCount(1, { timeout: 15_000 });
  const again = await page.locator('section.agent', { hasText: 'agent-1.demo' }).locator('article.offer').getAttribute('id');
  expect(again).not.toBe(offerId);
  await page.screenshot({ path: 'artifacts/offers.png', fullPage: true });
});

test('accept an offer to run echo hello world: the task finishes and its output shows', async ({ page }) => {
  await offersPage(page);
  await page.locator('section.agent', { hasText: 'agent-2.demo' }).getByRole('link', { name: 'Accept…' }).click();
  await expect(page.getByRole('heading', { level: 1 })).toContainText('Accept offer on agent-2.demo');
  await expect(page.locator('#preview')).toContainText('fits');
  await page.getByLabel('Name', { exact: true }).fill('hello');
  await page.getByLabel('Shell command').fill('echo hello world');
  await page.getByRole('button', { name: 'Accept and launch' }).click();
  // The offer may have expired while the form was filled in (the hold is
  // 30 s): then the launch waits for the agent's next offer and the answer
  // stays on the Launch page; either way the task runs.
  // The form is on /launch?offer=…: wait until the answer leaves it.
  await expect(page).toHaveURL(/\/tasks\/hello-|\/launch$/);
  if (!/\/tasks\/hello-/.test(page.url())) {
    await page.goto('/tasks');
    await page.locator('#tasks-body a', { hasText: 'hello' }).first().click({ timeout: 20_000 });
    await expect(page).toHaveURL(/\/tasks\/hello-/);
  }
  const badge = page.locator('[id^=task-head-] .badge');
  await expect(badge).toContainText('finished', { timeout: 15_000 });
  await expect(page.locator('#stdout')).toContainText('hello world', { timeout: 10_000 });
  await expect(page.locator('.timeline')).toContainText('Command exited with status 0');
  await expect(page.locator('.timeline .acked').first()).toBeVisible({ timeout: 10_000 });
  await page.screenshot({ path: 'artifacts/task-finished.png', fullPage: true });
});

test('launch sleep 600 from the form and kill it; a second browser sees the same changes', async ({ page, browser }) => {
  const other = await browser.newPage();
  await other.goto('/tasks');
  await page.goto('/launch');
  await page.getByLabel('Name', { exact: true }).fill('sleeper');
  await page.getByLabel('Shell command').fill('sleep 600');
  await page.getByRole('button', { name: 'Launch' }).click();
  await expect(page.locator('#flash')).toContainText(/placed|queued/);
  const row = other.locator('#tasks-body tr', { hasText: 'sleeper' }).first();
  await expect(row).toContainText('running', { timeout: 15_000 });
  await page.goto('/tasks');
  const mine = page.locator('#tasks-body tr', { hasText: 'sleeper' }).first();
  await expect(mine).toContainText('running');
  page.once('dialog', (d) => d.accept());
  await mine.getByRole('button', { name: 'Kill' }).click();
  await expect(page.locator('#flash')).toContainText('killing');
  await expect(mine).toContainText('killed', { timeout: 15_000 });
  await expect(row).toContainText('killed', { timeout: 15_000 });
  await other.screenshot({ path: 'artifacts/tasks-second-browser.png', fullPage: true });
  await other.close();
});

test('a page without JavaScript can still act: POST, then 303 back with a visible answer', async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto('/tasks');
  await page.getByRole('button', { name: 'Reconcile now' }).click();
  await expect(page).toHaveURL(/\/tasks$/);
  await expect(page.locator('#flash')).toContainText('reconciling');
  await page.goto('/audit');
  await expect(page.locator('#audit-body')).toContainText('reconcile');
  await page.screenshot({ path: 'artifacts/audit-nojs.png', fullPage: true });
  await context.close();
});

test('every page renders and the events page lists master events', async ({ page }) => {
  for (const [path, heading] of [['/agents', 'Agents'], ['/events', 'Events'], ['/audit', 'Audit'], ['/launch', 'Launch'], ['/', 'Overview']]) {
    await page.goto(path);
    await expect(page.getByRole('heading', { level: 1 })).toHaveText(heading);
    await page.screenshot({ path: `artifacts/page-${heading.toLowerCase()}.png`, fullPage: true });
  }
  await page.goto('/events');
  await expect(page.locator('#events-list')).toContainText('SUBSCRIBED');
  await expect(page.locator('#events-list')).toContainText('OFFERS');
});

test('the live events list keeps to its type filter and its size', async ({ page, browser }) => {
  await page.goto('/events?type=OFFERS');
  const list = page.locator('#events-list');
  await expect(list).toHaveAttribute('data-types', 'OFFERS');
  await expect(list).toHaveAttribute('data-keep', '200');
  // 200 rows take hundreds of events to overflow; a smaller bound shows
  // the same trimming within one task's life.
  await page.evaluate(() => { document.getElementById('events-list')!.dataset.keep = '2'; });
  const firstBefore = await list.locator('li').first().getAttribute('id');

  const all = await browser.newPage();
  await all.goto('/events');
  await all.goto('/launch');
  await all.getByLabel('Name', { exact: true }).fill('eventful');
  await all.getByLabel('Shell command').fill('true');
  await all.getByRole('button', { name: 'Launch' }).click();
  await expect(all.locator('#flash')).toContainText(/placed|queued/);
  await all.goto('/events');
  // The task's updates reached the dashboard...
  await expect(all.locator('#events-list li[data-type=UPDATE]', { hasText: 'eventful' }).first()).toBeVisible({ timeout: 15_000 });
  // ...and its resources come back as a new OFFERS event, which the
  // filtered page adds on top, dropping rows past its bound and every
  // UPDATE that came before.
  await expect(list.locator('li').first()).not.toHaveAttribute('id', firstBefore ?? '', { timeout: 20_000 });
  await expect(list.locator('li').first()).toHaveAttribute('data-type', 'OFFERS');
  expect(await list.locator('li').count()).toBeLessThanOrEqual(2);
  await expect(list.locator('li[data-type=UPDATE]')).toHaveCount(0);
  await all.close();
});
