import { test, expect } from '@playwright/test';

test('the overview page says it is waiting for a master', async ({ page }) => {
  await page.goto('/');
  await expect(page).toHaveTitle('Overview · Offerdeck');
  await expect(page.getByRole('heading', { level: 2, name: 'Waiting for a Mesos master' })).toBeVisible();
  await expect(page.locator('#master-name')).toHaveText('embedded stand-in');
  await expect(page.getByRole('status')).toHaveAttribute('data-state', 'waiting');
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
