import { test, expect } from '@playwright/test';
import { spawn, ChildProcess, execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

// This test runs a dashboard of its own, so it can stop and start it.
const binary = path.join(__dirname, '..', '.build', 'dashboard');

function freePort(): string {
  return execFileSync(process.execPath, ['-e',
    "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{process.stdout.write(String(s.address().port));s.close();});"]).toString();
}

function start(port: string, state: string): ChildProcess {
  return spawn(binary, ['--listen', `127.0.0.1:${port}`, '--state-dir', state, '--simulate'], { stdio: 'ignore' });
}

async function stop(p: ChildProcess) {
  const exited = new Promise((resolve) => p.once('exit', resolve));
  p.kill('SIGTERM');
  await exited;
}

test('the dashboard restarts: the page reconnects and resumes with no lost or duplicated rows', async ({ page }) => {
  const port = freePort();
  const state = mkdtempSync(path.join(tmpdir(), 'offerdeck-restart-'));
  const url = `http://127.0.0.1:${port}`;
  let dash = start(port, state);
  try {
    await expect(async () => { await page.goto(url + '/tasks'); }).toPass({ timeout: 15_000 });
    await expect(page.getByRole('status').first()).toHaveAttribute('data-state', 'live', { timeout: 15_000 });

    // A task launched before the restart.
    const before = await page.request.post(url + '/launch', {
      form: { name: 'before', command: 'sleep 600', cpus: '0.1', mem: '32', request_id: 'before-1' },
      headers: { Accept: 'application/json' },
    });
    expect((await before.json()).ok).toBe(true);
    await expect(page.locator('#tasks-body tr', { hasText: 'before' })).toHaveCount(1, { timeout: 15_000 });

    await stop(dash);
    await expect(page.getByRole('status').first()).toHaveAttribute('data-state', 'offline', { timeout: 10_000 });
    await expect(page.locator('#tasks-body tr', { hasText: 'before' })).toHaveCount(1); // nothing is cleared

    dash = start(port, state);
    await expect(page.getByRole('status').first()).toHaveAttribute('data-state', 'live', { timeout: 30_000 });

    // A task launched after the restart appears live, once; the old row stays once.
    const after = await page.request.post(url + '/launch', {
      form: { name: 'after', command: 'sleep 600', cpus: '0.1', mem: '32', request_id: 'after-1' },
      headers: { Accept: 'application/json' },
    });
    expect((await after.json()).ok).toBe(true);
    await expect(page.locator('#tasks-body tr', { hasText: 'after' })).toHaveCount(1, { timeout: 15_000 });
    await expect(page.locator('#tasks-body tr', { hasText: 'before' })).toHaveCount(1);
    await page.screenshot({ path: 'artifacts/after-restart.png', fullPage: true });
  } finally {
    await stop(dash);
  }
});
