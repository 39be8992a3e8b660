import { test, expect, Page } from '@playwright/test';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, startDashboard, stopDashboard } from './processes';

// The tasks table's later pages follow their own rows: as newer tasks
// push rows down from page 1 to page 2, and as tasks on either page
// change, each live page shows what a reload of it shows, and page 2's
// stream carries none of page 1's rows. The test runs a dashboard of its
// own, since it launches more tasks than the shared one should hold.

// table is what a reader sees of the tasks table: the pager and each
// row's id and text, relative times aside.
async function table(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const pager = document.getElementById('tasks-pager')?.textContent?.replace(/\s+/g, ' ').trim() ?? '';
    const rows = Array.from(document.querySelectorAll('#tasks-body > tr:not(.leaving)'), (tr) => {
      const row = tr.cloneNode(true) as HTMLElement;
      row.querySelectorAll('time').forEach((t) => { t.textContent = ''; });
      return tr.id + ' ' + (row.textContent ?? '').replace(/\s+/g, ' ').trim();
    });
    return [pager, ...rows];
  });
}

async function launch(page: Page, name: string, instances: number) {
  const res = await page.request.post('/launch', {
    form: { request_id: 'r' + Math.random().toString(16).slice(2), name, command: 'sleep 600', cpus: '0.1', mem: '16', instances: String(instances) },
    headers: { Accept: 'application/json' },
  });
  expect(res.ok(), await res.text()).toBe(true);
}

test('a later page of the tasks table follows its own rows and equals its reload', async ({ browser }) => {
  test.setTimeout(180_000);
  const port = freePort();
  const state = mkdtempSync(path.join(tmpdir(), 'offerdeck-pages-'));
  const base = `http://127.0.0.1:${port}`;
  const dash = await startDashboard(port, state);
  try {
    const fresh = await (await browser.newContext({ javaScriptEnabled: false, baseURL: base })).newPage();
    const one = await browser.newPage({ baseURL: base });
    await launch(one, 'first', 48);
    await fresh.goto('/tasks');
    await expect(async () => {
      await fresh.reload();
      await expect(fresh.locator('#tasks-body > tr[data-state="TASK_RUNNING"]')).toHaveCount(48, { timeout: 1_000 });
    }).toPass({ timeout: 60_000 });

    await one.goto('/tasks');
    const two = await browser.newPage({ baseURL: base });
    const frames: string[] = [];
    two.on('websocket', (ws) => ws.on('framereceived', (f) => frames.push(String(f.payload))));
    await two.goto('/tasks?page=2');
    await expect(two.locator('#tasks-pager')).toContainText('no tasks: page 2 is past the last one, page 1');
    await expect(two.locator('#tasks-pager a[rel="prev"]')).toHaveAttribute('href', '/tasks?page=1');

    // Both pages, live, equal their reload once the stream caught up.
    const same = async (page: Page, url: string) => {
      await expect(async () => {
        await fresh.goto(url);
        expect(await table(page)).toEqual(await table(fresh));
      }).toPass({ timeout: 30_000 });
    };

    // Five newer tasks push the three oldest onto page 2.
    await launch(one, 'second', 5);
    await expect(two.locator('#tasks-body > tr')).toHaveCount(3, { timeout: 30_000 });
    await expect(two.locator('#tasks-body > tr[data-state="TASK_RUNNING"]')).toHaveCount(3, { timeout: 30_000 });
    await same(two, '/tasks?page=2');
    await same(one, '/tasks');
    await expect(two.locator('#tasks-pager')).toContainText('51–53 of 53 tasks');

    // A task of page 1 is killed: page 1 shows it; page 2 hears nothing of it.
    const top = one.locator('#tasks-body > tr').first();
    const topID = await top.getAttribute('id');
    one.once('dialog', (d) => d.accept());
    await top.getByRole('button', { name: 'Kill' }).click();
    await expect(one.locator(`[id="${topID}"]`)).toHaveAttribute('data-state', 'TASK_KILLED', { timeout: 30_000 });

    // A task of page 2 is killed: page 2 shows it as its reload does.
    const last = two.locator('#tasks-body > tr').last();
    const lastID = await last.getAttribute('id');
    two.once('dialog', (d) => d.accept());
    await last.getByRole('button', { name: 'Kill' }).click();
    await expect(two.locator(`[id="${lastID}"]`)).toHaveAttribute('data-state', 'TASK_KILLED', { timeout: 30_000 });
    await same(two, '/tasks?page=2');
    await same(one, '/tasks');
    expect(frames.some((f) => f.includes(`"id":"${lastID}"`)), 'page 2 received its own row').toBe(true);
    expect(frames.filter((f) => f.includes(`"id":"${topID}"`)), 'page 2 received a row of page 1').toEqual([]);
  } finally {
    await stopDashboard(dash);
  }
});
