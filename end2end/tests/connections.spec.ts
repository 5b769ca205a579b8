import { test, expect, signIn } from './helpers';

test('an admin creates an HTTP connection, tests it, and deletes it after confirming', async ({ page }, testInfo) => {
  const name = `Status API ${testInfo.project.name} ${Date.now()}`;
  const secret = `e2e-token-${Date.now()}`;
  await signIn(page, testInfo);
  await page.goto('/connections');
  const origin = new URL(page.url()).origin;

  await page.getByText('New HTTP connection').click();
  await page.getByLabel('Name', { exact: true }).fill(name);
  // idflow itself is the API: the test server allows loopback (IDFLOW_OUTBOUND_ALLOW).
  await page.getByLabel('Base URL').fill(`${origin}/healthz`);
  await page.getByLabel('Authentication').selectOption('bearer');
  await page.getByLabel('Token', { exact: true }).fill(secret);
  await page.getByRole('button', { name: 'Create connection' }).click();
  await expect(page.getByRole('status')).toContainText('The connection is created.');
  await expect(page.getByTestId('connection-name')).toHaveText(name);
  await expect(page.getByTestId('connection-used-by')).toHaveText('No flow');
  // The secret is typed once and never shown again.
  expect(await page.content()).not.toContain(secret);
  await expect(page.getByLabel('Token', { exact: true })).toHaveAttribute('placeholder', /kept/);

  await page.getByRole('button', { name: 'Test connection' }).click();
  await expect(page.getByRole('status')).toHaveText('The connection works.');
  await expect(page.getByTestId('connection-last-test')).toContainText('Works');

  await page.goto('/connections');
  const row = page.locator(`tr[data-connection="${name}"]`);
  await expect(row).toContainText('Works');
  await expect(row).toContainText('admin@');

  await row.getByRole('link', { name }).click();
  await page.getByText('Delete connection').click();
  await expect(page.getByText('is deleted with its secrets. No flow uses it.')).toBeVisible();
  await page.getByRole('button', { name: 'Yes, delete the connection' }).click();
  await expect(page.getByRole('status')).toHaveText('The connection and its secrets are deleted.');
  await expect(page.locator(`tr[data-connection="${name}"]`)).toHaveCount(0);
});
