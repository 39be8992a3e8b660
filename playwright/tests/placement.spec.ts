import { test, expect, Page } from '@playwright/test';

// The case: agent-2 (2 cpus, 496 MB, rack c3po) is offered in two
// pieces after a task on it ends while the dashboard holds the rest. A
// spec needing both pieces is placed at once, in one ACCEPT of both, and
// the Launch page shows agent-2 as one line with what its offers hold
// together.

async function act(page: Page, path: string, form: Record<string, string>) {
  const res = await page.request.post(path, {
    form: { request_id: 'r' + Math.random().toString(16).slice(2), ...form },
    headers: { Accept: 'application/json' },
  });
  const answer = await res.json();
  expect(answer.ok, JSON.stringify(answer)).toBe(true);
  return answer;
}

// taskID is the id of the task an action launched: from its answer when
// it was placed at once, else from the tasks page once it is (the offer
// may have been between holds when it was queued).
async function taskID(page: Page, answer: any, name: string): Promise<string> {
  if (answer.tasks?.[0]) return answer.tasks[0];
  const other = await page.context().newPage();
  await other.goto('/tasks?q=' + encodeURIComponent(name));
  const link = other.locator('#tasks-body tr', { hasText: name }).first().locator('td.task-name a');
  await expect(link).toBeVisible({ timeout: 20_000 });
  const id = decodeURIComponent((await link.getAttribute('href'))!.replace(/^\/tasks\//, ''));
  await other.close();
  return id;
}

test('an agent offered in two pieces takes a spec needing both at once', async ({ page }) => {
  test.setTimeout(90_000);
  const run = Math.random().toString(16).slice(2, 8);
  const pieceName = 'piece-' + run;
  let pieceID = '';
  try {
    await page.goto('/launch');
    const agent2 = page.locator('#preview li', { hasText: 'agent-2.demo' });
    await expect(agent2).toContainText('cpus 2, mem 496 MB', { timeout: 20_000 });

    // A task on agent-2 that runs until killed: agent-2's rest (1.9 cpus,
    // 464 MB) comes back as an offer of its own once the refuse time ends.
    const piece = await act(page, '/launch', {
      name: pieceName, command: 'sleep 600', cpus: '0.1', mem: '32', instances: '1', constraints: 'rack==c3po',
    });
    pieceID = await taskID(page, piece, pieceName);
    await expect(agent2).toContainText('cpus 1.9, mem 464 MB', { timeout: 20_000 });

    // The task ends: what it freed is offered as a second piece, and the
    // preview shows agent-2 once, with both pieces together.
    await act(page, `/tasks/${encodeURIComponent(pieceID)}/kill`, {});
    pieceID = '';
    await expect(agent2).toContainText('cpus 2, mem 496 MB', { timeout: 15_000 });
    await expect(agent2).toContainText('2 offers together');
    await expect(page.locator('#preview li', { hasText: 'agent-2.demo' })).toHaveCount(1);

    const wholeName = 'whole-' + run;
    await page.getByLabel('Name', { exact: true }).fill(wholeName);
    await page.getByLabel('Shell command').fill('sleep 600');
    await page.getByLabel('CPUs', { exact: true }).fill('2');
    await page.getByLabel('Memory (MB)').fill('400');
    await page.getByLabel(/^Constraints/).fill('rack==c3po');
    await expect(agent2).toContainText('fits');
    await page.getByRole('button', { name: 'Launch', exact: true }).click();
    await expect(page.locator('#flash')).toContainText(`placed 1 of 1 instance of ${wholeName} at once`);
    await expect(page.locator('#queue-list article')).toHaveCount(0);

    await page.goto('/tasks');
    const row = page.locator('#tasks-body tr', { hasText: wholeName }).first();
    await expect(row).toContainText('running', { timeout: 15_000 });
    await expect(row).toContainText('agent-2.demo');
    await page.screenshot({ path: 'artifacts/placement-split.png', fullPage: true });

    // Leave agent-2 as the suite found it: free, and offered whole again.
    page.once('dialog', (d) => d.accept());
    await row.getByRole('button', { name: 'Kill' }).click();
    await expect(row).toContainText('killed', { timeout: 15_000 });
    await page.goto('/launch');
    await expect(page.locator('#preview li', { hasText: 'agent-2.demo' })).toContainText('cpus 2, mem 496 MB', { timeout: 20_000 });
  } finally {
    if (pieceID) await page.request.post(`/tasks/${encodeURIComponent(pieceID)}/kill`, { form: {}, headers: { Accept: 'application/json' } });
  }
});

test('a spec no agent can run is refused with the largest agent named; asked to wait, its queue item counts why, live', async ({ page }) => {
  await page.goto('/launch');
  await expect(page.locator('#preview li', { hasText: 'agent-2.demo' })).toBeVisible({ timeout: 20_000 });
  await page.getByLabel('Name', { exact: true }).fill('wide');
  await page.getByLabel('Shell command').fill('true');
  await page.getByLabel('CPUs', { exact: true }).fill('3');
  await page.getByLabel('Memory (MB)').fill('32');
  await page.getByLabel(/^Constraints/).fill('rack==c3po');
  await page.getByRole('button', { name: 'Launch', exact: true }).click();
  await expect(page.locator('#flash')).toContainText('No agent that meets the constraints has 3 cpus; the largest has 2');

  await page.getByLabel(/Wait for a bigger agent/).check();
  await page.getByRole('button', { name: 'Launch', exact: true }).click();
  await expect(page.locator('#flash')).toContainText('queued 1 instance of wide');
  const item = page.locator('#queue-list article', { hasText: 'wide' });
  await expect(item).toBeVisible(); // arrived live, without a reload
  const summary = item.locator('.summary');
  await expect(summary).toHaveText(/^last \d+ offers?: .*(short of cpus|failed rack==c3po)/);
  // The live item equals a fresh load (offers may come meanwhile, so
  // compare until both have caught up).
  const fresh = await page.context().newPage();
  await expect.poll(async () => {
    await fresh.goto('/launch');
    const reloaded = await fresh.locator('#queue-list article', { hasText: 'wide' }).locator('.summary').textContent();
    return reloaded === (await summary.textContent());
  }, { timeout: 15_000 }).toBe(true);
  await fresh.close();

  await page.locator('#queue-list article', { hasText: 'wide' }).getByRole('button', { name: 'Remove from queue' }).click();
  await expect(page.locator('#queue-list article', { hasText: 'wide' })).toHaveCount(0);
});
