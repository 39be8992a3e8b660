import { test, expect } from '@playwright/test';

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

test('the lane span is the viewer\'s pick, kept across a reload', async ({ page }) => {
  await page.goto('/board');
  const svg = page.locator('ol.offer-lanes .lane-svg').first();
  await expect(svg).toHaveAttribute('viewBox', '600 0 300 10', { timeout: 15_000 });
  await page.getByRole('button', { name: '15 min', exact: true }).click();
  await expect(svg).toHaveAttribute('viewBox', '0 0 900 10');
  await expect(page.locator('#lane-span')).toHaveText('last 15 minutes');
  await expect(page.getByRole('button', { name: '15 min', exact: true })).toHaveAttribute('aria-pressed', 'true');
  await page.reload();
  await expect(page.locator('ol.offer-lanes .lane-svg').first()).toHaveAttribute('viewBox', '0 0 900 10');
  await expect(page.locator('.lane-start')).toHaveText('−900 s');
  // Back to the default for the tests that follow.
  await page.getByRole('button', { name: '5 min', exact: true }).click();
  await expect(page.locator('ol.offer-lanes .lane-svg').first()).toHaveAttribute('viewBox', '600 0 300 10');
});
