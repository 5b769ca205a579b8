import { Page, TestInfo } from '@playwright/test';
import { test, expect, expectHydration, jsEnabled, signIn, importFlow, scim, scimToken, drag, paletteCard } from './helpers';

// The builder: flows built by dragging cards from the palette onto drop zones and output
// fields onto inputs, with real mouse presses and moves (pointer events), as a person does.

/**
 * The `offboarded` table as the Offboarding template makes it (email, when, groups); the
 * template may have made it already (dry-run.spec.ts installs it).
 */
async function ensureOffboardedTable(page: Page) {
  await page.goto('/tables');
  if ((await page.getByRole('link', { name: 'offboarded', exact: true }).count()) > 0) return;
  const create = page.locator('details.create-table');
  if ((await create.getAttribute('open')) === null) {
    await create.locator('summary').click();
  }
  await page.getByLabel('Name', { exact: true }).fill('offboarded');
  await page.getByLabel('Column 1 name').fill('email');
  await page.getByLabel('Column 2 name').fill('when');
  await page.getByLabel('Column 2 type').selectOption('date_time');
  await page.getByLabel('Column 3 name').fill('groups');
  await page.getByLabel('Column 3 type').selectOption('number');
  await page.getByRole('button', { name: 'Create table' }).click();
  await expect(page.getByTestId('flash')).toContainText(/The table is created|already/);
}

async function openNewFlow(page: Page, testInfo: TestInfo, name: string) {
  await page.goto('/flows');
  await expectHydration(page, testInfo);
  await page.getByRole('link', { name: 'New flow' }).click();
  await expect(page).toHaveURL(/\/flows\/new$/);
  await expect(page.getByRole('region', { name: 'Trigger' })).toContainText('Drag a trigger here');
  await page.getByLabel('Flow name').fill(name);
  await page.getByLabel('Flow name').press('Tab');
}

test('build the offboarding flow by dragging, turn it on, and see it run on a deactivation', async ({ page, request }, testInfo) => {
  test.skip(!jsEnabled(testInfo), 'dragging needs JavaScript; the JS-off view is checked below');
  test.setTimeout(90_000);
  const tag = `${Date.now()}`;
  const name = `Offboarding log ${tag}`;
  const email = `leaver.${tag}@example.com`;
  await signIn(page, testInfo);
  await ensureOffboardedTable(page);
  await openNewFlow(page, testInfo, name);

  // The trigger, then three cards, each dropped on the zone after the last.
  const trigger = page.getByRole('region', { name: 'Trigger' });
  await drag(page, await paletteCard(page, 'User Deactivated'), trigger);
  await expect(trigger).toContainText('User Deactivated');
  await drag(page, await paletteCard(page, 'Remove User from All Groups'), page.locator('[data-drop="main:0"]'));
  await drag(page, await paletteCard(page, 'Clear User Sessions'), page.locator('[data-drop="main:1"]'));
  await drag(page, await paletteCard(page, 'Create Row'), page.locator('[data-drop="main:2"]'));
  await expect(page.locator('.main-row > .flow-card[data-card]')).toHaveText([/Remove User from All Groups/, /Clear User Sessions/, /Create Row/]);
  // Unmapped required inputs show as problems on their cards.
  await expect(page.locator('[data-card="1"] .badge.bad')).toContainText('1 problem');

  // The table by name; the card then takes the table's columns one by one.
  await page.getByLabel('Table on card 3', { exact: true }).fill('offboarded');
  await page.getByLabel('Table on card 3', { exact: true }).press('Tab');
  await expect(page.locator('[data-input="3:row.email"]')).toBeVisible();

  // Map by dragging the trigger's output fields onto the inputs.
  const out = (path: string) => trigger.locator(`.field-out[data-path="${path}"]`);
  await drag(page, out('user.id'), page.locator('[data-input="1:user"]'));
  await drag(page, out('user.id'), page.locator('[data-input="2:user"]'));
  await drag(page, out('user.email'), page.locator('[data-input="3:row.email"]'));
  await drag(page, out('occurred_at'), page.locator('[data-input="3:row.when"]'));
  await expect(page.locator('[data-input="3:row.email"] .chip')).toHaveText('User › Email');
  await expect(page.locator('[data-input="3:row.email"] .chip')).toHaveAttribute('title', 'User Deactivated › User › Email');
  await expect(page.locator('[data-input="3:row.when"] .chip')).toHaveText('Time');
  await expect(page.locator('.badge.bad')).toHaveCount(0);
  // Only this test's leaver (other specs deactivate users on the same server).
  await trigger.getByLabel('Trigger Only when (condition)').fill(`'${tag}' in trigger.user.email`);
  await trigger.getByLabel('Trigger Only when (condition)').press('Tab');

  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.locator('.builder-notice')).toContainText('Saved as version 1.');
  await expect(page).toHaveURL(/\/flows\/[0-9a-f-]+\/edit$/);
  await expect(page.locator('.builder-state')).toHaveText('Version 1 · Off');
  await page.locator('#builder-canvas').evaluate((canvas) => canvas.scrollTo(0, 0));
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: testInfo.outputPath('builder.png') });

  // Reload keeps everything.
  await page.reload();
  await expectHydration(page, testInfo);
  await expect(page.locator('.main-row > .flow-card[data-card]')).toHaveText([/Remove User from All Groups/, /Clear User Sessions/, /Create Row/]);
  await expect(page.locator('[data-input="3:row.email"] .chip')).toHaveText('User › Email');

  // Turn it on from the Flows tab.
  await page.getByRole('link', { name: '← All flows' }).click();
  const row = page.locator(`tr[data-flow="${name}"]`);
  await row.getByRole('button', { name: `Turn on ${name}` }).click();
  await expect(page.getByTestId('flash')).toContainText('The flow is on');

  // The leaver arrives and is deactivated over SCIM.
  const token = await scimToken(page, testInfo, 'builder');
  const user = await scim(request, token, 'POST', '/Users', {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
    userName: email,
    name: { givenName: 'Lee', familyName: `Ver ${tag}` },
    emails: [{ value: email, type: 'work', primary: true }],
  });
  await scim(request, token, 'PATCH', `/Users/${user.id}`, {
    schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
    Operations: [{ op: 'replace', value: { active: false } }],
  });

  // The execution, found by the leaver's email, with each card's inputs and outputs.
  await page.goto(`/executions?q=${encodeURIComponent(email)}`);
  await expect(async () => {
    await page.reload();
    await expect(page.locator('tr[data-status="succeeded"]')).toHaveCount(1, { timeout: 1000 });
  }).toPass({ timeout: 20_000 });
  await page.locator('tr[data-status="succeeded"] td.nowrap a').click();
  const execution = page.getByTestId('execution');
  await expect(execution).toContainText(name);
  await expect(execution.locator('.card-record[data-card="1"]')).toContainText('Remove User from All Groups');
  await expect(execution.locator('.card-record[data-card="1"]')).toContainText(user.id);
  await expect(execution.locator('.card-record[data-card="2"]')).toContainText('Clear User Sessions');
  const created = execution.locator('.card-record[data-card="3"]');
  await expect(created).toContainText('Inputs');
  await expect(created).toContainText('Outputs');
  await expect(created).toContainText(email);

  // And the row in the table.
  await page.goto('/tables');
  await page.getByRole('link', { name: 'offboarded', exact: true }).click();
  await page.getByLabel('Search rows').fill(email);
  await page.getByLabel('Search rows').press('Enter');
  await expect(page.getByTestId('grid').locator('tbody tr').filter({ hasText: email })).toHaveCount(1);

  // Off again, so later deactivations on this shared server run nothing of it.
  await page.goto('/flows');
  await page.locator(`tr[data-flow="${name}"]`).getByRole('button', { name: `Turn off ${name}` }).click();
  await expect(page.getByTestId('flash')).toContainText('The flow is off');
});

test('an If/Else with cards in both lanes, a field mapped by keyboard, undo, and a restored version', async ({ page }, testInfo) => {
  test.skip(!jsEnabled(testInfo), 'dragging needs JavaScript; the JS-off view is checked below');
  test.setTimeout(90_000);
  const name = `Lanes ${Date.now()}`;
  await signIn(page, testInfo);
  await openNewFlow(page, testInfo, name);
  const trigger = page.getByRole('region', { name: 'Trigger' });
  await drag(page, await paletteCard(page, 'User Suspended'), trigger);
  await drag(page, await paletteCard(page, 'If/Else'), page.locator('[data-drop="main:0"]'));
  const then = page.locator('[data-drop="lane-1-0:0"]');
  const otherwise = page.locator('[data-drop="lane-1-1:0"]');
  await expect(then).toHaveText('Drop a card here');
  await drag(page, await paletteCard(page, 'Clear User Sessions'), then);
  await drag(page, await paletteCard(page, 'Remove User from All Groups'), otherwise);
  await expect(page.locator('[data-lane="Then"] [data-card="2"]')).toContainText('Clear User Sessions');
  await expect(page.locator('[data-lane="Else"] [data-card="3"]')).toContainText('Remove User from All Groups');

  // The condition, and card 2's user mapped with the keyboard alone: Enter on "Map…",
  // type to filter, arrows, Enter.
  await page.getByLabel('Condition on card 1', { exact: true }).selectOption('true');
  await page.getByRole('button', { name: 'Map User ID on card 2' }).focus();
  await page.keyboard.press('Enter');
  const finder = page.getByRole('combobox', { name: 'Find a field for User ID' });
  await expect(finder).toBeFocused();
  await page.keyboard.type('id');
  await page.keyboard.press('ArrowDown');
  await expect(page.locator('[role="option"][aria-selected="true"]')).not.toHaveText('User Suspended › User › ID');
  await page.keyboard.press('ArrowUp');
  await expect(page.locator('[role="option"][aria-selected="true"]')).toHaveText('User Suspended › User › ID');
  await page.keyboard.press('Enter');
  await expect(page.locator('[data-input="2:user"] .chip')).toHaveAttribute('title', 'User Suspended › User › ID');
  // The focus is back where the keyboard user was.
  await expect(page.getByRole('button', { name: 'Map User ID on card 2' })).toBeFocused();
  // Card 3 by clicking in the picker.
  await page.getByRole('button', { name: 'Map User ID on card 3' }).click();
  await page.getByRole('option', { name: 'User Suspended › User › ID' }).click();
  await expect(page.locator('.badge.bad')).toHaveCount(0);

  // Undo takes the last mapping back, Redo brings it again.
  await page.getByRole('button', { name: 'Undo' }).click();
  await expect(page.locator('[data-input="3:user"] .chip')).toHaveCount(0);
  await page.getByRole('button', { name: 'Redo' }).click();
  await expect(page.locator('[data-input="3:user"] .chip')).toHaveText('User › ID');

  // Card 3's settings: on error, run an error lane, which takes cards by dragging too.
  await page.locator('[data-card="3"]').getByRole('button', { name: 'Settings', exact: true }).click();
  const settings = page.getByRole('complementary', { name: 'Card settings' });
  await expect(settings).toContainText('Card 3 · Remove User from All Groups');
  await settings.getByLabel('If this card fails').selectOption('lane');
  await expect(page.locator('[data-card="3"]')).toContainText('If this card fails');
  await drag(page, await paletteCard(page, 'Return'), page.locator('[data-drop="error-3:0"]'));
  await expect(page.locator('[data-card="3"] .error-lane [data-card="4"]')).toContainText('Return');
  await settings.getByLabel('Note').fill('Only people who really left.');
  await settings.getByLabel('Note').press('Tab');
  await expect(page.locator('[data-card="3"] .card-note')).toHaveText('Only people who really left.');
  await settings.getByRole('button', { name: 'Close settings' }).click();
  await expect(page.locator('.badge.bad')).toHaveCount(0);

  // Leaving with unsaved changes asks first; staying keeps them.
  page.once('dialog', (dialog) => dialog.dismiss());
  await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Flows', exact: true }).click();
  await expect(page).toHaveURL(/\/flows\/new$/);
  await expect(page.locator('.builder-state')).toHaveText('Unsaved changes');

  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.locator('.builder-notice')).toContainText('Saved as version 1.');
  await page.reload();
  await expectHydration(page, testInfo);
  await expect(page.locator('[data-lane="Else"] [data-card="3"]')).toContainText('Remove User from All Groups');

  // Drag card 3 from Else into Then, after card 2; save as version 2.
  await drag(page, page.locator('[data-card="3"] > .card-head'), page.locator('[data-drop="lane-1-0:1"]'));
  await expect(page.locator('[data-lane="Then"] > .row > [data-card]')).toHaveCount(2);
  await expect(page.locator('[data-lane="Else"] > .row > [data-card]')).toHaveCount(0);
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.locator('.builder-notice')).toContainText('Saved as version 2.');

  // Restoring version 1 brings card 3 back into Else.
  const builder = page.url();
  await page.getByRole('link', { name: 'Versions' }).click();
  const v1 = page.locator('tr[data-version="1"]');
  await v1.getByText('Restore', { exact: true }).click();
  await v1.getByRole('button', { name: 'Yes, restore this version' }).click();
  await expect(page.getByTestId('versions')).toContainText('Version 3 is current');
  await page.goto(builder);
  await expectHydration(page, testInfo);
  await expect(page.locator('.builder-state')).toHaveText('Version 3 · Off');
  await expect(page.locator('[data-lane="Else"] [data-card="3"]')).toContainText('Remove User from All Groups');
  await page.screenshot({ path: testInfo.outputPath('builder-lanes.png') });
});

test('the builder shows a flow without JavaScript and says what needs it', async ({ page }, testInfo) => {
  const name = `Shown (${testInfo.project.name}) ${Date.now()}`;
  const flow = {
    name,
    trigger: { kind: 'trigger.manual' },
    cards: [{ id: 1, kind: 'text.trim', inputs: { text: { type: 'literal', value: 'hello' } } }],
  };
  await signIn(page, testInfo);
  await page.goto('/flows');
  await expectHydration(page, testInfo);
  await importFlow(page, flow);
  await page.getByRole('link', { name: `Open ${name} in the builder` }).click();
  await expect(page.getByRole('region', { name: 'Trigger' })).toContainText('Manual');
  await expect(page.locator('[data-card="1"]')).toContainText('Trim');
  await expect(page.getByLabel('Text on card 1', { exact: true })).toHaveValue('hello');
  const notice = page.getByText('The builder needs JavaScript');
  if (jsEnabled(testInfo)) {
    await expect(notice).toBeHidden();
  } else {
    await expect(notice).toBeVisible();
  }
});

test('the flow settings are set in the builder and kept', async ({ page }, testInfo) => {
  test.skip(!jsEnabled(testInfo), 'the builder edits with JavaScript');
  const stamp = Date.now();
  const name = `Settings ${stamp}`;
  const onFailure = `On failure ${stamp}`;
  await signIn(page, testInfo);
  await page.goto('/flows');
  await expectHydration(page, testInfo);
  await importFlow(page, { name: onFailure, trigger: { kind: 'trigger.helper' }, cards: [] });
  await expect(page.getByTestId('flash')).toContainText('The flow is imported');

  await openNewFlow(page, testInfo, name);
  const trigger = page.getByRole('region', { name: 'Trigger' });
  await drag(page, await paletteCard(page, 'Manual'), trigger);
  await drag(page, await paletteCard(page, 'Wait'), page.locator('[data-drop="main:0"]'));
  await page.getByLabel('Seconds on card 1', { exact: true }).fill('3');
  await page.getByLabel('Seconds on card 1', { exact: true }).press('Tab');
  // A card after the Wait, so the execution has to wait (a Wait that ends a flow ends it).
  await drag(page, await paletteCard(page, 'Return'), page.locator('[data-drop="main:1"]'));
  await expect(page.locator('[data-card="2"]')).toContainText('Return');
  await trigger.locator('.card-head').click();
  const settings = page.getByRole('complementary', { name: 'Card settings' });
  const set = async (label: string, value: string) => {
    await settings.getByLabel(label).fill(value);
    await settings.getByLabel(label).press('Tab');
  };
  await set('Executions running at once, at most', '2');
  await set('Calls per minute, at most', '30');
  // A timeout that is no number of seconds is refused, saying why, and changes nothing.
  await set('Execution timeout (seconds)', '0');
  await expect(page.locator('.builder-notice.error')).toContainText('Execution timeout: "0" is not a whole number of at least 1');
  await set('Execution timeout (seconds)', '1');
  await settings.getByLabel('Error flow').selectOption({ label: onFailure });
  await settings.getByLabel('Save all data').uncheck();

  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.locator('.builder-notice')).toContainText('Saved as version 1.');
  await page.reload();
  await expectHydration(page, testInfo);
  await page.getByRole('region', { name: 'Trigger' }).locator('.card-head').click();
  await expect(settings.getByLabel('Executions running at once, at most')).toHaveValue('2');
  await expect(settings.getByLabel('Calls per minute, at most')).toHaveValue('30');
  await expect(settings.getByLabel('Execution timeout (seconds)')).toHaveValue('1');
  await expect(settings.getByLabel('Error flow').locator('option:checked')).toHaveText(onFailure);
  await expect(settings.getByLabel('Save all data')).not.toBeChecked();
  await page.screenshot({ path: testInfo.outputPath('builder-flow-settings.png') });

  // The timeout takes effect: the 3-second Wait outlives the 1-second limit.
  await page.goto('/flows');
  await page.locator(`tr[data-flow="${name}"]`).getByRole('link', { name: 'Test', exact: true }).click();
  await page.getByTestId('test-flow').getByRole('button', { name: 'Run test' }).click();
  await expect(page).toHaveURL(/\/executions\/[0-9a-f-]+\?notice=test-started/);
  await expect(async () => {
    await page.reload();
    await expect(page.getByTestId('execution')).toContainText('timed out: the flow allows 1 seconds per execution', { timeout: 1000 });
  }).toPass({ timeout: 20_000 });
});

test('a flow that starts itself again is warned on its card, at save and when turned on', async ({ page }, testInfo) => {
  const stamp = Date.now();
  const name = `Title sync (${testInfo.project.name}) ${stamp}`;
  // A condition no user meets, so this flow, once on, acts on nobody other specs make.
  const never = `'never-${stamp}' in trigger.user.email`;
  const warning = '"Update User Profile" makes the change this flow\'s trigger "User Profile Updated" listens for';
  await signIn(page, testInfo);
  if (jsEnabled(testInfo)) {
    // Built by dragging: the warning appears on the card as soon as the card is there.
    await openNewFlow(page, testInfo, name);
    const trigger = page.getByRole('region', { name: 'Trigger' });
    await drag(page, await paletteCard(page, 'User Profile Updated'), trigger);
    await trigger.getByLabel('Trigger Only when (condition)').fill(never);
    await trigger.getByLabel('Trigger Only when (condition)').press('Tab');
    await drag(page, await paletteCard(page, 'Update User Profile'), page.locator('[data-drop="main:0"]'));
    await expect(page.locator('[data-card="1"] .card-warning')).toContainText(warning);
    await drag(page, trigger.locator('.field-out[data-path="user.id"]'), page.locator('[data-input="1:user"]'));
    await page.getByLabel('Attributes on card 1', { exact: true }).fill('{"title": "Engineer"}');
    await page.getByLabel('Attributes on card 1', { exact: true }).press('Tab');
    // No problem is left, only the warning, which does not keep the flow off.
    await expect(page.locator('.badge.bad')).toHaveCount(0);
    await expect(page.locator('[data-card="1"] .badge.warn')).toHaveText('⚠ Loop');
    await page.getByRole('button', { name: 'Save' }).click();
    await expect(page.locator('.builder-notice')).toContainText('Saved as version 1.');
    await expect(page.locator('.builder-notice')).toContainText(`Watch out: ${warning}`);
    await page.screenshot({ path: testInfo.outputPath('builder-loop-warning.png') });
    await page.getByRole('link', { name: '← All flows' }).click();
  } else {
    // Without JavaScript: imported, and the builder's page shows the warning on the card.
    await page.goto('/flows');
    await importFlow(page, {
      name,
      trigger: { kind: 'directory.user_profile_updated', options: { filter: { type: 'literal', value: never } } },
      cards: [
        {
          id: 1,
          kind: 'directory.update_profile',
          inputs: {
            user: { type: 'mapping', from: 'trigger', path: 'user.id' },
            attributes: { type: 'literal', value: { title: 'Engineer' } },
          },
        },
      ],
    });
    await expect(page.getByTestId('flash')).toContainText('The flow is imported');
    await page.getByRole('link', { name: `Open ${name} in the builder` }).click();
    await expect(page.locator('[data-card="1"] .card-warning')).toContainText(warning);
    await page.goto('/flows');
  }

  // Turning it on works, and the notice says how it would start itself again.
  const row = page.locator(`tr[data-flow="${name}"]`);
  await row.getByRole('button', { name: `Turn on ${name}` }).click();
  await expect(page.getByTestId('flash')).toContainText('The flow is on');
  await expect(page.getByTestId('flash')).toContainText('Watch out, it can start itself again');
  await expect(page.getByTestId('flash')).toContainText(warning);
  await page.locator(`tr[data-flow="${name}"]`).getByRole('button', { name: `Turn off ${name}` }).click();
  await expect(page.getByTestId('flash')).toContainText('The flow is off');
});
