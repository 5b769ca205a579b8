import { Page, TestInfo } from '@playwright/test';
import { test, expect, TABS, allowBrowserErrors, expectHydration, jsEnabled, signIn, importFlow, drag, paletteCard } from './helpers';

// The console as people get it. `make test` runs this suite against the release build
// that `make run` serves: every page hydrates without a browser error (the fixture in
// helpers.ts fails the test on any), every navigation link reaches its page, and the
// builder takes a dragged card.

/** Loads `path` directly and checks it rendered (and, with JavaScript, hydrated). */
async function visit(page: Page, testInfo: TestInfo, path: string, heading?: RegExp | string) {
  const response = await page.goto(path);
  expect(response?.status(), path).toBe(200);
  await expectHydration(page, testInfo);
  const h1 = heading ? page.getByRole('heading', { level: 1, name: heading }) : page.locator('h1');
  await expect(h1.first(), path).toBeVisible();
}

test('every page loads directly and hydrates without a browser error', async ({ page }, testInfo) => {
  test.setTimeout(90_000);
  const tag = `${testInfo.project.name} ${Date.now()}`;
  await signIn(page, testInfo);
  await expect(page).toHaveURL(/\/$/);
  await expectHydration(page, testInfo);
  await expect(page.getByRole('heading', { name: 'Welcome to idflow' })).toBeVisible();

  for (const tab of TABS) {
    await visit(page, testInfo, tab.path, tab.heading);
  }
  await visit(page, testInfo, '/flows/new');

  // Something behind each detail page: a flow run once, a table, a group, a user.
  const name = `Shipped ${tag}`;
  await page.goto('/flows');
  await importFlow(page, {
    name,
    settings: { save_all_data: true },
    trigger: { kind: 'trigger.manual' },
    cards: [{ id: 1, kind: 'text.compose', inputs: { template: { type: 'literal', value: 'shipped' } } }],
  });
  await expect(page.getByTestId('flash')).toContainText('The flow is imported');
  const row = page.locator(`tr[data-flow="${name}"]`);
  await row.getByRole('button', { name: `Turn on ${name}` }).click();
  await expect(page.getByTestId('flash')).toContainText('The flow is on');
  await row.getByText('Run', { exact: true }).click();
  await row.getByRole('button', { name: 'Run now' }).click();
  await expect(page).toHaveURL(/\/executions\/[0-9a-f-]+\?notice=flow-started/);
  const execution = new URL(page.url()).pathname;
  await visit(page, testInfo, execution);

  await page.goto('/flows');
  const edit = await page.locator(`tr[data-flow="${name}"] a[href$="/edit"]`).first().getAttribute('href');
  expect(edit).toBeTruthy();
  const flowPath = edit!.replace(/\/edit$/, '');
  await visit(page, testInfo, `${flowPath}/edit`);
  await visit(page, testInfo, `${flowPath}/versions`);
  await visit(page, testInfo, `${flowPath}/test`);

  await page.goto('/tables');
  const create = page.locator('details.create-table');
  if ((await create.getAttribute('open')) === null) await create.locator('summary').click();
  await page.getByLabel('Name', { exact: true }).fill(`shipped ${tag}`);
  await page.getByLabel('Column 1 name').fill('email');
  await page.getByRole('button', { name: 'Create table' }).click();
  await expect(page.getByTestId('flash')).toContainText('The table is created');
  await expect(page).toHaveURL(/\/tables\/[0-9a-f-]+/);
  await visit(page, testInfo, new URL(page.url()).pathname);

  await page.goto('/directory/users');
  await page.getByRole('link', { name: 'admin@example.com' }).first().click();
  await expect(page).toHaveURL(/\/directory\/users\/[0-9a-f-]+$/);
  await visit(page, testInfo, new URL(page.url()).pathname);

  await page.goto('/directory/groups');
  await page.getByText('New group', { exact: true }).click();
  await page.getByLabel('Group name').fill(`Shipped ${tag}`);
  await page.getByRole('button', { name: 'Create group' }).click();
  await expect(page).toHaveURL(/\/directory\/groups\/[0-9a-f-]+/);
  await visit(page, testInfo, new URL(page.url()).pathname, `Shipped ${tag}`);

  // An address nobody serves is a 404 page, still inside a working console (the browser
  // reports the 404 status it was sent).
  allowBrowserErrors(testInfo, /status of 404/);
  const missing = await page.goto('/no-such-page');
  expect(missing?.status()).toBe(404);
});

test('every navigation link reaches its page and is marked current', async ({ page }, testInfo) => {
  await signIn(page, testInfo);
  await expectHydration(page, testInfo);
  const nav = page.getByRole('navigation', { name: 'Console' });
  for (const tab of TABS) {
    await nav.getByRole('link', { name: tab.label, exact: true }).click();
    await expect(page).toHaveURL(new RegExp(`${tab.path}$`));
    await expect(page.getByRole('heading', { level: 1, name: tab.heading })).toBeVisible();
    await expect(nav.getByRole('link', { name: tab.label, exact: true })).toHaveAttribute('aria-current', 'page');
  }
  // Back goes back, in the page (JavaScript) or by loading it again (without).
  await page.goBack();
  await expect(page).toHaveURL(new RegExp(`${TABS[TABS.length - 2].path}$`));
  await expect(page.getByRole('heading', { level: 1, name: TABS[TABS.length - 2].heading })).toBeVisible();
});

test('the builder takes a dragged card', async ({ page }, testInfo) => {
  test.skip(!jsEnabled(testInfo), 'dragging needs JavaScript');
  await signIn(page, testInfo);
  await page.goto('/flows/new');
  await expectHydration(page, testInfo);
  const trigger = page.getByRole('region', { name: 'Trigger' });
  await expect(trigger).toContainText('Drag a trigger here');
  await drag(page, await paletteCard(page, 'Manual'), trigger);
  await expect(trigger).toContainText('Manual');
  await drag(page, await paletteCard(page, 'Compose'), page.locator('[data-drop="main:0"]'));
  await expect(page.locator('.main-row > .flow-card[data-card]')).toHaveText([/Compose/]);
  await page.getByRole('button', { name: 'Undo' }).click();
  await expect(page.locator('.main-row > .flow-card[data-card]')).toHaveCount(0);
});

test('the console files come under hashed names, precompressed and cached for a year', async ({ page, request }, testInfo) => {
  await signIn(page, testInfo);
  await page.goto('/flows');
  await expectHydration(page, testInfo);
  // The page asks for the release build's hashed files.
  const css = await page.locator('link#leptos').getAttribute('href');
  expect(css).toMatch(/^\/pkg\/idflow\.[0-9a-f]{16}\.css$/);
  const preload = await page.locator('link[rel="modulepreload"]').first().getAttribute('href');
  expect(preload).toMatch(/^\/pkg\/idflow\.[0-9a-f]{16}\.js$/);
  const wasm = (await page.locator('link[rel="preload"][type="application/wasm"]').getAttribute('href'))!;
  expect(wasm).toMatch(/^\/pkg\/idflow\.[0-9a-f]{16}\.wasm$/);

  // Brotli when the browser takes it, gzip otherwise, the file itself for neither: each
  // for a year under a hashed name.
  for (const [accept, encoding] of [['br, gzip', 'br'], ['gzip', 'gzip'], ['identity', undefined]] as const) {
    const answer = await request.get(wasm, { headers: { 'accept-encoding': accept } });
    expect(answer.status(), accept).toBe(200);
    expect(answer.headers()['content-encoding'], accept).toBe(encoding);
    expect(answer.headers()['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(answer.headers()['content-type']).toBe('application/wasm');
  }
  // A name without a hash is checked again on each use.
  const plain = await request.get('/pkg/idflow.css');
  expect(plain.headers()['cache-control']).toBe('no-cache');
});

test('the builder is a WASM file of its own, fetched when a builder first opens', async ({ page, request }, testInfo) => {
  test.skip(!jsEnabled(testInfo), 'the console loads WebAssembly only with JavaScript');
  const fetched: string[] = [];
  page.on('request', (r) => {
    const path = new URL(r.url()).pathname;
    if (path.startsWith('/pkg/') && path.endsWith('.wasm')) fetched.push(path);
  });
  await signIn(page, testInfo);
  await page.goto('/flows');
  await expectHydration(page, testInfo);
  // The Flows tab needs the main file only.
  expect(fetched.filter((p) => !/^\/pkg\/idflow\.[0-9a-f]{16}\.wasm$/.test(p)), fetched.join(' ')).toEqual([]);

  // Opening the builder in the page fetches its part, under a hashed name, and it works.
  await page.getByRole('link', { name: 'New flow' }).first().click();
  await expect(page).toHaveURL(/\/flows\/new$/);
  const trigger = page.getByRole('region', { name: 'Trigger' });
  await expect(trigger).toContainText('Drag a trigger here');
  // The "Loading the page…" status shown while it came is gone once it is there.
  await expect(page.getByTestId('navigating')).toBeHidden();
  const parts = fetched.filter((p) => /^\/pkg\/(split|chunk)_[^/]*\.[0-9a-f]{16}\.wasm$/.test(p));
  expect(parts.length, fetched.join(' ')).toBeGreaterThan(0);
  await drag(page, await paletteCard(page, 'Manual'), trigger);
  await expect(trigger).toContainText('Manual');
  for (const part of parts) {
    const answer = await request.get(part, { headers: { 'accept-encoding': 'br' } });
    expect(answer.status(), part).toBe(200);
    expect(answer.headers()['content-encoding'], part).toBe('br');
    expect(answer.headers()['cache-control'], part).toBe('public, max-age=31536000, immutable');
  }
});
