import { test, expect, expectHydration, signIn, scim, scimToken } from './helpers';
import { OKTA_PORT } from '../playwright.config';

// The test org's Slack stand-in keeps what is posted to it (server/tests/fixtures/okta_org.py).
const ORG = `http://127.0.0.1:${OKTA_PORT}`;

// Dry run: the Offboarding template, installed with a Slack connection, is dry-run from
// the builder's Dry run link against a real user who is in a group. Each card says what it
// would have done (the group they would leave, their sessions, the row, the Slack message)
// and the user stays active and in their group; nothing reaches Slack. Both projects share
// one server: whichever installs the template second uses the flow the first installed.
test('dry-run the offboarding template against a real user and see the diff while the user stays active', async ({
  page,
  request,
}, testInfo) => {
  const tag = `${testInfo.project.name}-${Date.now()}`;
  const email = `dry.${tag}@example.com`;
  const groupName = `Dry run ${tag}`;
  await signIn(page, testInfo);

  // The user, active and in a group, from the identity provider.
  const token = await scimToken(page, testInfo, `dry run ${tag}`);
  const user = await scim(request, token, 'POST', '/Users', {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
    userName: email,
    active: true,
    name: { givenName: 'Dee', familyName: `Ryrun ${tag}` },
    emails: [{ value: email, type: 'work', primary: true }],
  });
  await scim(request, token, 'POST', '/Groups', {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'],
    displayName: groupName,
    members: [{ value: user.id }],
  });

  // A Slack connection to the stand-in, and the template installed with it.
  await page.goto('/connections');
  await expectHydration(page, testInfo);
  await page.getByText('New Slack connection').click();
  const slack = page.locator('details', { hasText: 'New Slack connection' });
  await slack.getByLabel('Name', { exact: true }).fill(`Slack ${tag}`);
  await slack.getByLabel('Webhook URL').fill(`${ORG}/_test/slack/webhook`);
  await slack.getByRole('button', { name: 'Create connection' }).click();
  await expect(page.getByRole('status')).toContainText('The connection is created.');
  await page.goto('/flows');
  const template = page.locator('li[data-template="offboarding"]');
  await template.getByLabel('Slack connection').selectOption({ label: `Slack ${tag}` });
  await template.getByRole('button', { name: 'Install Offboarding' }).click();
  await expect(page.getByTestId('flash')).toContainText(
    /The template is installed: its tables are made|A flow with one of the template's names already exists/,
  );

  // From the builder, Dry run; the trigger's user taken from the directory.
  await page.goto('/flows?q=Offboarding');
  await page.getByRole('link', { name: 'Open Offboarding in the builder' }).click();
  await expectHydration(page, testInfo);
  await page.getByRole('link', { name: 'Dry run', exact: true }).click();
  const form = page.getByTestId('test-flow');
  await expect(form).toContainText('Dry run Offboarding');
  await form.getByLabel('Take the user from the directory').fill(email);
  await form.getByRole('button', { name: 'Use this user' }).click();
  await expect(page.getByTestId('test-flow').getByLabel('User › Email', { exact: true })).toHaveValue(email);
  await expect(page.getByTestId('test-flow').getByLabel('User › ID', { exact: true })).toHaveValue(user.id);
  await page.getByTestId('test-flow').getByRole('button', { name: 'Dry run' }).click();

  // The execution: a dry run, each card saying what it would have done.
  await expect(page).toHaveURL(/\/executions\/[0-9a-f-]+\?notice=dry-run-started/);
  const execution = page.getByTestId('execution');
  await expect(async () => {
    await page.reload();
    await expect(execution).toContainText('Succeeded', { timeout: 1000 });
  }).toPass({ timeout: 20_000 });
  await expect(page.getByTestId('dry-run')).toContainText('nothing was changed');
  await expect(execution.locator('h2')).toContainText('Dry run');
  const would = (card: number) => execution.locator(`[data-card="${card}"] [data-testid="would"]`);
  await expect(would(1)).toContainText(`Would remove ${email} from every group they are in`);
  await expect(would(1).locator('tr', { hasText: `member of ${groupName}` })).toContainText('true');
  await expect(would(1).locator('tr', { hasText: `member of ${groupName}` }).locator('td.after')).toHaveText('false');
  await expect(would(2)).toContainText(`Would sign ${email} out of every session`);
  await expect(would(3)).toContainText('Would add a row to offboarded');
  await expect(would(3).locator('tr', { hasText: 'email' }).locator('td.after')).toHaveText(email);
  await expect(would(4)).toContainText("Would post to the webhook's channel in Slack");
  await expect(would(4)).toContainText(`(${email}) was deactivated: removed from 1 groups`);
  await page.screenshot({ path: testInfo.outputPath('dry-run.png'), fullPage: true });

  // Nothing happened: the user is active and still in the group, and Slack heard nothing.
  const now = await scim(request, token, 'GET', `/Users/${user.id}`);
  expect(now.active).toBe(true);
  expect(now.meta.version, 'the user was not written to').toBe(user.meta.version);
  const groups = await scim(request, token, 'GET', `/Groups?filter=${encodeURIComponent(`displayName eq "${groupName}"`)}`);
  expect(groups.Resources[0].members.map((m: { value: string }) => m.value)).toEqual([user.id]);
  const posted: { text: string }[] = await (await request.get(`${ORG}/_test/slack`)).json();
  expect(posted.map((m) => m.text).join('\n')).not.toContain(email);
  await page.goto(`/directory/users/${user.id}`);
  await expect(page.getByTestId('user-status')).toHaveText('active');
});
