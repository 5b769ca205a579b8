import { Browser, Page, TestInfo } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { test, expect, jsEnabled, signIn } from './helpers';

const binary = process.env.IDFLOW_E2E_BINARY ?? '../target/debug/idflow';
const PASSWORD = 'an assignments test password';

/** Creates a user in the Directory, as an admin does, and gives them a password from the command line. */
async function createUser(page: Page, userName: string, displayName: string) {
  await page.goto('/directory/users');
  await page.getByText('New user').click();
  await page.getByLabel('User name').fill(userName);
  await page.getByLabel('Display name').fill(displayName);
  await page.getByLabel('Email').fill(userName);
  await page.getByLabel('Department').fill('Security');
  await page.getByRole('button', { name: 'Create user' }).click();
  await expect(page.getByTestId('flash')).toContainText('The user is created');
  await expect(page.getByRole('heading', { level: 1, name: displayName })).toBeVisible();
  await expect(page.getByTestId('user-role')).toHaveText('Unassigned User');
  execFileSync(binary, ['admin', 'reset-password', userName, '--password-stdin'], {
    input: PASSWORD,
    env: { ...process.env, IDFLOW_DATA_DIR: '.data', IDFLOW_LOG: 'warn' },
  });
}

async function signInAs(browser: Browser, testInfo: TestInfo, userName: string) {
  const context = await browser.newContext({ javaScriptEnabled: jsEnabled(testInfo) });
  const page = await context.newPage();
  await signIn(page, testInfo, userName, PASSWORD);
  return page;
}

test('an admin assigns a role and maps a group; each user sees only what their role allows', async ({ browser, page }, testInfo) => {
  // A whole story across three people; on two busy cores it can take longer than one page test.
  test.slow();
  const run = `${testInfo.project.name}-${Date.now()}`;
  const erin = `erin.${run}@example.com`;
  const finn = `finn.${run}@example.com`;
  const team = `Connection team ${run}`;

  await signIn(page, testInfo);
  await expect(page.getByTestId('current-role')).toHaveText('Super Admin');
  await createUser(page, erin, `Erin ${run}`);
  await createUser(page, finn, `Finn ${run}`);

  // Assign Erin the auditor role, directly.
  await page.goto('/assignments');
  await page.getByLabel('User name').fill(erin);
  await page.locator('#assign-role').selectOption({ label: 'Workflows Auditor' });
  await page.getByRole('button', { name: 'Assign', exact: true }).click();
  await expect(page.getByTestId('flash')).toContainText('The user is assigned');
  const erinRow = page.locator(`tr[data-user="${erin}"]`);
  await expect(erinRow.getByTestId('effective-role')).toHaveText('Workflows Auditor');
  await expect(erinRow.getByTestId('source')).toHaveText('Direct (Workflows Auditor)');

  // Make a group with Finn in it, and map it to Connection Manager (push group).
  await page.goto('/directory/groups');
  await page.getByText('New group').click();
  await page.getByLabel('Group name').fill(team);
  await page.getByRole('button', { name: 'Create group' }).click();
  await expect(page.getByTestId('flash')).toContainText('The group is created');
  await page.getByLabel('Add a member by user name').fill(finn);
  await page.getByRole('button', { name: 'Add member' }).click();
  await expect(page.getByTestId('flash')).toContainText('The member is added');
  await expect(page.getByTestId('group-members')).toContainText(finn);
  await page.goto('/assignments');
  await page.getByLabel('Map a group to a role').selectOption({ label: team });
  await page.locator('#map-role').selectOption({ label: 'Connection Manager' });
  await page.getByRole('button', { name: 'Map group' }).click();
  await expect(page.getByTestId('flash')).toContainText('The group is mapped');
  await expect(page.locator(`tr[data-group="${team}"]`)).toContainText('Connection Manager');
  const finnRow = page.locator(`tr[data-user="${finn}"]`);
  await expect(finnRow.getByTestId('source')).toHaveText(`Group ${team} (Connection Manager)`);

  // The access review names both paths.
  const csv = await (await page.request.get('/assignments/access-review.csv')).text();
  expect(csv).toContain(`${erin},Erin ${run},active,Workflows Auditor,direct,`);
  expect(csv).toContain(`${finn},Finn ${run},active,Connection Manager,group ${team},`);

  // Erin, an auditor, reads everything and changes nothing.
  const erinPage = await signInAs(browser, testInfo, erin);
  await expect(erinPage.getByTestId('current-role')).toHaveText('Workflows Auditor');
  const erinNav = erinPage.getByRole('navigation', { name: 'Console' });
  await expect(erinNav.getByRole('link')).toHaveText(['Flows', 'Tables', 'Executions', 'Directory', 'Assignments', 'Connections', 'System Log', 'Settings']);
  await erinNav.getByRole('link', { name: 'Assignments' }).click();
  await expect(erinPage.locator(`tr[data-user="${finn}"]`)).toBeVisible();
  await expect(erinPage.getByRole('button', { name: 'Assign', exact: true })).toHaveCount(0);
  await expect(erinPage.getByRole('button', { name: 'Change role' })).toHaveCount(0);
  await erinNav.getByRole('link', { name: 'Directory' }).click();
  await expect(erinPage.getByText('New user')).toHaveCount(0);

  // Finn holds Connection Manager only through the group.
  const finnPage = await signInAs(browser, testInfo, finn);
  await expect(finnPage.getByTestId('current-role')).toHaveText('Connection Manager');
  await expect(finnPage.getByRole('navigation', { name: 'Console' }).getByRole('link')).toHaveText(['Connections']);
  const refused = await finnPage.goto('/assignments');
  expect(refused?.status()).toBe(403);

  // Taking Finn out of the group ends his access on his next click.
  await page.goto('/directory/groups');
  await page.getByRole('link', { name: team }).click();
  const member = page.locator(`li[data-member="${finn}"]`);
  await member.getByText('Remove', { exact: true }).click();
  await member.getByRole('button', { name: 'Yes, remove' }).click();
  await expect(page.getByTestId('flash')).toContainText('The member is removed');
  await finnPage.goto('/connections');
  await expect(finnPage).toHaveURL(/\/sign-in/);

  await erinPage.context().close();
  await finnPage.context().close();
});

test('an admin suspends a user from the Directory, which signs them out at once', async ({ browser, page }, testInfo) => {
  test.slow();
  const run = `${testInfo.project.name}-${Date.now()}`;
  const gil = `gil.${run}@example.com`;
  await signIn(page, testInfo);
  await expect(page.getByTestId('current-role')).toHaveText('Super Admin');
  await createUser(page, gil, `Gil ${run}`);
  const userPage = page.url();
  await page.goto('/assignments');
  await page.getByLabel('User name').fill(gil);
  await page.locator('#assign-role').selectOption({ label: 'Workflows Administrator' });
  await page.getByRole('button', { name: 'Assign', exact: true }).click();
  await expect(page.getByTestId('flash')).toContainText('The user is assigned');

  const gilPage = await signInAs(browser, testInfo, gil);
  await expect(gilPage.getByTestId('current-role')).toHaveText('Workflows Administrator');

  await page.goto(userPage);
  await page.getByText('Suspend', { exact: true }).click();
  await expect(page.getByText('is signed out everywhere and cannot sign in until unsuspended')).toBeVisible();
  await page.getByRole('button', { name: 'Yes, suspend' }).click();
  await expect(page.getByTestId('flash')).toContainText('The user is suspended');
  await expect(page.getByTestId('user-status')).toHaveText('suspended');

  await gilPage.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Flows' }).click();
  await expect(gilPage).toHaveURL(/\/sign-in/);
  await gilPage.context().close();
});
