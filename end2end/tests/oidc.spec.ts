import { Page } from '@playwright/test';
import { IDP_NAME, IDP_PORT } from '../playwright.config';
import { test, expect, jsEnabled, signIn, sessionCookie } from './helpers';

const IDP = `http://127.0.0.1:${IDP_PORT}`;

/** At the test identity provider: its development login page takes any login. */
async function logInAtIdp(page: Page, login: string) {
  await expect(page).toHaveURL(new RegExp(`^${IDP}/`));
  await page.locator('input[name="login"]').fill(login);
  await page.locator('input[name="password"]').fill('any password');
  await page.getByRole('button', { name: 'Sign-in' }).click();
  // First time for this client: the provider asks for consent.
  await page.getByRole('button', { name: 'Continue' }).click();
}

test('a person signs in with the identity provider: no access until an admin assigns a role', async ({ browser, page }, testInfo) => {
  test.slow();
  // The provider's pages load a web font; this machine has no internet, so skip it.
  await page.context().route(/fonts\.googleapis\.com/, (route) => route.abort());
  const login = `sso.${testInfo.project.name}.${Date.now()}@example.com`;

  // The sign-in page offers the provider, and keeps the local form.
  await page.goto('/sign-in');
  await expect(page.getByLabel('Password')).toBeVisible();
  const before = await sessionCookie(page);
  await page.getByRole('link', { name: `Sign in with ${IDP_NAME}` }).click();
  await logInAtIdp(page, login);

  // Back in idflow, signed in under a new session id, with no role yet.
  await expect(page).toHaveURL(/127\.0\.0\.1:\d+\/$/);
  await expect(page.getByText('Your account has no role in idflow yet')).toBeVisible();
  await expect(page.getByTestId('current-role')).toHaveText('Unassigned User');
  const after = await sessionCookie(page);
  expect(after?.value).toBeTruthy();
  expect(after?.value).not.toEqual(before?.value);

  // An admin finds the new user in Assignments and makes them a Workflows Auditor.
  const adminContext = await browser.newContext({ javaScriptEnabled: jsEnabled(testInfo) });
  const admin = await adminContext.newPage();
  await signIn(admin, testInfo);
  await admin.goto('/system-log');
  await expect(admin.getByText('User created at first single sign-on').first()).toBeVisible();
  await admin.goto('/assignments');
  await admin.getByLabel('User name').fill(login);
  await admin.locator('#assign-role').selectOption({ label: 'Workflows Auditor' });
  await admin.getByRole('button', { name: 'Assign', exact: true }).click();
  await expect(admin.getByTestId('flash')).toContainText('The user is assigned');
  await adminContext.close();

  // The role change ended the session: the next click goes to sign-in; signing in with
  // the provider again (its own session remembers the person) opens the console.
  await page.reload();
  await expect(page).toHaveURL(/\/sign-in/);
  await page.getByRole('link', { name: `Sign in with ${IDP_NAME}` }).click();
  await expect(page.getByTestId('current-role')).toHaveText('Workflows Auditor');
  const nav = page.getByRole('navigation', { name: 'Console' });
  await expect(nav.getByRole('link', { name: 'System Log' })).toBeVisible();
  await nav.getByRole('link', { name: 'System Log' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'System Log' })).toBeVisible();

  // Signing out also signs out at the provider, which sends the browser back here.
  const signedIn = await sessionCookie(page);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(new RegExp(`^${IDP}/session/end`));
  await page.getByRole('button', { name: 'Yes, sign me out' }).click();
  await expect(page).toHaveURL(/\/sign-in\?notice=signed-out/);
  await expect(page.getByText('You are signed out.')).toBeVisible();

  // The old session cookie gets the sign-in page.
  const stale = await browser.newContext({ javaScriptEnabled: jsEnabled(testInfo) });
  await stale.addCookies([{ ...signedIn!, expires: -1 }]);
  const stalePage = await stale.newPage();
  await stalePage.goto('/system-log');
  await expect(stalePage).toHaveURL(/\/sign-in/);
  await stale.close();
});

test('a sign-in that does not come back from the provider as started is refused with a reason', async ({ page }) => {
  await page.goto('/auth/oidc/callback?code=forged&state=forged');
  await expect(page).toHaveURL(/\/sign-in\?error=sso-state/);
  await expect(page.getByTestId('sign-in-error')).toContainText('does not match one started in this browser');
  await page.goto('/auth/oidc/start?next=https%3A%2F%2Fevil.example%2F');
  await expect(page).toHaveURL(/\/sign-in\?error=sso-next/);
  await expect(page.getByTestId('sign-in-error')).toContainText('another site');
  expect(await sessionCookie(page)).toBeUndefined();
});
