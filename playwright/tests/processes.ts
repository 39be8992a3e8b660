// Processes a spec runs of its own, beside the suite's shared dashboard:
// the stand-in master alone ("dashboard local --fault-api", with
// credentials) and dashboards pointed at it, each on a free port, so a
// spec can break the cluster through the fault API and restart a
// dashboard as against a real cluster.
import { expect } from '@playwright/test';
import { spawn, ChildProcess, execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';

const binary = path.join(__dirname, '..', '.build', 'dashboard');
export function freePort(): string {
  return execFileSync(process.execPath, ['-e',
    "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{process.stdout.write(String(s.address().port));s.close();});"]).toString();
}
// master is the stand-in run on its own, for the seeds that use one.
export type Master = { url: string; auth: string; args: string[]; proc: ChildProcess };
export async function startMaster(state: string): Promise<Master> {
  const port = freePort();
  const secret = randomBytes(16).toString('hex');
  writeFileSync(path.join(state, 'credentials'), `reload ${secret}\n`, { mode: 0o600 });
  writeFileSync(path.join(state, 'secret'), secret, { mode: 0o600 });
  const proc = spawn(binary, ['local', '--listen', `127.0.0.1:${port}`, '--fault-api', '--credentials-file', path.join(state, 'credentials'),
    '--sandbox-dir', path.join(state, 'sandboxes')], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  await expect(async () => { expect((await fetch(`${url}/health`)).ok).toBe(true); }).toPass({ timeout: 30_000 });
  return { url, auth: 'Basic ' + Buffer.from(`reload:${secret}`).toString('base64'), proc,
    args: ['--master', url, '--principal', 'reload', '--secret-file', path.join(state, 'secret')] };
}
export async function fault(m: Master, what: string, body?: object) {
  const res = await fetch(`${m.url}/faults/${what}`, { method: 'POST', headers: { Authorization: m.auth }, body: body ? JSON.stringify(body) : undefined });
  return `${res.status} ${(await res.text()).trim()}`;
}
export async function startDashboard(port: string, state: string, master?: Master, extra: string[] = []): Promise<ChildProcess> {
  const p = spawn(binary, ['--listen', `127.0.0.1:${port}`, '--state-dir', state, ...(master?.args ?? []), ...extra], { stdio: 'ignore' });
  await expect(async () => { expect((await fetch(`http://127.0.0.1:${port}/readyz`)).ok).toBe(true); }).toPass({ timeout: 30_000 });
  return p;
}
export async function stopDashboard(p: ChildProcess) {
  if (p.exitCode !== null) return;
  const exited = new Promise((resolve) => p.once('exit', resolve));
  p.kill('SIGTERM');
  await exited;
}

