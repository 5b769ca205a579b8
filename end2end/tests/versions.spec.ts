import { test, expect, expectHydration, signIn, importFlow } from './helpers';

// A person imports a flow, edits its JSON into a second version, compares the two, and
// restores the first, which comes back as the newest version with its cards. Each project
// (JS on, JS off) makes its own flow.
test('save a new version, compare it, restore the older one', async ({ page }, testInfo) => {
  const name = `Leavers (${testInfo.project.name})`;
  const first = {
    name,
    trigger: { kind: 'directory.user_deactivated' },
    cards: [
      { id: 1, kind: 'directory.remove_from_all_groups', inputs: { user: { type: 'mapping', from: 'trigger', path: 'user.id' } } },
      { id: 2, kind: 'directory.clear_sessions', inputs: { user: { type: 'mapping', from: 'trigger', path: 'user.id' } } },
    ],
  };
  await signIn(page, testInfo);
  await page.goto('/flows');
  await expectHydration(page, testInfo);
  await importFlow(page, first);
  await expect(page.getByTestId('flash')).toContainText('The flow is imported');
  await page.locator(`tr[data-flow="${name}"]`).getByRole('link', { name: 'Versions' }).click();
  await expect(page.getByTestId('versions')).toContainText('Version 1 is current');

  // Edit the JSON: the second card goes, a Create Row card comes.
  const second = {
    ...first,
    cards: [
      first.cards[0],
      {
        id: 3,
        kind: 'tables.create_row',
        inputs: {
          table: { type: 'literal', value: 'offboarded' },
          row: { type: 'template', template: "{{ {'email': trigger.user.email} }}" },
        },
      },
    ],
  };
  await page.locator('details.import summary').click();
  await page.getByLabel("The flow's JSON").fill(JSON.stringify(second));
  await page.getByRole('button', { name: 'Save as new version' }).click();
  await expect(page.getByTestId('flash')).toContainText('Saved as a new version.');
  await expect(page.getByTestId('versions')).toContainText('Version 2 is current');

  // Compare: what changed, card by card.
  await page.getByRole('button', { name: 'Compare' }).click();
  const comparison = page.getByTestId('comparison');
  await expect(comparison).toContainText('What changed from version 1 to version 2');
  await expect(comparison).toContainText('Card 3 · Create Row');
  await expect(comparison).toContainText('added');
  await expect(comparison).toContainText('Card 2 · Clear User Sessions');
  await expect(comparison).toContainText('removed');

  // Restore version 1, after the confirmation: it is version 3, with its cards.
  const v1 = page.locator('tr[data-version="1"]');
  await v1.getByText('Restore', { exact: true }).click();
  await expect(v1).toContainText("Version 1's cards and settings become version 3");
  await v1.getByRole('button', { name: 'Yes, restore this version' }).click();
  await expect(page.getByTestId('flash')).toContainText('The older version is restored');
  await expect(page.getByTestId('versions')).toContainText('Version 3 is current');
  await page.locator('tr[data-version="3"]').getByRole('link', { name: 'View' }).click();
  await expect(page.getByTestId('shown-version')).toContainText('1 · Remove User from All Groups');
  await expect(page.getByTestId('shown-version')).toContainText('2 · Clear User Sessions');
  // Reload keeps it.
  await page.reload();
  await expect(page.getByTestId('versions')).toContainText('Version 3 is current');
});
