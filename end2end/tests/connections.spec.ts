import type { Page } from '@playwright/test';
import { test, expect, expectHydration, signIn, importFlow } from './helpers';
import { SMTP_PORT } from '../playwright.config';

test('an admin creates an HTTP connection, tests it, and deletes it after confirming', async ({ page }, testInfo) => {
  const name = `Status API ${testInfo.project.name} ${Date.now()}`;
  const secret = `e2e-token-${Date.now()}`;
  await signIn(page, testInfo);
  await page.goto('/connections');
  const origin = new URL(page.url()).origin;

  await page.getByText('New HTTP connection').click();
  const form = page.locator('details', { hasText: 'New HTTP connection' });
  await form.getByLabel('Name', { exact: true }).fill(name);
  // idflow itself is the API: the test server allows loopback (IDFLOW_OUTBOUND_ALLOW).
  await form.getByLabel('Base URL').fill(`${origin}/healthz`);
  await form.getByLabel('Authentication').selectOption('bearer');
  await form.getByLabel('Token', { exact: true }).fill(secret);
  await form.getByRole('button', { name: 'Create connection' }).click();
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

/** Creates an SMTP connection named `name` to the test mail server; ends on its page. */
async function createMailConnection(page: Page, name: string) {
  await page.goto('/connections');
  await page.getByText('New Email (SMTP) connection').click();
  const form = page.locator('details', { hasText: 'New Email (SMTP) connection' });
  await form.getByLabel('Name', { exact: true }).fill(name);
  await form.getByLabel('Server').fill('127.0.0.1');
  await form.getByLabel('Security').selectOption('none');
  await form.getByLabel('Port').fill(String(SMTP_PORT));
  await form.getByLabel('From address').fill('IT <it@example.com>');
  await form.getByRole('button', { name: 'Create connection' }).click();
  await expect(page.getByRole('status')).toContainText('The connection is created.');
}

test('an admin connects a mail server, tests it, and a flow sends an email through it', async ({ page }, testInfo) => {
  const name = `Mail ${testInfo.project.name} ${Date.now()}`;
  await signIn(page, testInfo);
  await createMailConnection(page, name);
  const id = new URL(page.url()).pathname.split('/').pop();

  await page.getByRole('button', { name: 'Test connection' }).click();
  await expect(page.getByRole('status')).toHaveText('The connection works.');

  // A flow's Send Email card uses it.
  const flowName = `Welcome mail (${testInfo.project.name})`;
  await page.goto('/flows');
  await importFlow(page, {
    name: flowName,
    settings: { save_all_data: true },
    trigger: { kind: 'trigger.manual' },
    cards: [
      {
        id: 1,
        kind: 'email.send',
        inputs: {
          connection: { type: 'literal', value: id },
          to: { type: 'literal', value: 'ada@example.com' },
          subject: { type: 'literal', value: 'Welcome' },
          text: { type: 'literal', value: 'Your laptop is ready.' },
        },
      },
    ],
  });
  const row = page.locator(`tr[data-flow="${flowName}"]`);
  await row.getByRole('button', { name: `Turn on ${flowName}` }).click();
  await expect(page.getByTestId('flash')).toContainText('The flow is on');
  await row.getByText('Run', { exact: true }).click();
  await row.getByRole('button', { name: 'Run now' }).click();
  await expect(page).toHaveURL(/\/executions\/[0-9a-f-]+\?notice=flow-started/);
  await expect(async () => {
    await page.reload();
    await expect(page.getByTestId('execution')).toContainText('ada@example.com', { timeout: 1000 });
  }).toPass({ timeout: 15_000 });
  await expect(page.getByTestId('execution')).toContainText('1 · Send Email');

  // The connection now names the flow that uses it.
  await page.goto(`/connections/${id}`);
  await expect(page.getByTestId('connection-used-by')).toHaveText(flowName);
});

// The MFA reminder template installed with a mail connection: its helper emails one user
// (run with Test Flow, as the daily flow would call it), and the execution shows the
// email's record. Both projects share one server: whichever installs second is told the
// names are taken and uses the flows the first installed (both connections reach the
// same mail server).
test('the MFA reminder template, installed with a mail connection, emails a user', async ({ page }, testInfo) => {
  const name = `MFA mail ${testInfo.project.name} ${Date.now()}`;
  // Not an address other specs search executions for.
  const email = `mfa.reminded.${testInfo.project.name}@example.com`;
  await signIn(page, testInfo);
  await createMailConnection(page, name);
  await page.getByRole('button', { name: 'Test connection' }).click();
  await expect(page.getByRole('status')).toHaveText('The connection works.');

  await page.goto('/flows');
  await expectHydration(page, testInfo);
  const template = page.locator('li[data-template="mfa-reminder"]');
  await template.getByLabel('Email (SMTP) connection').selectOption({ label: name });
  await template.getByRole('button', { name: 'Install MFA enrollment reminder' }).click();
  await expect(page.getByTestId('flash')).toContainText(
    /The template is installed: its tables are made|A flow with one of the template's names already exists/,
  );

  const helper = 'Remind one user about MFA';
  await page.locator(`tr[data-flow="${helper}"]`).getByRole('link', { name: 'Test', exact: true }).click();
  const test = page.getByTestId('test-flow');
  await test.getByLabel('Item (For Each, Stream)').fill(JSON.stringify({ email, display_name: 'Ada' }));
  await test.getByLabel('Input', { exact: true }).fill(JSON.stringify({ now: '2026-12-06T09:00:00Z' }));
  await test.getByRole('button', { name: 'Run test' }).click();
  await expect(page).toHaveURL(/\/executions\/[0-9a-f-]+\?notice=test-started/);
  await expect(async () => {
    await page.reload();
    await expect(page.getByTestId('execution')).toContainText('Succeeded', { timeout: 1000 });
  }).toPass({ timeout: 15_000 });
  const execution = page.getByTestId('execution');
  await expect(execution).toContainText('2 · Send Email');
  await expect(execution).toContainText(email);
});
