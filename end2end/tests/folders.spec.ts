import { test, expect, expectHydration, signIn, importFlow } from './helpers';

// A person makes a folder, moves a flow into it, filters the list by it, shares it with
// a user as Runner, and renames it. Each project (JS on, JS off) makes its own.
test('make a folder, move a flow into it, share and rename it', async ({ page }, testInfo) => {
  const folder = `People ${testInfo.project.name}`;
  const name = `Hire (${testInfo.project.name})`;
  await signIn(page, testInfo);
  await page.goto('/flows');
  await expectHydration(page, testInfo);
  await importFlow(page, { name, trigger: { kind: 'trigger.manual' }, cards: [] });
  await expect(page.getByTestId('flash')).toContainText('The flow is imported');

  await page.locator('details.folders summary').click();
  await page.getByLabel('New folder').fill(folder);
  await page.getByRole('button', { name: 'Create folder' }).click();
  await expect(page.getByTestId('flash')).toContainText('The folder is made.');
  await expect(page.getByRole('navigation', { name: 'Folders' })).toContainText(`${folder} (0)`);

  // Move the flow in from the full list.
  await page.goto('/flows');
  const row = page.locator(`tr[data-flow="${name}"]`);
  await row.getByLabel(`Folder for ${name}`).selectOption({ label: folder });
  await row.getByRole('button', { name: `Move ${name}` }).click();
  await expect(page.getByTestId('flash')).toContainText('The flow is moved.');
  await expect(page.getByTestId('flows').locator('tbody tr')).toHaveCount(1);
  await expect(page.locator(`tr[data-flow="${name}"]`)).toContainText(`Folder: ${folder}`);
  await expect(page.getByRole('navigation', { name: 'Folders' })).toContainText(`${folder} (1)`);

  // Share it with a group (made here, with no members), then rename it.
  const group = `Recruiters ${testInfo.project.name}`;
  await page.goto('/directory/groups');
  await page.locator('details.create summary').click();
  await page.getByLabel('Group name').fill(group);
  await page.getByRole('button', { name: 'Create group' }).click();
  await page.goto('/flows');
  await page.getByRole('navigation', { name: 'Folders' }).getByRole('link', { name: `${folder} (1)` }).click();
  const item = page.locator(`li[data-folder="${folder}"]`);
  await item.getByLabel(`Share ${folder} with a user or a group`).selectOption('group');
  await item.getByLabel(`Who to share ${folder} with`).fill(group);
  await item.getByLabel(`Access to ${folder}`).selectOption('runner');
  await item.getByRole('button', { name: `Share ${folder}` }).click();
  await expect(page.getByTestId('flash')).toContainText("The folder's sharing is changed.");
  const shared = page.locator(`li[data-folder="${folder}"]`);
  await expect(shared).toContainText(`group ${group} · Runner`);
  await shared.getByLabel('New name').fill(`${folder} team`);
  await shared.getByRole('button', { name: `Rename ${folder}` }).click();
  await expect(page.getByTestId('flash')).toContainText('The folder is renamed.');
  await expect(page.getByRole('navigation', { name: 'Folders' })).toContainText(`${folder} team (1)`);
});
