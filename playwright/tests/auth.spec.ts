import { test, expect, Browser, Page } from '@playwright/test';
import { spawn, ChildProcess, execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

// Logging in, out, and a viewer's pages, with the client script on and
// off, against a dashboard of its own that has users.
const binary = path.join(__dirname, '..', '.build', 'dashboard');

function freePort(): string {
  return execFileSync(process.execPath, ['-e',
    "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{process.stdout.write(String(s.address().port));s.close();});"]).toString();
}
const hash = (password: string) => execFileSync(binary, ['hash-password'], { input: password + '\n' }).toString().trim();

let dash: ChildProcess;
let url = '';

test.beforeAll(async () => {
  const port = freePort();
  url = `http://127.0.0.1:${port}`;
  const users = `ann operator ${hash('ann-passphrase')}\nvic viewer ${hash('vic-passphrase')}\n`;
  // Offers are held for the whole spec: a page without the script does
  // not follow them, and one loaded while they were being declined and
  // offered again would show none.
  dash = spawn(binary, ['--listen', `127.0.0.1:${port}`, '--state-dir', mkdtempSync(path.join(tmpdir(), 'offerdeck-auth-')), '--simulate', '--hold', '10m'],
    { stdio: 'ignore', env: { ...process.env, OFFERDECK_USERS: users } });
  await expect(async () => {
    const res = await fetch(url + '/healthz');
    expect(res.ok).toBe(true);
  }).toPass({ timeout: 30_000 });
});

test.afterAll(async () => {
  const exited = new Promise((resolve) => dash.once('exit', resolve));
  dash.kill('SIGTERM');
  await exited;
});

async function logIn(page: Page, user: string, password: string) {
  await page.getByLabel('Name').fill(user);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
}

for (const js of [true, false]) {
  test(`log in and out with JavaScript ${js ? 'on' : 'off'}`, async ({ browser }) => {
    const context = await browser.newContext({ javaScriptEnabled: js });
    const page = await context.newPage();
    await page.goto(url + '/offers');
    await expect(page).toHaveURL(/\/login\?next=%2Foffers$/);
    // Nothing of the cluster before logging in.
    await expect(page.getByRole('navigation', { name: 'Pages' })).toHaveCount(0);
    await expect(page.locator('#vital-master')).toHaveCount(0);

    await logIn(page, 'ann', 'wrong');
    await expect(page.locator('#login-error')).toHaveText('Wrong name or password.');
    await expect(page.locator('#flash')).toBeHidden();

    await logIn(page, 'ann', 'ann-passphrase');
    await expect(page).toHaveURL(url + '/offers');
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('Offers');
    await expect(page.locator('.user')).toContainText('ann · operator');

    await page.getByRole('button', { name: 'Log out' }).click();
    await expect(page).toHaveURL(/\/login$/);
    await page.goto(url + '/tasks');
    await expect(page).toHaveURL(/\/login\?next=%2Ftasks$/);
    await context.close();
  });

  test(`a viewer sees everything and no action, JavaScript ${js ? 'on' : 'off'}`, async ({ browser }) => {
    const context = await browser.newContext({ javaScriptEnabled: js });
    const page = await context.newPage();
    await page.goto(url + '/login?next=%2Foffers');
    await logIn(page, 'vic', 'vic-passphrase');
    await expect(page).toHaveURL(url + '/offers');
    await expect(page.locator('section.agent')).not.toHaveCount(0, { timeout: 15_000 });
    await expect(page.locator('article.offer').first()).toBeVisible({ timeout: 15_000 });
    await expect(page.getByRole('button', { name: 'Decline' })).toHaveCount(0);
    await expect(page.getByRole('link', { name: 'Accept…' })).toHaveCount(0);
    await expect(page.getByRole('button', { name: 'Suppress' })).toHaveCount(0);

    await page.goto(url + '/launch');
    await expect(page.locator('#launch-viewer')).toContainText('only an operator can launch');
    await expect(page.getByRole('button', { name: 'Launch' })).toHaveCount(0);

    // And the server refuses a viewer's action whatever the page shows.
    const res = await page.request.post(url + '/reconcile', { form: { request_id: 'v1' }, headers: { Accept: 'application/json' } });
    expect(res.status()).toBe(403);
    await context.close();
  });
}
