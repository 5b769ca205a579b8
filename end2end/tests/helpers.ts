import { APIRequestContext, expect, Page, test as base, TestInfo } from '@playwright/test';
import { ADMIN_EMAIL, ADMIN_PASSWORD } from '../playwright.config';

export { ADMIN_EMAIL, ADMIN_PASSWORD };

export const TABS = [
  { label: 'Flows', path: '/flows', heading: 'Flows' },
  { label: 'Tables', path: '/tables', heading: 'Tables' },
  { label: 'Executions', path: '/executions', heading: 'Executions' },
  { label: 'Directory', path: '/directory/users', heading: 'Directory' },
  { label: 'Assignments', path: '/assignments', heading: 'Assignments' },
  { label: 'Connections', path: '/connections', heading: 'Connections' },
  { label: 'System Log', path: '/system-log', heading: 'System Log' },
  { label: 'Settings', path: '/settings', heading: 'Settings' },
];

export function jsEnabled(testInfo: TestInfo): boolean {
  return testInfo.project.name === 'js-on';
}

/** With JavaScript on, waits until the WASM has hydrated the page; without, checks it did not. */
export async function expectHydration(page: Page, testInfo: TestInfo) {
  if (jsEnabled(testInfo)) {
    await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
  } else {
    await expect(page.locator('body')).not.toHaveAttribute('data-hydrated', 'true');
  }
}

export async function signIn(page: Page, testInfo: TestInfo, email = ADMIN_EMAIL, password = ADMIN_PASSWORD) {
  if (!page.url().includes('/sign-in')) {
    await page.goto('/sign-in');
  }
  await expectHydration(page, testInfo);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

export async function sessionCookie(page: Page) {
  const cookies = await page.context().cookies();
  return cookies.find((c) => c.name === 'idflow_session');
}

/**
 * Playwright's `test`, failing any test whose page panicked in the browser or reported a
 * hydration error: those leave a page that looks right but whose links and forms no
 * longer work.
 */
export const test = base.extend<{ browserErrors: void }>({
  browserErrors: [
    async ({ page }, use) => {
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
      page.on('console', (m) => {
        if (m.type() === 'error' && /hydration|panicked/i.test(m.text())) errors.push(m.text().slice(0, 500));
      });
      await use();
      expect(errors, 'errors in the browser').toEqual([]);
    },
    { auto: true },
  ],
});

/** Imports `flow` (a flow's JSON, or an export) with the Flows tab's import form, on the page shown. */
export async function importFlow(page: Page, flow: unknown) {
  const importer = page.locator('details.import');
  if ((await importer.getAttribute('open')) === null) {
    await importer.locator('summary').click();
  }
  await page.getByLabel("The flow's JSON, as exported").fill(JSON.stringify(flow));
  await page.getByRole('button', { name: 'Import', exact: true }).click();
}

/** A new SCIM token, made on the Settings page. */
export async function scimToken(page: Page, testInfo: TestInfo, purpose: string): Promise<string> {
  await page.goto('/settings');
  await page.getByLabel('New token name').fill(`${purpose} ${testInfo.project.name} ${Date.now()}`);
  await page.getByRole('button', { name: 'Create token' }).click();
  return page.getByLabel('New SCIM token').inputValue();
}

/** A SCIM request that must succeed; its JSON answer (null for 204). */
export async function scim(request: APIRequestContext, token: string, method: string, path: string, data?: unknown) {
  const response = await request.fetch(`/scim/v2${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/scim+json' },
    data: data === undefined ? undefined : JSON.stringify(data),
  });
  expect(response.ok(), `${method} ${path}: ${await response.text()}`).toBeTruthy();
  return response.status() === 204 ? null : response.json();
}

export { expect };
