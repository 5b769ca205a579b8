import { test, expect, expectHydration, jsEnabled, signIn } from './helpers';

test('an admin makes a SCIM token, sees it once, and revokes it after confirming', async ({ page, request }, testInfo) => {
  const name = `Okta ${testInfo.project.name} ${Date.now()}`;
  await signIn(page, testInfo);
  await expect(page.getByTestId('current-role')).toHaveText('Super Admin');
  await page.goto('/settings');
  await expect(page.getByLabel('SCIM base URL')).toHaveValue(/\/scim\/v2$/);

  await page.getByLabel('New token name').fill(name);
  await page.getByRole('button', { name: 'Create token' }).click();
  const shown = page.getByTestId('new-scim-token');
  await expect(shown).toContainText(`Token "${name}" created.`);
  const secret = await page.getByLabel('New SCIM token').inputValue();
  expect(secret).toMatch(/^idf_scim_[A-Za-z0-9]{40}$/);

  // The token works for SCIM…
  const ok = await request.get('/scim/v2/Users', { headers: { Authorization: `Bearer ${secret}` } });
  expect(ok.status()).toBe(200);

  // …and is never shown again.
  await page.reload();
  await expect(page.getByTestId('new-scim-token')).toHaveCount(0);
  const row = page.locator(`tr[data-token="${name}"]`);
  await expect(row).toContainText('active');

  // Revoking asks first.
  await row.getByText('Revoke…').click();
  await expect(row.getByText('Every identity provider that uses it gets 401')).toBeVisible();
  await row.getByRole('button', { name: 'Revoke token' }).click();
  await expect(page.getByRole('status')).toHaveText('The token is revoked. Requests that use it now get 401.');
  await expect(page.locator(`tr[data-token="${name}"]`)).toContainText('revoked');
  const refused = await request.get('/scim/v2/Users', { headers: { Authorization: `Bearer ${secret}` } });
  expect(refused.status()).toBe(401);
});

test('the SCIM self-check runs every check an identity provider relies on and all pass', async ({ page }, testInfo) => {
  await signIn(page, testInfo);
  await page.goto('/settings');
  const panel = page.locator('#scim-self-check');
  await expect(panel.getByRole('heading', { name: 'SCIM self-check' })).toBeVisible();
  await panel.getByRole('button', { name: 'Run the SCIM self-check' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'The SCIM self-check passed' })).toBeVisible();
  await expect(panel.getByTestId('self-check-summary')).toContainText('16 of 16 checks passed');
  const rows = panel.getByTestId('self-check').locator('tbody tr');
  await expect(rows).toHaveCount(16);
  await expect(panel.locator('tr[data-passed="false"]')).toHaveCount(0);
  for (const check of ['Discovery: ServiceProviderConfig', 'Filter users by userName', 'PATCH remove an attribute', 'Give a role (idflow extension)', 'Add the user to the group', 'Deactivate the user', 'Delete the user']) {
    await expect(panel.locator(`tr[data-check="${check}"]`)).toContainText('passed');
  }
  // Its token is not left among the SCIM tokens, and its user is gone.
  await expect(page.locator('tr[data-token^="SCIM self-check"]')).toHaveCount(0);
  await page.goto('/directory/users?q=scim-self-check');
  await expect(page.getByText('@idflow.invalid')).toHaveCount(0);
  await page.goto('/settings#scim-self-check');
  await page.locator('#scim-self-check').screenshot({ path: testInfo.outputPath('scim-self-check.png') });
});

test('a button that starts slow work is disabled and says what runs until the answer comes', async ({ page }, testInfo) => {
  test.skip(!jsEnabled(testInfo), 'without JavaScript the browser shows its own progress');
  await signIn(page, testInfo);
  await page.goto('/settings');
  await expectHydration(page, testInfo);
  // What the form looks like once submitted, and whether a second press is sent, noted
  // by a listener that runs after the console's (kept across the page's navigation).
  await page.evaluate(() => {
    window.addEventListener('submit', (event) => {
      const form = event.target as HTMLFormElement;
      if (sessionStorage.getItem('busy-form') === null) {
        sessionStorage.setItem('busy-form', form.outerHTML);
        const again = (e: Event) => sessionStorage.setItem('second-press-sent', String(!e.defaultPrevented));
        window.addEventListener('submit', again, { once: true });
        // A second press, once this one's event is over (not during it).
        setTimeout(() => form.requestSubmit(), 0);
      }
    });
  });
  const posts: string[] = [];
  page.on('request', (r) => {
    if (r.method() === 'POST' && r.url().endsWith('/settings/scim-self-check')) posts.push(r.url());
  });
  await page.locator('#scim-self-check').getByRole('button', { name: 'Run the SCIM self-check' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'The SCIM self-check passed' })).toBeVisible({ timeout: 15_000 });
  const busy = await page.evaluate(() => sessionStorage.getItem('busy-form'));
  expect(busy).toContain('aria-busy="true"');
  expect(busy).toMatch(/<button[^>]*aria-disabled="true"[^>]*>Run the SCIM self-check<\/button>/);
  expect(busy).toContain('<p class="busy-status" role="status">Running the checks against /scim/v2…</p>');
  expect(await page.evaluate(() => sessionStorage.getItem('second-press-sent'))).toBe('false');
  expect(posts).toHaveLength(1);
  // The answer's page starts afresh: the button works again.
  await expect(page.locator('#scim-self-check').getByRole('button', { name: 'Run the SCIM self-check' })).toBeEnabled();
});
