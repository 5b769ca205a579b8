import { test, expect, expectHydration, jsEnabled, signIn } from './helpers';

// A person creates a table with typed columns and a key, adds a row, edits it in place,
// imports a CSV file of 100 rows of which 3 do not fit and reads the report of those 3,
// searches and sorts the grid, and deletes a row after the confirmation. Each project
// (JS on, JS off) makes its own table.
test('create a table, fill it, import a CSV with a report, search, sort and delete', async ({ page }, testInfo) => {
  const name = `leavers ${testInfo.project.name}`;
  await signIn(page, testInfo);
  await page.goto('/tables');
  await expectHydration(page, testInfo);

  // The create form is open while there are no tables; otherwise it opens on a click.
  const create = page.locator('details.create-table');
  if ((await create.getAttribute('open')) === null) {
    await create.locator('summary').click();
  }
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByLabel('Column 1 name').fill('email');
  await page.getByLabel('Column 2 name').fill('left');
  await page.getByLabel('Column 2 type').selectOption('date_time');
  await page.getByLabel('Column 3 name').fill('laptops');
  await page.getByLabel('Column 3 type').selectOption('number');
  await page.getByLabel('Column 4 name').fill('rehire');
  await page.getByLabel('Column 4 type').selectOption('boolean');
  await page.getByLabel('Key column (optional)').fill('email');
  await page.getByRole('button', { name: 'Create table' }).click();
  await expect(page.getByTestId('flash')).toContainText('The table is created.');
  await expect(page.locator('.table-detail h2')).toHaveText(name);
  await expect(page.getByTestId('grid')).toContainText('This table has no rows yet.');

  // Add a row from the grid's last line; a value that does not fit is refused by name.
  const addRow = page.locator('tr.add-row');
  await addRow.getByLabel('email').fill('ada@example.com');
  await addRow.getByLabel('laptops').fill('two');
  await page.getByRole('button', { name: 'Add row' }).click();
  await expect(page.getByTestId('flash')).toContainText('laptops: "two" is not a number');
  await page.locator('tr.add-row').getByLabel('email').fill('ada@example.com');
  await page.locator('tr.add-row').getByLabel('left').fill('2026-11-30');
  await page.locator('tr.add-row').getByLabel('laptops').fill('2');
  await page.locator('tr.add-row').getByLabel('rehire').selectOption('true');
  await page.getByRole('button', { name: 'Add row' }).click();
  await expect(page.getByTestId('flash')).toContainText('The row is added.');
  const ada = page.getByTestId('grid').locator('tbody tr').filter({ hasText: 'ada@example.com' });
  await expect(ada).toContainText('2026-11-30T00:00:00Z');

  // Edit it in place.
  await ada.getByRole('link', { name: 'Edit row ada@example.com' }).click();
  const editing = page.locator('tr.editing');
  await expect(editing.getByLabel('laptops')).toHaveValue('2');
  await editing.getByLabel('laptops').fill('3');
  await editing.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByTestId('flash')).toContainText('The row is saved.');
  await expect(ada).toContainText('3');

  // Import 100 rows, 3 of which do not fit: 97 land and the 3 are listed with reasons.
  const lines = ['email,laptops,rehire'];
  for (let i = 0; i < 100; i++) {
    if (i === 10) lines.push('user10@example.com,ten,yes');
    else if (i === 50) lines.push('user50@example.com,1,perhaps');
    else if (i === 90) lines.push('ada@example.com,1,no');
    else lines.push(`user${i}@example.com,${i % 3},no`);
  }
  await page.locator('details.import summary').click();
  await page.getByLabel('CSV file').setInputFiles({
    name: 'leavers.csv',
    mimeType: 'text/csv',
    buffer: Buffer.from(lines.join('\n') + '\n'),
  });
  // With JavaScript the page sends the file itself and shows the upload's progress, then
  // goes to the report with no second click. What the form showed on the way is kept in
  // sessionStorage, which outlives the page the upload started from.
  const uploading = jsEnabled(testInfo);
  const sent = page.waitForRequest((r) => r.method() === 'POST' && r.url().endsWith('/import'));
  if (uploading) {
    await page.evaluate(() => {
      const form = document.querySelector('details.import form')!;
      new MutationObserver(() => {
        const seen: string[] = JSON.parse(sessionStorage.getItem('upload-seen') ?? '[]');
        const status = form.querySelector('[role=status]')?.textContent ?? '';
        const bar = form.querySelector('progress')?.getAttribute('value') ?? '';
        seen.push(`${status}|${bar}`);
        sessionStorage.setItem('upload-seen', JSON.stringify(seen));
      }).observe(form, { subtree: true, childList: true, attributes: true, characterData: true });
    });
  }
  await page.getByRole('button', { name: 'Import', exact: true }).click();
  expect((await sent).resourceType()).toBe(uploading ? 'xhr' : 'document');
  const report = page.getByTestId('import-report');
  await expect(report).toContainText('97 rows imported, 3 rejected');
  if (uploading) {
    const seen: string[] = JSON.parse((await page.evaluate(() => sessionStorage.getItem('upload-seen'))) ?? '[]');
    expect(seen).toContain('Uploaded (100%); importing the rows…|100');
    expect(seen.some((s) => s.startsWith('Uploading the file…'))).toBe(true);
  }
  const rejects = page.getByTestId('rejects').locator('tbody tr');
  await expect(rejects).toHaveCount(3);
  await expect(rejects.nth(0)).toContainText('12');
  await expect(rejects.nth(0)).toContainText('laptops: "ten" is not a number');
  await expect(rejects.nth(1)).toContainText('rehire: "perhaps" is not true or false');
  await expect(rejects.nth(2)).toContainText('the key "ada@example.com" is already in the table');
  await expect(page.locator('.table-detail .subtitle')).toContainText('98 rows');
  await expect(page.getByTestId('row-range')).toHaveText('Rows 1–50 of 98');
  await page.screenshot({ path: testInfo.outputPath('table.png') });

  // Search, then sort by a column (descending on the second click).
  await page.getByLabel('Search rows').fill('USER7');
  await page.getByRole('button', { name: 'Search' }).click();
  await expect(page.getByTestId('row-range')).toHaveText('Rows 1–11 of 11');
  await page.getByRole('link', { name: 'Sort by email' }).click();
  await page.getByRole('link', { name: 'Sort by email' }).click();
  await expect(page).toHaveURL(/desc=true/);
  // Descending as text: "user7@…" sorts after "user79@…" ('@' after '9').
  await expect(page.getByTestId('grid').locator('tbody tr').first()).toContainText('user7@example.com');
  await expect(page.getByTestId('grid').locator('tbody tr').nth(1)).toContainText('user79@example.com');

  // Delete a row, after the confirmation.
  const row79 = page.getByTestId('grid').locator('tbody tr').filter({ hasText: 'user79@example.com' });
  await row79.getByText('Delete', { exact: true }).click();
  await expect(row79).toContainText('The row "user79@example.com" will be deleted.');
  await row79.getByRole('button', { name: 'Yes, delete the row' }).click();
  await expect(page.getByTestId('flash')).toContainText('The row is deleted.');
  await expect(page.getByTestId('row-range')).toHaveText('Rows 1–10 of 10');

  // The list shows the table with its columns and rows.
  await page.goto('/tables');
  const listed = page.locator(`tr[data-table="${name}"]`);
  await expect(listed).toContainText('email (Text, key)');
  await expect(listed).toContainText('97');
  await expect(listed).toContainText('No flow');
});
