import { test, expect, expectHydration, signIn, importFlow } from './helpers';

// A flow's API page: an admin makes its secret (shown once), another system calls the
// flow with it (a retry with the same Idempotency-Key gets the first answer back), then
// the admin rotates the secret and revokes it. Plain forms: the same in both projects.
test('an admin makes a flow secret, the flow is called with it, then it is rotated and revoked', async ({ page, request }, testInfo) => {
  const name = `Greeter API (${testInfo.project.name})`;
  const flow = {
    name,
    trigger: { kind: 'trigger.api_endpoint', options: { synchronous: { type: 'literal', value: true } } },
    cards: [{ id: 1, kind: 'flow.return', inputs: { output: { type: 'template', template: 'Hello {{ trigger.body.name }}' } } }],
  };
  await signIn(page, testInfo);
  await page.goto('/flows');
  await expectHydration(page, testInfo);
  await importFlow(page, flow);
  await expect(page.getByTestId('flash')).toContainText('The flow is imported');
  const row = page.locator(`tr[data-flow="${name}"]`);
  await row.getByRole('button', { name: `Turn on ${name}` }).click();
  await expect(page.getByTestId('flash')).toContainText('The flow is on');

  await row.getByRole('link', { name: `API access of ${name}` }).click();
  const api = page.getByTestId('flow-api');
  await expect(api).toContainText('No secret yet');
  const invokeUrl = await page.getByLabel('Invoke URL (POST, JSON body)').inputValue();
  expect(invokeUrl).toMatch(/\/api\/v1\/flows\/[0-9a-f-]+\/invoke$/);
  await expect(page.getByTestId('curl-example')).toContainText('Idempotency-Key');

  await page.getByRole('button', { name: 'Make a secret' }).click();
  const first = await page.getByLabel('New flow secret').inputValue();
  expect(first).toMatch(/^idf_flow_/);
  await expect(page.getByTestId('curl-example')).toContainText(first);
  const call = (secret: string, key?: string) =>
    request.post(invokeUrl, {
      headers: { 'x-api-client-token': secret, ...(key ? { 'Idempotency-Key': key } : {}) },
      data: { name: 'Ada' },
    });
  const answer = await call(first);
  expect(answer.status()).toBe(200);
  expect(await answer.json()).toBe('Hello Ada');
  const key = `e2e-${testInfo.project.name}-${Date.now()}`;
  expect((await call(first, key)).headers()['idempotent-replayed']).toBeUndefined();
  const again = await call(first, key);
  expect(again.status()).toBe(200);
  expect(again.headers()['idempotent-replayed']).toBe('true');

  // Shown once: gone after a reload.
  await page.reload();
  await expect(page.getByLabel('New flow secret')).toHaveCount(0);
  await expect(page.getByTestId('flow-secrets')).toContainText('Works until rotated or revoked');

  // Rotated so the old one stops at once.
  await page.getByLabel('The current secret').selectOption('0');
  await page.getByRole('button', { name: 'Rotate secret' }).click();
  const second = await page.getByLabel('New flow secret').inputValue();
  expect(second).not.toBe(first);
  expect((await call(first)).status()).toBe(401);
  expect((await call(second)).status()).toBe(200);

  // Revoked after confirming: nothing calls it.
  await page.getByText('Revoke every secret').click();
  await expect(page.getByText('its paused executions cannot be resumed')).toBeVisible();
  await page.getByRole('button', { name: 'Yes, revoke' }).click();
  await expect(page.getByRole('status')).toContainText('Every secret of the flow is revoked');
  expect((await call(second)).status()).toBe(401);
  await expect(api).toContainText('No secret yet');
});

test('the System Log is searched with keywords and a filter, paged and exported', async ({ page }, testInfo) => {
  await signIn(page, testInfo);
  await page.goto('/system-log');
  await expectHydration(page, testInfo);
  await page.getByLabel('Keywords').fill('admin@');
  await page.getByLabel('Filter').fill('eventType eq "user.session.start" and outcome.result eq "SUCCESS"');
  await page.getByRole('button', { name: 'Search' }).click();
  await expect(page).toHaveURL(/filter=eventType/);
  const rows = page.getByTestId('system-log').locator('tbody tr');
  await expect(rows.first()).toHaveAttribute('data-action', 'user.session.start');
  for (const action of await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-action')))) {
    expect(action).toBe('user.session.start');
  }

  // The export carries the same search.
  const csvLink = page.getByRole('link', { name: 'Export CSV' });
  const csv = await page.request.get(await csvLink.getAttribute('href') ?? '');
  expect(csv.status()).toBe(200);
  const lines = (await csv.text()).trim().split('\n');
  expect(lines[0]).toContain('published,eventType');
  expect(lines.length).toBeGreaterThan(1);
  expect(lines.slice(1).every((line) => line.includes(',user.session.start,'))).toBeTruthy();

  // A mistake in the filter is named, and what was typed stays.
  await page.getByLabel('Filter').fill('colour eq "red"');
  await page.getByRole('button', { name: 'Search' }).click();
  await expect(page.getByTestId('log-search-problem')).toContainText('not an attribute');
  await expect(page.getByLabel('Filter')).toHaveValue('colour eq "red"');

  // Oldest first, page by page.
  await page.goto('/system-log?sortOrder=ASCENDING');
  await expect(page.getByLabel('Order')).toHaveValue('ASCENDING');
  const times = await page.getByTestId('system-log').locator('time').evaluateAll((ts) => ts.map((t) => t.getAttribute('datetime') ?? ''));
  // Compared as instants: the text of a time drops trailing zeros of its fraction.
  expect([...times].sort((a, b) => Date.parse(a) - Date.parse(b))).toEqual(times);
});

test('an admin makes an API token in Settings, a script uses it, and the admin revokes it', async ({ page, request }, testInfo) => {
  const name = `Report script ${testInfo.project.name} ${Date.now()}`;
  await signIn(page, testInfo);
  await page.goto('/settings');
  await expectHydration(page, testInfo);
  await page.getByText('Make an API token').click();
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByLabel('flows:read').check();
  await page.getByLabel('logs:read').check();
  await page.getByLabel('Expires after (days, 1 to 365)').fill('7');
  await page.getByRole('button', { name: 'Make token' }).click();
  const token = await page.getByLabel('New API token').inputValue();
  expect(token).toMatch(/^idf_api_/);
  const row = page.locator(`tr[data-api-token="${name}"]`);
  await expect(row).toContainText('flows:read logs:read');
  await expect(row).toContainText('Active');

  const flows = await request.get('/api/v1/flows', { headers: { Authorization: `Bearer ${token}` } });
  expect(flows.status()).toBe(200);
  expect(Array.isArray((await flows.json()).items)).toBeTruthy();
  const outside = await request.get('/api/v1/executions', { headers: { Authorization: `Bearer ${token}` } });
  expect(outside.status()).toBe(403);
  expect(outside.headers()['content-type']).toContain('application/problem+json');

  // Shown once; revoked after confirming.
  await page.reload();
  await expect(page.getByLabel('New API token')).toHaveCount(0);
  await row.getByText('Revoke', { exact: true }).click();
  await row.getByRole('button', { name: 'Yes, revoke the token' }).click();
  await expect(page.getByRole('status')).toContainText('The API token is revoked');
  await expect(page.locator(`tr[data-api-token="${name}"]`)).toContainText('Revoked');
  const after = await request.get('/api/v1/flows', { headers: { Authorization: `Bearer ${token}` } });
  expect(after.status()).toBe(401);
});
