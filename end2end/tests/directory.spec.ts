import { test, expect, signIn, scim, scimToken } from './helpers';

test('users and groups provisioned over SCIM show in the Directory with their events', async ({ page, request }, testInfo) => {
  const tag = `${testInfo.project.name}-${Date.now()}`;
  const userName = `grace.${tag}@example.com`;
  await signIn(page, testInfo);
  await expect(page.getByTestId('current-role')).toHaveText('Super Admin');
  const token = await scimToken(page, testInfo, 'directory');

  const user = await scim(request, token, 'POST', '/Users', {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
    userName,
    name: { givenName: 'Grace', familyName: `Hopper ${tag}` },
    emails: [{ value: userName, type: 'work', primary: true }],
    title: 'Rear Admiral',
  });
  await scim(request, token, 'POST', '/Groups', {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'],
    displayName: `Navy ${tag}`,
    members: [{ value: user.id }],
  });
  await scim(request, token, 'PATCH', `/Users/${user.id}`, {
    schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
    Operations: [{ op: 'replace', value: { active: false } }],
  });

  await page.goto('/directory/users');
  await page.getByLabel('Search users').fill(tag);
  await page.getByRole('button', { name: 'Search' }).click();
  const row = page.locator(`tr[data-user="${userName}"]`);
  await expect(row).toContainText('deprovisioned');
  await row.getByRole('link', { name: `Grace Hopper ${tag}` }).click();

  await expect(page.getByRole('heading', { level: 1, name: `Grace Hopper ${tag}` })).toBeVisible();
  await expect(page.getByTestId('user-status')).toHaveText('deprovisioned');
  await expect(page.getByTestId('user-role')).toHaveText('Unassigned User');
  await expect(page.getByTestId('user-groups')).toContainText(`Navy ${tag}`);
  const events = page.getByTestId('user-events');
  await expect(events.locator('tr[data-event="user.created"]')).toHaveCount(1);
  await expect(events.locator('tr[data-event="user.added_to_group"]')).toHaveCount(1);
  await expect(events.locator('tr[data-event="user.deactivated"]')).toContainText('status: active → deprovisioned');

  await page.getByTestId('user-groups').getByRole('link', { name: `Navy ${tag}` }).click();
  await expect(page.getByRole('heading', { level: 1, name: `Navy ${tag}` })).toBeVisible();
  await expect(page.getByTestId('group-members')).toContainText(userName);
});

test('an empty search says nothing matches', async ({ page }, testInfo) => {
  await signIn(page, testInfo);
  await expect(page.getByTestId('current-role')).toHaveText('Super Admin');
  await page.goto('/directory/users?q=nobody-by-this-name');
  await expect(page.getByTestId('empty-state')).toContainText('No users match');
});
