// bench/console, in the browser: the Flows tab's first load in headless Chromium, from
// navigation to hydrated (the console marks <body data-hydrated="true">), signed in as
// the bootstrap admin. Each cold load is a new browser context (an empty cache); each
// warm load follows it in the same context (the console's files from the cache). Prints
// figures only; bench/engine/console.rs runs it against the server it started.
//
//   node bench/console-first-load.mjs <base URL> <email> <password> [loads]
import { createRequire } from 'node:module';

const require = createRequire(new URL('../end2end/package.json', import.meta.url));
const { chromium } = require('@playwright/test');

const [base, email, password, loadsText] = process.argv.slice(2);
const loads = Number(loadsText ?? 10);
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium' });
try {
  const signing = await browser.newContext();
  const page = await signing.newPage();
  await page.goto(`${base}/sign-in`);
  await page.waitForFunction(() => document.body.dataset.hydrated === 'true');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((url) => !url.pathname.startsWith('/sign-in'));
  const signedIn = await signing.storageState();
  await signing.close();

  // Milliseconds from navigation to hydrated, and the bytes the console's files took.
  const load = async (page) => {
    await page.goto(`${base}/flows`);
    await page.waitForFunction(() => document.body.dataset.hydrated === 'true');
    return page.evaluate(() => ({
      ms: performance.now(),
      bytes: performance
        .getEntriesByType('resource')
        .filter((r) => r.name.includes('/pkg/'))
        .reduce((sum, r) => sum + r.transferSize, 0),
    }));
  };
  const cold = [];
  const warm = [];
  for (let i = 0; i < loads; i++) {
    const context = await browser.newContext({ storageState: signedIn });
    const page = await context.newPage();
    cold.push(await load(page));
    warm.push(await load(page));
    await context.close();
  }
  const show = (name, runs) => {
    const ms = runs.map((r) => r.ms).sort((a, b) => a - b);
    const at = (q) => ms[Math.min(ms.length - 1, Math.round((ms.length - 1) * q))];
    const kb = runs[0].bytes / 1024;
    console.log(`  ${name.padEnd(38)} p50 ${at(0.5).toFixed(0)} ms · max ${ms[ms.length - 1].toFixed(0)} ms · console files ${kb.toFixed(0)} KB transferred`);
  };
  console.log(`The Flows tab in headless Chromium, navigation to hydrated, ${loads} loads each:`);
  show('first load (empty cache)', cold);
  show('again (console files cached)', warm);
} finally {
  await browser.close();
}
