import { test, expect, allowBrowserErrors, expectHydration, jsEnabled, signIn, importFlow } from './helpers';

// The Executions tab: before any flow has run it says how executions come to be; its
// search says when nothing matches, and an execution that does not exist is a 404 page.
test('the Executions tab explains itself, searches, and refuses an unknown execution', async ({ page }, testInfo) => {
  // The unknown execution's page is a 404, which the browser reports.
  allowBrowserErrors(testInfo, /status of 404/);
  await signIn(page, testInfo);
  await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Executions', exact: true }).click();
  await expect(page).toHaveURL(/\/executions$/);
  await expectHydration(page, testInfo);
  // Before any flow has run it explains where executions come from. Other specs share
  // this server and may have run flows already; then the list is there instead.
  const empty = page.getByTestId('empty-state');
  const list = page.getByTestId('executions');
  await expect(empty.or(list)).toBeVisible();
  if (await empty.isVisible()) {
    await expect(empty).toContainText('No executions yet');
    await expect(empty).toContainText('each time a flow runs');
  }

  // A search by a carried value (a user's email) and a status: the filters stay in the
  // form and in the address, so the page can be shared.
  await page.getByLabel('A value the execution carried').fill('alice@example.com');
  await page.getByLabel('Status').selectOption('failed');
  await page.getByLabel('Since').selectOption('24h');
  await page.getByRole('button', { name: 'Search' }).click();
  await expect(page).toHaveURL(/q=alice%40example\.com/);
  await expect(page).toHaveURL(/status=failed/);
  await expect(page.getByTestId('empty-state')).toContainText('No executions match');
  await expect(page.getByLabel('A value the execution carried')).toHaveValue('alice@example.com');
  await expect(page.getByLabel('Status')).toHaveValue('failed');

  const response = await page.goto('/executions/00000000-0000-0000-0000-000000000000');
  expect(response?.status()).toBe(404);
  await expect(page.getByTestId('error-page')).toContainText('There is no such execution.');
  await page.getByRole('link', { name: '← All executions' }).click();
  await expect(page).toHaveURL(/\/executions$/);
});

// An execution's page follows it while it runs: with JavaScript it changes by itself from
// running to succeeded; without, a Refresh link brings the news.
test('an execution page follows the execution while it runs', async ({ page }, testInfo) => {
  const name = `Slow (${testInfo.project.name})`;
  const flow = {
    name,
    trigger: { kind: 'trigger.manual' },
    cards: [
      { id: 1, kind: 'flow.wait', inputs: { seconds: { type: 'literal', value: 3 } } },
      { id: 2, kind: 'flow.return', inputs: { output: { type: 'literal', value: 'waited' } } },
    ],
  };
  await signIn(page, testInfo);
  await page.goto('/flows');
  await expectHydration(page, testInfo);
  await importFlow(page, flow);
  const row = page.locator(`tr[data-flow="${name}"]`);
  await row.getByText('Run', { exact: true }).click();
  await row.getByRole('button', { name: 'Run now' }).click();
  await expect(page).toHaveURL(/\/executions\/[0-9a-f-]+\?notice=flow-started/);
  const execution = page.getByTestId('execution');
  await expect(page.getByTestId('refresh')).toBeVisible();
  await expect(execution).not.toContainText('Succeeded');
  if (jsEnabled(testInfo)) {
    // No reload: the page follows the execution by itself.
    await expect(execution).toContainText('Succeeded', { timeout: 15_000 });
  } else {
    await expect(async () => {
      await page.getByTestId('refresh').click();
      await expect(execution).toContainText('Succeeded', { timeout: 1000 });
    }).toPass({ timeout: 15_000 });
  }
  await expect(page.getByTestId('execution-output')).toContainText('waited');
  await expect(page.getByTestId('refresh')).toHaveCount(0);
});

test('the Executions tab pages through 500 executions with the total and keeps the search', async ({ page, request }, testInfo) => {
  test.setTimeout(120_000);
  const name = `Paged (${testInfo.project.name}) ${Date.now()}`;
  await signIn(page, testInfo);
  await page.goto('/flows');
  await expectHydration(page, testInfo);
  await importFlow(page, { name, trigger: { kind: 'trigger.api_endpoint' }, cards: [] });
  await expect(page.getByTestId('flash')).toContainText('The flow is imported');
  const row = page.locator(`tr[data-flow="${name}"]`);
  await row.getByRole('button', { name: `Turn on ${name}` }).click();
  await expect(page.getByTestId('flash')).toContainText('The flow is on');
  await row.getByRole('link', { name: `API access of ${name}` }).click();
  const invokeUrl = await page.getByLabel('Invoke URL (POST, JSON body)').inputValue();
  const flowId = invokeUrl.match(/flows\/([0-9a-f-]+)\/invoke$/)![1];
  await page.getByRole('button', { name: 'Make a secret' }).click();
  const secret = await page.getByLabel('New flow secret').inputValue();

  // 500 calls, 25 at a time.
  for (let batch = 0; batch < 20; batch++) {
    const calls = Array.from({ length: 25 }, (_, i) =>
      request.post(invokeUrl, { headers: { 'x-api-client-token': secret }, data: { n: batch * 25 + i } }),
    );
    for (const answer of await Promise.all(calls)) expect(answer.status()).toBeLessThan(300);
  }

  await page.goto(`/executions?flow=${flowId}`);
  await expectHydration(page, testInfo);
  const range = page.getByTestId('executions-range');
  await expect(range).toHaveText('1–50 of 500');
  await expect(page.getByTestId('executions').locator('tbody tr')).toHaveCount(50);
  for (let n = 1; n < 10; n++) {
    await page.getByRole('link', { name: 'Older »' }).click();
    await expect(range).toHaveText(`${n * 50 + 1}–${n * 50 + 50} of 500`);
    await expect(page).toHaveURL(new RegExp(`flow=${flowId}&before=`));
  }
  await expect(page.getByRole('link', { name: 'Older »' })).toHaveCount(0);
  await page.getByRole('link', { name: '« Newest' }).click();
  await expect(range).toHaveText('1–50 of 500');
  await expect(page).toHaveURL(new RegExp(`/executions\\?flow=${flowId}$`));
});
