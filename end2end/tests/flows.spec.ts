import { test, expect, expectHydration, signIn, importFlow } from './helpers';

// A person imports a Manual flow's JSON, turns it on, runs it with an input, reads what
// each card did, finds the execution by the value it carried, re-runs it, and deletes the
// flow after the confirmation. Each project (JS on, JS off) makes its own flow.
test('import, turn on, run, read, search, re-run and delete a flow', async ({ page }, testInfo) => {
  const name = `Greet (${testInfo.project.name})`;
  const email = `ada.${testInfo.project.name}@example.com`;
  const flow = {
    name,
    description: 'Says hello to whoever is given',
    settings: { save_all_data: true },
    trigger: { kind: 'trigger.manual' },
    cards: [
      { id: 1, kind: 'text.compose', inputs: { template: { type: 'template', template: 'Hello {{ trigger.input.email }}' } } },
      { id: 2, kind: 'flow.return', inputs: { output: { type: 'mapping', from: { card: 1 }, path: 'output' } } },
    ],
  };
  await signIn(page, testInfo);
  await page.goto('/flows');
  await expectHydration(page, testInfo);

  // The import form is open while there are no flows; otherwise it opens on a click.
  await importFlow(page, flow);
  await expect(page.getByTestId('flash')).toContainText('The flow is imported, turned off.');
  const row = page.locator(`tr[data-flow="${name}"]`);
  await expect(row).toContainText('Manual');
  await expect(row).toContainText('Off');
  await expect(row).toContainText('never');

  await row.getByRole('button', { name: `Turn on ${name}` }).click();
  await expect(page.getByTestId('flash')).toContainText('The flow is on');
  await expect(row).toContainText('On');

  await row.getByText('Run', { exact: true }).click();
  await row.getByLabel('Input (JSON, optional)').fill(JSON.stringify({ email }));
  await row.getByRole('button', { name: 'Run now' }).click();
  await expect(page).toHaveURL(/\/executions\/[0-9a-f-]+\?notice=flow-started/);
  // The engine runs it in the background; the page shows it once it has.
  await expect(async () => {
    await page.reload();
    await expect(page.getByTestId('execution-output')).toContainText(`Hello ${email}`, { timeout: 1000 });
  }).toPass({ timeout: 15_000 });
  await expect(page.getByTestId('execution')).toContainText('1 · Compose');
  await expect(page.getByTestId('execution')).toContainText('2 · Return');
  await expect(page.getByTestId('execution')).toContainText('Succeeded');
  await page.screenshot({ path: testInfo.outputPath('execution.png'), fullPage: true });

  // Found in the Executions tab by the value it carried.
  await page.goto('/executions');
  await page.getByLabel('A value the execution carried').fill(email.toUpperCase());
  await page.getByRole('button', { name: 'Search' }).click();
  const found = page.getByTestId('executions').locator('tbody tr');
  await expect(found).toHaveCount(1);
  await expect(found).toContainText(name);
  await found.getByRole('link').nth(1).click();
  await expect(page).toHaveURL(/\/executions\/[0-9a-f-]+$/);
  await page.getByRole('button', { name: 'Re-run with the same input' }).click();
  await expect(page.getByTestId('flash')).toContainText('This is a new execution of the same input');

  // Deleting asks first, naming what happens.
  await page.goto('/flows');
  await page.screenshot({ path: testInfo.outputPath('flows.png'), fullPage: true });
  await row.getByText('Delete', { exact: true }).click();
  await expect(row).toContainText('No other flow uses it.');
  await row.getByRole('button', { name: 'Yes, delete the flow' }).click();
  await expect(page.getByTestId('flash')).toContainText('The flow, its versions and its executions are deleted.');
  await expect(page.locator(`tr[data-flow="${name}"]`)).toHaveCount(0);
});

// A reference use case installs from the Flows tab as ready flows, turned off. Both
// projects share one server: whichever comes second is told the names are taken.
test('a template installs as flows the admin can then turn on', async ({ page }, testInfo) => {
  await signIn(page, testInfo);
  await page.goto('/flows');
  await expectHydration(page, testInfo);
  await page.getByRole('button', { name: 'Install Lockout: tell the manager' }).click();
  await expect(page.getByTestId('flash')).toContainText(
    /The template is installed|A flow with one of the template's names already exists/,
  );
  const row = page.locator('tr[data-flow="Tell the manager about a lockout"]');
  await expect(row).toContainText('User Account Locked');
  await expect(row.getByRole('button', { name: /Turn (on|off) Tell the manager about a lockout/ })).toBeVisible();
});
