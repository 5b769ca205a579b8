import AxeBuilder from '@axe-core/playwright';
import { Page } from '@playwright/test';
import { test, expect, expectHydration, jsEnabled, signIn, TABS } from './helpers';

// The console's appearance: no serious or critical accessibility violation (axe-core,
// contrast included) on any tab in the light and the dark theme; usable at 768 px wide;
// the theme follows the system until a person chooses one with the switch in the top bar.

const PAGES = ['/', ...TABS.map((t) => t.path), '/directory/groups', '/flows/new', '/api-reference'];

async function seriousViolations(page: Page, where: string): Promise<string[]> {
  const results = await new AxeBuilder({ page }).analyze();
  return results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${where}: ${v.id} (${v.impact}) at ${v.nodes.slice(0, 4).map((n) => n.target.join(' ')).join(', ')}: ${v.nodes[0]?.failureSummary ?? ''}`);
}

for (const scheme of ['light', 'dark'] as const) {
  test(`no tab has a serious or critical accessibility violation in the ${scheme} theme`, async ({ page }, testInfo) => {
    test.skip(!jsEnabled(testInfo), 'axe-core runs as a script in the page');
    test.setTimeout(120_000);
    await page.emulateMedia({ colorScheme: scheme });
    await page.goto('/sign-in');
    await expectHydration(page, testInfo);
    const found = await seriousViolations(page, '/sign-in');
    await signIn(page, testInfo);
    await expect(page.getByTestId('current-role')).toBeVisible();
    for (const path of PAGES) {
      await page.goto(path);
      await expectHydration(page, testInfo);
      await expect(page.locator('.loading')).toHaveCount(0);
      found.push(...(await seriousViolations(page, path)));
    }
    expect(found).toEqual([]);
  });
}

test('the console at 768 px, in the dark theme chosen with the switch and back to the system', async ({ page }, testInfo) => {
  await page.setViewportSize({ width: 768, height: 1000 });
  await page.emulateMedia({ colorScheme: 'light' });
  await signIn(page, testInfo);
  await page.goto('/flows');
  await expectHydration(page, testInfo);
  // The navigation is a row above the page, and nothing is wider than the screen (wide
  // tables scroll inside the page).
  const nav = page.getByRole('navigation', { name: 'Console' });
  const main = page.locator('#main');
  expect((await nav.boundingBox())!.y + 10).toBeLessThan((await main.boundingBox())!.y);
  for (const path of ['/flows', '/executions', '/directory/users', '/system-log', '/settings']) {
    await page.goto(path);
    expect(await page.evaluate(() => document.documentElement.scrollWidth), path).toBeLessThanOrEqual(768);
  }
  await page.goto('/flows');
  await page.screenshot({ path: testInfo.outputPath('flows-768-light.png'), fullPage: true });
  const background = () => page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
  expect(await background()).toBe('rgb(246, 247, 249)');

  // Dark, chosen in the top bar: kept from page to page.
  await page.getByRole('group', { name: 'Theme' }).getByRole('button', { name: 'Dark' }).click();
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark');
  await expect(page).toHaveURL(/\/flows$/);
  expect(await background()).toBe('rgb(15, 20, 28)');
  await expect(page.getByRole('button', { name: 'Dark' })).toHaveAttribute('aria-pressed', 'true');
  await page.screenshot({ path: testInfo.outputPath('flows-768-dark.png'), fullPage: true });
  for (const path of ['/executions', '/directory/users', '/flows/new']) {
    await page.goto(path);
    await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark');
    await page.screenshot({ path: testInfo.outputPath(`${path.replace(/\//g, '-').slice(1)}-768-dark.png`), fullPage: true });
  }
  // The builder pans: its canvas scrolls inside the page.
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(768);

  // The system's theme again: dark when the system is dark.
  await page.goto('/settings');
  await page.getByRole('group', { name: 'Theme' }).getByRole('button', { name: 'System' }).click();
  await expect(page).toHaveURL(/\/settings$/);
  await expect(page.locator('html')).not.toHaveAttribute('data-theme', /.+/);
  expect(await background()).toBe('rgb(246, 247, 249)');
  await page.emulateMedia({ colorScheme: 'dark' });
  expect(await background()).toBe('rgb(15, 20, 28)');
});
