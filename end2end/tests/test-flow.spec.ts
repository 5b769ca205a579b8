import { test, expect, expectHydration, signIn, importFlow } from './helpers';

// Test Flow: a person types sample input into the trigger's fields, runs the flow (off,
// with "save all data" off), reads each card's inputs and outputs on the execution's page,
// then takes the input of that execution back into the form. Each project (JS on, JS off)
// makes its own flow.
test('test a flow with sample input, then reuse a past execution input', async ({ page }, testInfo) => {
  const name = `Farewell (${testInfo.project.name})`;
  const email = `leaver.${testInfo.project.name}@example.com`;
  const flow = {
    name,
    settings: { save_all_data: false },
    trigger: { kind: 'directory.user_deactivated' },
    cards: [{ id: 1, kind: 'text.compose', inputs: { template: { type: 'template', template: 'Goodbye {{ trigger.user.email }}' } } }],
  };
  await signIn(page, testInfo);
  await page.goto('/flows');
  await expectHydration(page, testInfo);
  await importFlow(page, flow);
  await expect(page.getByTestId('flash')).toContainText('The flow is imported');
  await page.locator(`tr[data-flow="${name}"]`).getByRole('link', { name: 'Test', exact: true }).click();

  const form = page.getByTestId('test-flow');
  await expect(form).toContainText(`Test ${name}`);
  await form.getByLabel('User › Email').fill(email);
  await form.getByLabel('User › Department').fill('Finance');
  await form.getByRole('button', { name: 'Run test' }).click();
  await expect(page).toHaveURL(/\/executions\/[0-9a-f-]+\?notice=test-started/);
  await expect(page.getByTestId('execution')).toContainText('Test run');
  await expect(async () => {
    await page.reload();
    await expect(page.getByTestId('execution')).toContainText(`Goodbye ${email}`, { timeout: 1000 });
  }).toPass({ timeout: 15_000 });
  await expect(page.getByTestId('execution')).toContainText('Succeeded');

  // Back to the test form, with that execution's input.
  await page.goto('/flows');
  await page.locator(`tr[data-flow="${name}"]`).getByRole('link', { name: 'Test', exact: true }).click();
  await page.getByRole('button', { name: 'Use its input' }).click();
  await expect(page.getByTestId('test-flow').getByLabel('User › Email')).toHaveValue(email);
  await expect(page.getByTestId('test-flow').getByLabel('User › Department')).toHaveValue('Finance');

  // The builder shows, on the card, what it did in that test.
  await page.goto('/flows');
  await page.getByRole('link', { name: `Open ${name} in the builder` }).click();
  const tested = page.locator('[data-card="1"] [data-testid="tested"]');
  await expect(tested).toContainText('Last test: succeeded');
  await expect(tested).toContainText(`Goodbye ${email}`);
  await expect(page.getByRole('link', { name: 'Last test: succeeded (version 1)' })).toBeVisible();
});
