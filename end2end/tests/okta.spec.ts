import { test, expect, expectHydration, signIn } from './helpers';
import { OKTA_PORT, PORT } from '../playwright.config';

// The Okta-shaped test org (server/tests/fixtures/okta_org.py), started by the
// Playwright config. Its /_test/ routes stand in for what an Okta admin sets up at Okta.
const ORG = `http://127.0.0.1:${OKTA_PORT}`;
const CLIENT_ID = 'idflow-e2e-web';
const CLIENT_SECRET = 'e2e okta client secret';

// Both projects share one server and one org: whichever installs the template second is
// told its names are taken and uses the flows the first installed (they listen to any
// Okta org, and both connections reach the same one).
test('an admin connects Okta, authorizes it at the org, and the Okta offboarding template acts on a deactivation', async ({
  page,
  request,
}, testInfo) => {
  const project = testInfo.project.name;
  const name = `Okta ${project} ${Date.now()}`;
  const hookSecret = `Bearer e2e-hook-${project}-${Date.now()}`;
  const leaver = { id: `00uleaver${project.replace('-', '')}`, login: `leaver.${project}@acme.example` };
  // The Okta admin's side: the OIDC web app made for idflow, a user in a group.
  await request.post(`${ORG}/_test/clients`, {
    data: {
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
      redirect_uris: [`http://127.0.0.1:${PORT}/connections/okta/callback`],
      scopes: ['okta.users.read', 'okta.groups.read', 'okta.users.manage', 'okta.groups.manage'],
    },
  });
  await request.post(`${ORG}/_test/users`, {
    data: { users: [{ id: leaver.id, login: leaver.login, email: leaver.login, firstName: 'Lee', lastName: 'Ver' }] },
  });
  await request.post(`${ORG}/_test/groups`, { data: { id: `00g${project}`, name: `Team ${project}`, members: [leaver.id] } });

  await signIn(page, testInfo);
  await page.goto('/connections');
  await expectHydration(page, testInfo);
  await page.getByText('New Okta connection').click();
  const form = page.locator('details', { hasText: 'New Okta connection' });
  await form.getByLabel('Name', { exact: true }).fill(name);
  await form.getByLabel('Okta domain').fill(`127.0.0.1:${OKTA_PORT}`);
  await form.getByLabel('Connect with').selectOption('authorization_code');
  await form.getByLabel('Client ID').fill(CLIENT_ID);
  await form.getByLabel('Client secret').fill(CLIENT_SECRET);
  await form.getByLabel('Scopes').fill('okta.users.manage okta.groups.manage');
  await form.getByLabel('Event Hook secret').fill(hookSecret);
  await form.getByRole('button', { name: 'Create connection' }).click();
  await expect(page.getByRole('status')).toContainText('The connection is created.');
  await expect(page.getByTestId('okta-authorization')).toContainText('Not authorized yet');

  // Authorize with Okta: the org's consent page, then back with a refresh token.
  await page.getByRole('button', { name: 'Authorize with Okta' }).click();
  await expect(page.locator('#scopes')).toContainText('offline_access');
  await expect(page.locator('#scopes')).toContainText('okta.groups.manage');
  await page.getByRole('button', { name: 'Allow Access' }).click();
  await expect(page.getByRole('status')).toContainText('Okta authorized the connection');
  await expect(page.getByTestId('okta-authorization')).toContainText('Authorized by an Okta admin');
  await page.getByRole('button', { name: 'Test connection' }).click();
  await expect(page.getByRole('status')).toHaveText('The connection works.');
  await expect(page.getByTestId('okta-rate')).toContainText('requests left');
  const hookUrl = (await page.getByTestId('okta-hook-url').textContent())!.trim();
  expect(hookUrl).toMatch(/\/hooks\/okta\/[0-9a-f-]+$/);
  await expect(page.getByTestId('okta-hook-types')).toContainText('user.lifecycle.deactivate');
  expect(await page.content()).not.toContain(hookSecret);

  // The org verifies the Event Hook, as Okta does once.
  const verified = await (await request.post(`${ORG}/_test/hook/verify`, {
    data: { url: hookUrl, header: 'Authorization', secret: hookSecret },
  })).json();
  expect(verified.ok, JSON.stringify(verified)).toBe(true);

  // Slack for the template's message: a webhook connection to the org's stand-in.
  await page.goto('/connections');
  await page.getByText('New Slack connection').click();
  const slack = page.locator('details', { hasText: 'New Slack connection' });
  await slack.getByLabel('Name', { exact: true }).fill(`Slack ${name}`);
  await slack.getByLabel('Webhook URL').fill(`${ORG}/_test/slack/webhook`);
  await slack.getByRole('button', { name: 'Create connection' }).click();
  await expect(page.getByRole('status')).toContainText('The connection is created.');

  // Install the Okta offboarding template with both, and turn it on.
  await page.goto('/flows');
  await expectHydration(page, testInfo);
  const template = page.locator('li[data-template="okta-offboarding"]');
  await template.getByLabel('Okta connection').selectOption({ label: name });
  await template.getByLabel('Slack connection').selectOption({ label: `Slack ${name}` });
  await template.getByRole('button', { name: 'Install Okta: offboarding' }).click();
  await expect(page.getByTestId('flash')).toContainText(
    /The template is installed: its tables are made|A flow with one of the template's names already exists/,
  );
  const flow = 'Okta: offboarding';
  const row = page.locator(`tr[data-flow="${flow}"]`);
  const turnOn = row.getByRole('button', { name: `Turn on ${flow}` });
  if (await turnOn.count()) {
    await turnOn.click();
    await expect(page.getByTestId('flash')).toContainText('The flow is on');
  }

  // The org sends the deactivation.
  const sent = await (await request.post(`${ORG}/_test/hook/send`, {
    data: {
      url: hookUrl,
      header: 'Authorization',
      secret: hookSecret,
      events: [{ type: 'user.lifecycle.deactivate', user: { id: leaver.id, login: leaver.login, name: 'Lee Ver' } }],
    },
  })).json();
  expect(sent.status, JSON.stringify(sent)).toBe(200);

  // The execution, found by the login it carried, succeeded card by card.
  await page.goto(`/executions?q=${encodeURIComponent(leaver.login)}`);
  const execution = page.locator('tr', { hasText: flow });
  await expect(async () => {
    await page.reload();
    await expect(execution.first()).toContainText('Succeeded', { timeout: 1000 });
  }).toPass({ timeout: 20_000 });
  // Its second link (the time it started) opens it.
  await execution.first().getByRole('link').nth(1).click();
  await expect(page.getByTestId('execution')).toContainText('Clear User Sessions');
  await expect(page.getByTestId('execution')).toContainText('request_id');

  // The org's record of the calls the flow made.
  const calls: { method: string; path: string; status: number }[] = await (await request.get(`${ORG}/_test/calls`)).json();
  const made = calls.map((c) => `${c.method} ${c.path} ${c.status}`);
  expect(made).toContain(`DELETE /api/v1/users/${leaver.id}/sessions 204`);
  expect(made).toContain(`GET /api/v1/users/${leaver.id}/groups 200`);
  expect(made).toContain(`DELETE /api/v1/groups/00g${project}/users/${leaver.id} 204`);
  const state = await (await request.get(`${ORG}/_test/state`)).json();
  expect(state.groups[`00g${project}`]).toEqual([]);
  const posted: { text: string }[] = await (await request.get(`${ORG}/_test/slack`)).json();
  expect(posted.map((m) => m.text).join('\n')).toContain(leaver.login);
});
