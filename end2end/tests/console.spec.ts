import { test, expect, ADMIN_EMAIL, TABS, allowBrowserErrors, expectHydration, sessionCookie, signIn } from './helpers';

test('a wrong password shows an error and starts no session', async ({ page }, testInfo) => {
  await signIn(page, testInfo, ADMIN_EMAIL, 'not the password');
  await expect(page).toHaveURL(/\/sign-in\?error=invalid/);
  await expect(page.getByTestId('sign-in-error')).toHaveText('The email or password is not right.');
  // The typed email is kept, the password is not.
  await expect(page.getByLabel('Email')).toHaveValue(ADMIN_EMAIL);
  await expect(page.getByLabel('Password')).toHaveValue('');
  expect(await sessionCookie(page)).toBeUndefined();

  const response = await page.goto('/flows');
  expect(response?.status()).toBe(200);
  await expect(page).toHaveURL(/\/sign-in\?next=%2Fflows$/);
});

test('the right password opens the console with the role shown', async ({ page }, testInfo) => {
  await signIn(page, testInfo);
  await expect(page).toHaveURL(/\/$/);
  await expectHydration(page, testInfo);
  await expect(page.getByTestId('current-user')).toContainText(ADMIN_EMAIL);
  await expect(page.getByTestId('current-role')).toHaveText('Super Admin');
  await expect(page.getByRole('heading', { name: 'Welcome to idflow' })).toBeVisible();
  const cookie = await sessionCookie(page);
  expect(cookie?.httpOnly).toBe(true);
  expect(cookie?.sameSite).toBe('Lax');
});

test('every tab loads from the navigation and from a deep link', async ({ page }, testInfo) => {
  await signIn(page, testInfo);
  await expect(page.getByTestId('current-role')).toHaveText('Super Admin');
  const nav = page.getByRole('navigation', { name: 'Console' });
  for (const tab of TABS) {
    await nav.getByRole('link', { name: tab.label, exact: true }).click();
    await expect(page).toHaveURL(new RegExp(`${tab.path}$`));
    await expect(page.getByRole('heading', { level: 1, name: tab.heading })).toBeVisible();
    await expect(page.getByRole('link', { name: tab.label, exact: true })).toHaveAttribute('aria-current', 'page');
  }
  for (const tab of TABS) {
    const response = await page.goto(tab.path);
    expect(response?.status(), tab.path).toBe(200);
    await expectHydration(page, testInfo);
    await expect(page.getByRole('heading', { level: 1, name: tab.heading })).toBeVisible();
    await expect(page).toHaveTitle(`${tab.heading} · idflow`);
  }
  // Connections offers to make one of each kind.
  await page.goto('/connections');
  await expect(page.getByText('New HTTP connection')).toBeVisible();
  await expect(page.getByText('New Slack connection')).toBeVisible();
  await expect(page.getByText('New Email (SMTP) connection')).toBeVisible();
});

test('the System Log records the sign-in', async ({ page }, testInfo) => {
  await signIn(page, testInfo);
  await expect(page.getByTestId('current-role')).toHaveText('Super Admin');
  await page.goto('/system-log');
  const log = page.getByTestId('system-log');
  await expect(log.locator('tr[data-action="user.session.start"][data-outcome="success"]').first()).toContainText(ADMIN_EMAIL);
  // (The bootstrap entry is checked by the store tests: here other specs running at the
  // same time may have pushed it off the page of recent entries.)
});

test('signing out ends the session and protected pages send you to sign-in', async ({ page }, testInfo) => {
  await signIn(page, testInfo);
  await expect(page.getByTestId('current-role')).toHaveText('Super Admin');
  const before = await sessionCookie(page);
  expect(before).toBeDefined();

  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/sign-in\?notice=signed-out/);
  await expect(page.getByRole('status')).toHaveText('You are signed out.');

  for (const tab of TABS) {
    await page.goto(tab.path);
    await expect(page, tab.path).toHaveURL(new RegExp(`/sign-in\\?next=${encodeURIComponent(tab.path)}$`));
  }

  // The old cookie is dead even if someone kept it.
  await page.context().addCookies([{ ...before! }]);
  await page.goto('/settings');
  await expect(page).toHaveURL(/\/sign-in\?next=%2Fsettings$/);
});

test('after signing in you land on the page you asked for', async ({ page }, testInfo) => {
  await page.goto('/executions');
  await expect(page).toHaveURL(/\/sign-in\?next=%2Fexecutions$/);
  await signIn(page, testInfo);
  await expect(page).toHaveURL(/\/executions$/);
  await expect(page.getByRole('heading', { level: 1, name: 'Executions' })).toBeVisible();
});

test('an unknown path answers 404 with a page that says so', async ({ page }, testInfo) => {
  // The browser reports the 404 it was sent; that is this test's point.
  allowBrowserErrors(testInfo, /status of 404/);
  const response = await page.goto('/no/such/page');
  expect(response?.status()).toBe(404);
  await expectHydration(page, testInfo);
  await expect(page.getByRole('heading', { name: 'Page not found' })).toBeVisible();
  await expect(page.getByRole('link', { name: 'Go to the console' })).toBeVisible();
});
