import { APIRequestContext, Browser, Page, TestInfo } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { test, expect, signIn, scim, scimToken } from './helpers';

const binary = process.env.IDFLOW_E2E_BINARY ?? '../target/debug/idflow';
const PASSWORD = 'a role test password';

/** A SCIM token made by the signed-in bootstrap admin. */
async function adminScimToken(page: Page, testInfo: TestInfo): Promise<string> {
  await signIn(page, testInfo);
  await expect(page.getByTestId('current-role')).toHaveText('Super Admin');
  return scimToken(page, testInfo, 'roles');
}

/** Provisions a user over SCIM, gives them a local password with the CLI, and signs them in. */
async function provisionAndSignIn(browser: Browser, request: APIRequestContext, token: string, testInfo: TestInfo, role?: string) {
  const userName = `${role ?? 'nobody'}.${testInfo.project.name}.${Date.now()}@example.com`;
  const body: Record<string, unknown> = { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName };
  if (role) body['urn:ietf:params:scim:schemas:extension:idflow:2.0:User'] = { role };
  const user = await scim(request, token, 'POST', '/Users', body);
  execFileSync(binary, ['admin', 'reset-password', userName, '--password-stdin'], {
    input: PASSWORD,
    env: { ...process.env, IDFLOW_DATA_DIR: '.data', IDFLOW_LOG: 'warn' },
  });
  const context = await browser.newContext({ javaScriptEnabled: testInfo.project.name === 'js-on' });
  const page = await context.newPage();
  await signIn(page, testInfo, userName, PASSWORD);
  return { page, id: user.id as string, userName };
}

test('an auditor sees only what the role allows, and a SCIM deactivation ends the session on the next click', async ({ browser, page, request }, testInfo) => {
  const token = await adminScimToken(page, testInfo);
  const auditor = await provisionAndSignIn(browser, request, token, testInfo, 'workflows_auditor');
  await expect(auditor.page.getByTestId('current-role')).toHaveText('Workflows Auditor');
  const nav = auditor.page.getByRole('navigation', { name: 'Console' });
  await expect(nav.getByRole('link')).toHaveText(['Flows', 'Tables', 'Executions', 'Directory', 'Assignments', 'Connections', 'System Log', 'Settings']);
  await nav.getByRole('link', { name: 'Settings' }).click();
  await expect(auditor.page.getByRole('heading', { level: 2, name: 'SCIM provisioning' })).toBeVisible();
  await expect(auditor.page.getByRole('button', { name: 'Create token' })).toHaveCount(0);

  await scim(request, token, 'PATCH', `/Users/${auditor.id}`, {
    schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
    Operations: [{ op: 'replace', value: { active: false } }],
  });
  await nav.getByRole('link', { name: 'Flows' }).click();
  await expect(auditor.page).toHaveURL(/\/sign-in/);
  await auditor.page.context().close();
});

test('a connection manager sees only Connections and is refused elsewhere', async ({ browser, page, request }, testInfo) => {
  const token = await adminScimToken(page, testInfo);
  const manager = await provisionAndSignIn(browser, request, token, testInfo, 'connection_manager');
  await expect(manager.page.getByTestId('current-role')).toHaveText('Connection Manager');
  const nav = manager.page.getByRole('navigation', { name: 'Console' });
  await expect(nav.getByRole('link')).toHaveText(['Connections']);
  const response = await manager.page.goto('/system-log');
  expect(response?.status()).toBe(403);
  await expect(manager.page.getByTestId('forbidden')).toContainText('Your role is Connection Manager.');
  await manager.page.context().close();
});

test('an unassigned user is told they have no access', async ({ browser, page, request }, testInfo) => {
  const token = await adminScimToken(page, testInfo);
  const nobody = await provisionAndSignIn(browser, request, token, testInfo);
  await expect(nobody.page.getByTestId('current-role')).toHaveText('Unassigned User');
  await expect(nobody.page.getByTestId('empty-state')).toContainText('Your account has no role in idflow yet');
  await expect(nobody.page.getByRole('navigation', { name: 'Console' }).getByRole('link')).toHaveCount(0);
  const response = await nobody.page.goto('/flows');
  expect(response?.status()).toBe(403);
  await expect(nobody.page.getByTestId('forbidden')).toBeVisible();
  await nobody.page.context().close();
});
