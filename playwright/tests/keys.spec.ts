import { test, expect } from '@playwright/test';

test('keyboard: j moves between offers, d declines the selected one, g t goes to tasks', async ({ page }) => {
  await page.goto('/offers');
  await expect(page.locator('article.offer')).toHaveCount(3, { timeout: 15_000 });
  await page.keyboard.press('j');
  const first = page.locator('article.offer.selected');
  await expect(first).toHaveCount(1);
  const id = await first.getAttribute('id');
  await first.locator('select[name=refuse]').selectOption('5s');
  await page.locator('body').click({ position: { x: 5, y: 5 } });
  await page.keyboard.press('d');
  await expect(page.locator('#flash')).toContainText('declined');
  await expect(page.locator('#' + id)).toHaveCount(0, { timeout: 5_000 });
  await page.keyboard.press('g');
  await page.keyboard.press('t');
  await expect(page).toHaveURL(/\/tasks$/);
});

test('keyboard: j and k move only between offers the filter shows', async ({ page }) => {
  // The suite shares one dashboard: after earlier tests an agent may be
  // busy with no offer, or hold its resources in several offers. So the
  // filter picks the rack of an agent that offers now, and no count is
  // fixed.
  await page.goto('/offers');
  const offering = page.locator('section.agent:has(article.offer)').first();
  await expect(offering).toBeVisible({ timeout: 15_000 });
  const rack = /rack=(\S+)/.exec((await offering.getAttribute('data-search')) ?? '')![1];
  await page.goto('/offers?filter=' + encodeURIComponent('rack=' + rack));
  await expect(page.locator('section.agent[hidden] article.offer').first()).toBeAttached({ timeout: 15_000 });
  const shown = page.locator('section.agent:not([hidden]) article.offer');
  await expect(shown.first()).toBeVisible();
  await expect(page.locator('section.agent:not([hidden])')).toHaveCount(1); // that rack's agent alone
  await expect(page.locator('#offers-hidden')).toHaveText(/^\d+ offers? hidden by the filter\.$/);
  for (const key of ['j', 'j', 'k', 'j']) {
    await page.keyboard.press(key);
    await expect(page.locator('article.offer.selected')).toHaveCount(1);
    // The selected offer is always one the reader can see: a / d act on
    // what is selected, never on a hidden agent's offer.
    await expect(page.locator('section.agent:not([hidden]) article.offer.selected')).toHaveCount(1);
  }
});

test('an action\'s answer floats over the page and leaves by itself', async ({ page }) => {
  await page.goto('/tasks');
  const before = await page.locator('h1').boundingBox();
  await page.getByRole('button', { name: 'Reconcile now' }).click();
  const flash = page.locator('#flash');
  await expect(flash).toContainText('reconciling');
  expect(await page.locator('h1').boundingBox()).toEqual(before); // nothing pushed down
  await expect(flash).toBeHidden({ timeout: 15_000 });
});
