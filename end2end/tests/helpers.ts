import { APIRequestContext, expect, Locator, Page, test as base, TestInfo } from '@playwright/test';
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
 * Playwright's `test`, failing any test in whose browser a page logged an error to the
 * console or threw one (a panic while hydrating, a failed request, a script error): those
 * leave a page that may look right but whose links and forms no longer work. Errors are
 * collected from every page the test opens. A test that provokes an error on purpose (a
 * 403 page, say) names it with `allowBrowserErrors`; anything else fails the test.
 */
export const test = base.extend<{ browserErrors: void }>({
  browserErrors: [
    async ({ context }, use, testInfo) => {
      const errors: string[] = [];
      // idflow's own pages: what another site shows on the way (the test identity
      // provider's pages) is not ours to judge.
      const ours = (page: Page) => {
        try {
          return new URL(page.url()).origin === new URL(String(testInfo.project.use.baseURL)).origin;
        } catch {
          return false;
        }
      };
      const watch = (page: Page) => {
        const where = () => {
          try {
            return new URL(page.url()).pathname;
          } catch {
            return page.url();
          }
        };
        page.on('pageerror', (e) => {
          if (ours(page)) errors.push(`${where()}: page error: ${e.message}`.slice(0, 800));
        });
        page.on('console', (m) => {
          if (m.type() === 'error' && ours(page)) errors.push(`${where()}: console error: ${m.text()}`.slice(0, 800));
        });
      };
      context.pages().forEach(watch);
      context.on('page', watch);
      await use();
      const allowed = allowedErrors.get(testInfo.testId) ?? [];
      allowedErrors.delete(testInfo.testId);
      const unexpected = errors.filter((e) => !allowed.some((pattern) => pattern.test(e)));
      expect(unexpected, 'errors in the browser').toEqual([]);
    },
    { auto: true },
  ],
});

const allowedErrors = new Map<string, RegExp[]>();

/**
 * Lets the running test's pages log errors matching `patterns` (and only those): for a
 * test that opens a page the server refuses on purpose, whose load the browser reports.
 */
export function allowBrowserErrors(testInfo: TestInfo, ...patterns: RegExp[]) {
  allowedErrors.set(testInfo.testId, [...(allowedErrors.get(testInfo.testId) ?? []), ...patterns]);
}

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

/**
 * Drags `source` onto `target` the way a person does: press, move a little (the drag
 * starts), move onto the target, let go. The target is measured again once the drag has
 * started, since the canvas may scroll to show it.
 */
export async function drag(page: Page, source: Locator, target: Locator) {
  await source.scrollIntoViewIfNeeded();
  const from = await source.boundingBox();
  if (!from) throw new Error('the dragged element is not on the page');
  const start = { x: from.x + from.width / 2, y: from.y + from.height / 2 };
  await page.mouse.move(start.x, start.y);
  await page.mouse.down();
  await page.mouse.move(start.x + 12, start.y + 8, { steps: 3 });
  await expect(page.locator('.drag-ghost')).toBeVisible();
  await target.evaluate((e) => e.scrollIntoView({ block: 'center', inline: 'center' }));
  let box = await target.boundingBox();
  for (let i = 0; i < 3 && box; i++) {
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2, { steps: 6 });
    const now = await target.boundingBox();
    if (now && Math.abs(now.x - box.x) < 1 && Math.abs(now.y - box.y) < 1) break;
    box = now;
  }
  await page.mouse.up();
  await expect(page.locator('.drag-ghost')).toHaveCount(0);
}

/** The palette's card named `name`, found with the palette's search. */
export async function paletteCard(page: Page, name: string): Promise<Locator> {
  await page.getByLabel('Search cards').fill(name);
  return page.getByRole('complementary', { name: 'Cards' }).locator('.palette-item', { hasText: name }).first();
}

export { expect };
