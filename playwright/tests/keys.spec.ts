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
