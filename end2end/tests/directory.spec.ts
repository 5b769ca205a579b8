import { test, expect, expectHydration, importFlow, signIn, scim, scimToken } from './helpers';

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
  await expect(page.getByText('1 user · page 1 of 1')).toBeVisible();
  await expect(page.getByLabel('Search users')).toHaveAttribute('placeholder', 'Start of a name, userName or email');
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

test("a user's timeline shows what three flows did to them, by kind, linked to each execution", async ({ page, request }, testInfo) => {
  test.setTimeout(90_000);
  const tag = `${testInfo.project.name}-${Date.now()}`;
  const userName = `tim.${tag}@example.com`;
  await signIn(page, testInfo);
  const token = await scimToken(page, testInfo, 'timeline');
  const user = await scim(request, token, 'POST', '/Users', {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
    userName,
    name: { givenName: 'Tim', familyName: `Line ${tag}` },
    emails: [{ value: userName, type: 'work', primary: true }],
  });

  // Three flows, each run by hand, each changing the user's title.
  const steps = ['Welcome', 'Badge', 'Laptop'].map((step) => `${step} ${tag}`);
  await page.goto('/flows');
  await expectHydration(page, testInfo);
  for (const name of steps) {
    await importFlow(page, {
      name,
      trigger: { kind: 'trigger.manual' },
      cards: [
        {
          id: 1,
          kind: 'directory.update_profile',
          inputs: {
            user: { type: 'literal', value: user.id },
            attributes: { type: 'literal', value: { title: name } },
          },
        },
      ],
    });
    await expect(page.getByTestId('flash')).toContainText('The flow is imported');
    const row = page.locator(`tr[data-flow="${name}"]`);
    await row.getByRole('button', { name: `Turn on ${name}` }).click();
    await expect(page.getByTestId('flash')).toContainText('The flow is on');
    await row.getByText('Run', { exact: true }).click();
    await row.getByRole('button', { name: 'Run now' }).click();
    await expect(page).toHaveURL(/\/executions\/[0-9a-f-]+\?notice=flow-started/);
    await expect(async () => {
      await page.reload();
      await expect(page.getByTestId('execution')).toContainText('Succeeded', { timeout: 1000 });
    }).toPass({ timeout: 15_000 });
    await page.goto('/flows');
  }

  // The user's page: the three executions, the directory events they caused and the
  // System Log's entries, in one line.
  await page.goto(`/directory/users/${user.id}`);
  await expectHydration(page, testInfo);
  const timeline = page.getByTestId('user-timeline');
  for (const name of steps) {
    await expect(timeline.locator('tr[data-kind="execution"]').filter({ hasText: name })).toContainText('succeeded');
  }
  await expect(timeline.locator('tr[data-kind="event"]').filter({ hasText: `by Flow: ${steps[2]}` })).toContainText(`title: ${steps[1]} → ${steps[2]}`);
  await expect(timeline.locator('tr[data-kind="log"]').filter({ hasText: 'User changed by a flow' })).toHaveCount(3);
  await page.screenshot({ path: testInfo.outputPath('user-timeline.png'), fullPage: true });

  // Only the executions; then one opens its page.
  await page.getByLabel('Show', { exact: true }).selectOption({ label: 'Executions' });
  await page.getByRole('button', { name: 'Show', exact: true }).click();
  await expect(page).toHaveURL(/kind=execution/);
  await expect(timeline.locator('tbody tr')).toHaveCount(3);
  await expect(timeline.locator('tr[data-kind="event"]')).toHaveCount(0);
  await timeline.getByRole('link', { name: steps[0] }).click();
  await expect(page).toHaveURL(/\/executions\/[0-9a-f-]+$/);
  await expect(page.getByTestId('execution')).toContainText(steps[0]);
});

test('a group of 60 members shows them 50 to a page with the count', async ({ page, request }, testInfo) => {
  test.setTimeout(90_000);
  const tag = `${testInfo.project.name}-${Date.now()}`;
  await signIn(page, testInfo);
  const token = await scimToken(page, testInfo, 'members');
  const ids: string[] = [];
  for (let n = 0; n < 60; n += 10) {
    const made = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        scim(request, token, 'POST', '/Users', {
          schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
          userName: `member${String(n + i).padStart(2, '0')}.${tag}@example.com`,
        }),
      ),
    );
    ids.push(...made.map((u) => u.id));
  }
  const group = await scim(request, token, 'POST', '/Groups', {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'],
    displayName: `Crowd ${tag}`,
    members: ids.map((value) => ({ value })),
  });

  await page.goto('/directory/groups');
  await expect(page.locator(`tr[data-group="Crowd ${tag}"] td`).nth(1)).toHaveText('60');
  await page.goto(`/directory/groups/${group.id}`);
  await expectHydration(page, testInfo);
  await expect(page.locator('.page-header .subtitle')).toContainText('60 members');
  await expect(page.getByTestId('group-members').locator('li')).toHaveCount(50);
  await expect(page.getByTestId('members-range')).toHaveText('Page 1 of 2');
  await page.getByRole('link', { name: 'Next »' }).click();
  await expect(page.getByTestId('members-range')).toHaveText('Page 2 of 2');
  await expect(page.getByTestId('group-members').locator('li')).toHaveCount(10);
  await page.getByRole('link', { name: '« Previous' }).click();
  await expect(page.getByTestId('group-members').locator('li')).toHaveCount(50);
});
