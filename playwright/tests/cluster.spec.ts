import { test, expect, Page } from '@playwright/test';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, startMaster, fault, startDashboard, stopDashboard, Master } from './processes';
import { ChildProcess } from 'node:child_process';

// The whole cluster, live: another framework joins the stand-in (through
// its fault API), launches tasks, and leaves; the Cluster, Frameworks,
// Agents and its Tasks pages, open all along, follow it without a reload,
// and a fresh load without JavaScript says the same. The stand-in runs
// alone with a dashboard of this spec's own, which holds offers 2 s so
// the other framework gets offers soon.

let master: Master;
let dash: ChildProcess;
let base = '';

test.beforeAll(async () => {
  const state = mkdtempSync(path.join(tmpdir(), 'offerdeck-cluster-'));
  master = await startMaster(state);
  const port = freePort();
  dash = await startDashboard(port, state, master, ['--hold', '2s']);
  base = `http://127.0.0.1:${port}`;
});

test.afterAll(async () => {
  if (dash) await stopDashboard(dash);
  if (master) await stopDashboard(master.proc);
});

// fresh returns the text of what selector picks as a fresh load without
// JavaScript has it.
async function fresh(browser: import('@playwright/test').Browser, url: string, selector: string): Promise<string> {
  const ctx = await browser.newContext({ javaScriptEnabled: false, baseURL: base });
  const page = await ctx.newPage();
  await page.goto(url);
  const text = await textOf(page, selector);
  await ctx.close();
  return text;
}

const textOf = async (page: Page, selector: string) => (await page.locator(selector).allInnerTexts()).join(' | ').replace(/\s+/g, ' ').trim();

// The batch row of the frameworks table but its last cell, which says
// when others' offers were read (a clock time that the script words
// relatively).
const batchRow = '#frameworks-table tr:has-text("batch") td:not(:last-child)';

// liveText is a region's text on an open page, once it holds want.
async function liveText(page: Page, region: string, want: RegExp): Promise<string> {
  await expect(page.locator('#' + region)).toContainText(want, { timeout: 30_000 });
  return (await page.locator('#' + region).innerText()).replace(/\s+/g, ' ');
}

test('another framework shows on the cluster pages live, equal to a reload', async ({ browser }) => {
  test.setTimeout(180_000);
  const open = async (url: string, width = 1280) => {
    const p = await browser.newPage({ baseURL: base, viewport: { width, height: 800 } });
    await p.goto(url);
    return p;
  };
  const frameworks = await open('/frameworks');
  const clusterPage = await open('/cluster');
  const agents = await open('/agents', 390);
  await expect(clusterPage.locator('#cluster-status')).toContainText('Live from the operator stream');
  await expect(clusterPage.locator('#cluster-counts')).toContainText('3 active');

  const started = await fault(master, 'frameworks', { name: 'batch', tasks: 2, cpus: 0.5, mem: 64 });
  const id = /"framework_id":"([^"]+)"/.exec(started)?.[1];
  expect(id, started).toBeTruthy();

  // Live, without a reload.
  const table = await liveText(frameworks, 'frameworks-table', /batch[\s\S]*2 live/);
  expect(table).toContain('cpus 1, mem 128 MB');
  const counts = await liveText(clusterPage, 'cluster-counts', /2 active · 0 inactive/);
  await expect(clusterPage.locator('#cluster-counts .chip', { hasText: 'running' })).toContainText('2');
  const cpus = clusterPage.locator('#cluster-resources tr', { hasText: 'cpus' }).first().locator('td');
  await expect(cpus.nth(0)).toHaveText('8'); // total
  await expect(cpus.nth(1)).toHaveText('0'); // used by us
  await expect(cpus.nth(2)).toHaveText('1'); // used by others: batch's two tasks of 0.5
  await expect(agents.locator('#cluster-agents-body tr', { hasText: /2 live/ })).toHaveCount(1, { timeout: 30_000 });

  // A reload says the same.
  expect(await fresh(browser, '/frameworks', batchRow)).toBe(await textOf(frameworks, batchRow));
  expect(await fresh(browser, '/cluster', '#cluster-counts')).toBe(await textOf(clusterPage, '#cluster-counts'));
  expect(counts).toContain('3 active');

  // Its tasks, read-only.
  const tasks = await open('/tasks?framework=' + encodeURIComponent(id!));
  await expect(tasks.locator('h1')).toHaveText('Tasks of batch');
  await expect(tasks.locator('tbody tr')).toHaveCount(2);
  await expect(tasks.locator('tbody tr .badge').first()).toContainText('running');
  await expect(tasks.locator('button', { hasText: 'Kill' })).toHaveCount(0);

  // The README's picture of the page, only on request, since it changes
  // the repository (OFFERDECK_DOCS_SCREENSHOTS=1 npx playwright test cluster).
  if (process.env.OFFERDECK_DOCS_SCREENSHOTS) {
    await clusterPage.setViewportSize({ width: 1280, height: 800 });
    await clusterPage.screenshot({ path: '../docs/screenshot-cluster.png' });
  }

  // Nothing runs off a phone's screen.
  const overflow = await agents.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow, 'the Agents page at 390 px scrolls sideways').toBeLessThanOrEqual(0);

  // Torn down, it leaves every page, live.
  expect(await fault(master, `frameworks/${encodeURIComponent(id!)}/teardown`)).toMatch(/^200 /);
  await expect(frameworks.locator('#frameworks-table')).not.toContainText('batch', { timeout: 30_000 });
  await expect(clusterPage.locator('#cluster-counts')).toContainText('1 active · 0 inactive');
  await expect(agents.locator('#cluster-agents-body tr', { hasText: /2 live/ })).toHaveCount(0);
  expect(await fresh(browser, '/cluster', '#cluster-counts')).toBe(await textOf(clusterPage, '#cluster-counts'));
  expect(await fresh(browser, '/tasks?framework=' + encodeURIComponent(id!), 'main')).toContain('No framework');
});
