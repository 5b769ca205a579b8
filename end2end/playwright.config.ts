import { defineConfig } from '@playwright/test';

// The e2e server: the debug build of idflow on a fresh SQLite database in .data/.
export const PORT = Number(process.env.IDFLOW_E2E_PORT ?? 3117);
export const ADMIN_EMAIL = 'admin@example.com';
export const ADMIN_PASSWORD = 'e2e admin password 1';

const binary = process.env.IDFLOW_E2E_BINARY ?? '../target/debug/idflow';

export default defineConfig({
  testDir: './tests',
  outputDir: './test-results',
  timeout: 30_000,
  expect: { timeout: 10_000 },
  fullyParallel: true,
  workers: 2,
  forbidOnly: !!process.env.CI,
  reporter: [['list']],
  use: {
    baseURL: `http://127.0.0.1:${PORT}`,
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    viewport: { width: 1280, height: 800 },
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    },
  },
  // Every spec runs twice: as a person with JavaScript (hydrated) and without (SSR only).
  projects: [
    { name: 'js-on', use: { javaScriptEnabled: true } },
    { name: 'js-off', use: { javaScriptEnabled: false } },
  ],
  webServer: {
    command: `rm -rf .data && exec ${binary} serve`,
    url: `http://127.0.0.1:${PORT}/readyz`,
    timeout: 120_000,
    reuseExistingServer: false,
    stdout: 'pipe',
    stderr: 'pipe',
    env: {
      IDFLOW_LISTEN: `127.0.0.1:${PORT}`,
      IDFLOW_DATA_DIR: '.data',
      IDFLOW_SITE_DIR: '../target/site',
      IDFLOW_ADMIN_EMAIL: ADMIN_EMAIL,
      IDFLOW_ADMIN_PASSWORD: ADMIN_PASSWORD,
      IDFLOW_LOG: 'warn',
    },
  },
});
