import { test, expect } from '@playwright/test';

test('the overview shows the embedded stand-in and its offers', async ({ page }) => {
  // The dashboard subscribes to its embedded stand-in at start; reload until
  // the first offers are in (the page is not live yet).
  await expect(async () => {
    await page.goto('/');
    await expect(page.locator('#offer-count')).toHaveText('3 offers', { timeout: 500 });
  }).toPass({ timeout: 15_000 });
  await expect(page).toHaveTitle('Overview · Offerdeck');
  await expect(page.getByRole('status')).toHaveAttribute('data-state', 'live');
  await expect(page.locator('#master-mode')).toContainText('embedded stand-in');
  await expect(page.locator('#framework-id .ellipsis')).toHaveText(/-0000$/);
  await expect(page.locator('#recent-events')).toContainText('agent-1.demo');
  await expect(page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: 'Overview' }))
    .toHaveAttribute('aria-current', 'page');
  await page.screenshot({ path: 'artifacts/overview.png', fullPage: true });
});

test('the theme toggle switches and remembers the theme', async ({ page }) => {
  await page.emulateMedia({ colorScheme: 'light' });
  await page.goto('/');
  const toggle = page.getByRole('button', { name: 'Switch light and dark theme' });
  await expect(toggle).toBeVisible(); // shown only once the script runs
  const background = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  const light = await background();
  await toggle.click();
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark');
  expect(await background()).not.toBe(light);
  await page.reload();
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark');
});

test('the page loads with no console errors and no CSP violations', async ({ page }) => {
  const problems: string[] = [];
  page.on('console', (msg) => { if (msg.type() === 'error') problems.push(msg.text()); });
  page.on('pageerror', (err) => problems.push(err.message));
  await page.goto('/');
  await expect(page.locator('html')).toHaveClass(/js/);
  expect(problems).toEqual([]);
});
