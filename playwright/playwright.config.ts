// Playwright runs the dashboard it tests: it builds the Go binary, starts it
// on a free loopback port with a fresh state folder, and drives Debian's
// Chromium (never a downloaded browser) against it.
import { defineConfig } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

// The config is evaluated again in every worker; the first evaluation picks
// the port and state folder and hands them down through the environment.
if (!process.env.OFFERDECK_E2E_PORT) {
  process.env.OFFERDECK_E2E_PORT = execFileSync(process.execPath, [
    '-e',
    "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{process.stdout.write(String(s.address().port));s.close();});",
  ]).toString();
}
if (!process.env.OFFERDECK_E2E_STATE) {
  process.env.OFFERDECK_E2E_STATE = mkdtempSync(path.join(tmpdir(), 'offerdeck-e2e-'));
}
const port = process.env.OFFERDECK_E2E_PORT;
const state = process.env.OFFERDECK_E2E_STATE;
const baseURL = `http://127.0.0.1:${port}`;
const binary = path.join(__dirname, '.build', 'dashboard');

export default defineConfig({
  testDir: './tests',
  outputDir: './artifacts/results',
  timeout: 30_000,
  fullyParallel: false,
  workers: 1,
  retries: 0,
  forbidOnly: !!process.env.CI,
  reporter: [['list']],
  use: {
    baseURL,
    // Every test's final page is kept as a screenshot under artifacts/.
    screenshot: 'on',
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-quic',
        '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync',
      ],
    },
  },
  webServer: {
    command: `go build -o "${binary}" ../cmd/dashboard && exec "${binary}" --listen 127.0.0.1:${port} --state-dir "${state}" --log-level info`,
    url: `${baseURL}/healthz`,
    timeout: 180_000,
    reuseExistingServer: false,
    stdout: 'pipe',
    stderr: 'pipe',
    gracefulShutdown: { signal: 'SIGTERM', timeout: 10_000 },
  },
});
