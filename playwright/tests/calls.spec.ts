import { test, expect, Page } from '@playwright/test';
import { spawn, ChildProcess, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

// The calls page: what the dashboard says to the master, live, and a curl
// line copied from it that the master accepts. The embedded master's
// credentials are drawn at random at every start and never leave the
// process, as they should; so this spec runs the stand-in alone
// (`dashboard local`) with credentials it knows, and a dashboard that
// connects to it with them, as it would to a real master.
const binary = path.join(__dirname, '..', '.build', 'dashboard');
const principal = 'offerdeck';
const secret = 'calls-spec-' + Math.random().toString(36).slice(2) + Math.random().toString(36).slice(2);

function freePort(): string {
  return execFileSync(process.execPath, ['-e',
    "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{process.stdout.write(String(s.address().port));s.close();});"]).toString();
}

async function stop(p: ChildProcess | undefined) {
  if (!p || p.exitCode !== null) return;
  const exited = new Promise((resolve) => p.once('exit', resolve));
  p.kill('SIGTERM');
  await exited;
}

let master: ChildProcess | undefined;
let dash: ChildProcess | undefined;
let url = '';

test.beforeAll(async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'offerdeck-calls-'));
  writeFileSync(path.join(dir, 'credentials'), `${principal} ${secret}\n`, { mode: 0o600 });
  writeFileSync(path.join(dir, 'secret'), secret, { mode: 0o600 });
  const masterPort = freePort();
  master = spawn(binary, ['local', '--listen', `127.0.0.1:${masterPort}`, '--credentials-file', path.join(dir, 'credentials'),
    '--sandbox-dir', path.join(dir, 'sandboxes')], { stdio: 'ignore' });
  await expect(async () => { expect((await fetch(`http://127.0.0.1:${masterPort}/health`)).ok).toBe(true); }).toPass({ timeout: 30_000 });
  const port = freePort();
  url = `http://127.0.0.1:${port}`;
  // Offers are held for the whole spec, so the only DECLINE is the
  // button's.
  dash = spawn(binary, ['--listen', `127.0.0.1:${port}`, '--state-dir', path.join(dir, 'state'), '--master', `http://127.0.0.1:${masterPort}`,
    '--principal', principal, '--secret-file', path.join(dir, 'secret'), '--hold', '10m'], { stdio: 'ignore' });
  await expect(async () => { expect((await fetch(url + '/readyz')).ok).toBe(true); }).toPass({ timeout: 30_000 });
});

test.afterAll(async () => {
  await stop(dash);
  await stop(master);
});

async function offersPage(page: Page) {
  await page.goto(url + '/offers');
  await expect(page.locator('section.agent article.offer')).toHaveCount(3, { timeout: 15_000 });
}

test('the demo flow shows its DECLINE, ACCEPT, ACKNOWLEDGE and KILL calls live; a copied curl line is answered 202', async ({ browser }) => {
  test.setTimeout(90_000);
  const context = await browser.newContext();
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: url });
  const calls = await context.newPage();
  await calls.goto(url + '/calls?type=DECLINE&type=ACCEPT&type=ACKNOWLEDGE&type=KILL');
  const folded = await context.newPage();
  await folded.goto(url + '/calls');
  // Neither page reloads: what arrives, arrives live.
  for (const p of [calls, folded]) await p.evaluate(() => { (window as any).notReloaded = true; });
  const list = calls.locator('#calls-list');
  await expect(list.locator('li')).toHaveCount(0);

  // Decline agent-1's offer.
  const actor = await context.newPage();
  await offersPage(actor);
  const agent1 = actor.locator('section.agent', { hasText: 'agent-1.demo' });
  await agent1.locator('select[name=refuse]').first().selectOption('5s');
  await agent1.getByRole('button', { name: 'Decline' }).first().click();
  await expect(actor.locator('#flash')).toContainText('declined agent-1.demo');
  const decline = list.locator('li[data-type=DECLINE]');
  await expect(decline).toHaveCount(1);
  await expect(decline.locator('.call-status')).toHaveText('202 Accepted');
  await expect(decline.locator('summary')).toContainText("decline");

  // Accept agent-2's offer to run echo hello world.
  await offersPage(actor);
  await actor.locator('section.agent', { hasText: 'agent-2.demo' }).getByRole('link', { name: 'Accept…' }).click();
  await actor.getByLabel('Name', { exact: true }).fill('hello');
  await actor.getByLabel('Shell command').fill('echo hello world');
  await actor.getByRole('button', { name: 'Accept and launch' }).click();
  await expect(actor).toHaveURL(/\/tasks\/hello-/);
  const accept = list.locator('li[data-type=ACCEPT]');
  await expect(accept).toHaveCount(1);
  await expect(accept.locator('.call-body')).toContainText('"value": "echo hello world"');
  // Its updates are acknowledged, each one a call; the folded page
  // counts them instead of listing them.
  await expect(list.locator('li[data-type=ACKNOWLEDGE]').first()).toBeVisible({ timeout: 15_000 });
  await expect(folded.locator('#ack-count')).toContainText('acknowledgement');
  await expect(folded.locator('#calls-list li[data-type=ACCEPT]')).toHaveCount(1);
  await expect(folded.locator('#calls-list li[data-type=ACKNOWLEDGE]')).toHaveCount(0);

  // Launch a sleeper on agent-3 and kill it.
  await offersPage(actor);
  await actor.locator('section.agent', { hasText: 'agent-3.demo' }).getByRole('link', { name: 'Accept…' }).click();
  await actor.getByLabel('Name', { exact: true }).fill('sleeper');
  await actor.getByLabel('Shell command').fill('sleep 600');
  await actor.getByRole('button', { name: 'Accept and launch' }).click();
  await expect(actor).toHaveURL(/\/tasks\/sleeper-/);
  await expect(actor.locator('[id^=task-head-] .badge')).toContainText('running', { timeout: 15_000 });
  actor.once('dialog', (d) => d.accept());
  await actor.getByRole('button', { name: 'Kill' }).click();
  await expect(actor.locator('#flash')).toContainText('killing');
  const kill = list.locator('li[data-type=KILL]');
  await expect(kill).toHaveCount(1);
  await expect(kill.locator('.call-status')).toHaveText('202 Accepted');
  await expect(kill.locator('.call-links')).toContainText('task sleeper-');
  for (const p of [calls, folded]) expect(await p.evaluate(() => (window as any).notReloaded)).toBe(true);
  await calls.screenshot({ path: 'artifacts/calls.png', fullPage: true });

  // Nowhere on the page the secret; the curl line leaves it to a variable.
  for (const p of [calls, folded]) expect(await p.content()).not.toContain(secret);

  // Copy the DECLINE's curl line from the page, as a learner would, and
  // run it against the master: the dashboard's stream is the current one,
  // so the master takes the call (a second decline of the same offer,
  // which it ignores).
  await decline.locator('summary').click();
  await decline.getByRole('button', { name: /Copy the curl line/ }).click();
  await expect(calls.locator('#flash')).toContainText('Copied the curl line');
  const line = await calls.evaluate(() => navigator.clipboard.readText());
  expect(line).toBe(await decline.locator('pre.curl-line').textContent());
  await calls.screenshot({ path: 'artifacts/calls-open.png', fullPage: true });
  expect(line).toContain('$MESOS_SECRET');
  expect(line).not.toContain(secret);
  expect(line).toContain("-H 'Content-Type: application/json'");
  await actor.goto(url + '/');
  const stream = await actor.locator('#stream-id button.copy').getAttribute('data-copy');
  expect(stream ?? '').not.toBe('');
  expect(line).toContain(`-H 'Mesos-Stream-Id: ${stream}'`);
  const answer = execFileSync('sh', ['-c', line], { env: { ...process.env, MESOS_SECRET: secret } }).toString();
  expect(answer).toMatch(/^HTTP\/1\.1 202 Accepted/);
  // And without the secret, the master refuses it.
  const refused = execFileSync('sh', ['-c', line], { env: { ...process.env, MESOS_SECRET: 'wrong' } }).toString();
  expect(refused).toMatch(/^HTTP\/1\.1 401/);
  await context.close();
});

test('an opened call, its body, answer and curl line, fits a phone', async ({ browser }) => {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
  const page = await context.newPage();
  await page.goto(url + '/calls');
  const rows = page.locator('#calls-list > li');
  await expect(rows.first()).toBeVisible();
  for (const summary of await page.locator('#calls-list summary').all()) await summary.click();
  await expect(page.locator('#calls-list pre.curl-line').first()).toBeVisible();
  const widths = await page.evaluate(() => ({ page: document.documentElement.scrollWidth, window: window.innerWidth }));
  expect(widths.page).toBeLessThanOrEqual(widths.window);
  await page.screenshot({ path: 'artifacts/calls-phone-open.png', fullPage: true });
  await context.close();
});
