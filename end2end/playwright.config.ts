import { defineConfig } from '@playwright/test';

// The e2e server: the release build of idflow that `make run` serves (the server binary
// and the console in target/site), on a fresh SQLite database in .data/.
export const PORT = Number(process.env.IDFLOW_E2E_PORT ?? 3117);
export const ADMIN_EMAIL = 'admin@example.com';
export const ADMIN_PASSWORD = 'e2e admin password 1';
// The test identity provider (end2end/idp/server.mjs: npm oidc-provider) and its client.
export const IDP_PORT = Number(process.env.IDP_PORT ?? 3118);
/** A real SMTP server (aiosmtpd, from PyPI; `scripts/setup.sh test` installs it) that the email tests send to. */
export const SMTP_PORT = Number(process.env.IDFLOW_E2E_SMTP_PORT ?? 3119);
/** The Okta-shaped test org (server/tests/fixtures/okta_org.py, Python with `cryptography`). */
export const OKTA_PORT = Number(process.env.IDFLOW_E2E_OKTA_PORT ?? 3120);
export const IDP_NAME = 'Test IdP';
const IDP_CLIENT_ID = 'idflow-e2e';
const IDP_CLIENT_SECRET = 'e2e client secret';

const binary = process.env.IDFLOW_E2E_BINARY ?? '../target/server-release/idflow';

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
  webServer: [
    {
      command: `exec ../target/smtp-venv/bin/python -m aiosmtpd -n -l 127.0.0.1:${SMTP_PORT}`,
      port: SMTP_PORT,
      timeout: 30_000,
      reuseExistingServer: false,
      stdout: 'ignore',
      stderr: 'pipe',
    },
    {
      command: `exec ../target/okta-venv/bin/python ../server/tests/fixtures/okta_org.py ${OKTA_PORT}`,
      url: `http://127.0.0.1:${OKTA_PORT}/.well-known/oauth-authorization-server`,
      timeout: 30_000,
      reuseExistingServer: false,
      stdout: 'ignore',
      stderr: 'pipe',
    },
    {
      command: 'exec node idp/server.mjs',
      url: `http://127.0.0.1:${IDP_PORT}/.well-known/openid-configuration`,
      timeout: 30_000,
      reuseExistingServer: false,
      stdout: 'ignore',
      stderr: 'pipe',
      env: {
        IDP_PORT: String(IDP_PORT),
        IDFLOW_E2E_PORT: String(PORT),
        IDP_CLIENT_ID,
        IDP_CLIENT_SECRET,
      },
    },
    {
      command: `rm -rf .data && exec ${binary} serve`,
      url: `http://127.0.0.1:${PORT}/readyz`,
      timeout: 120_000,
      reuseExistingServer: false,
      stdout: 'pipe',
      stderr: 'pipe',
      env: {
        IDFLOW_LISTEN: `127.0.0.1:${PORT}`,
        IDFLOW_DATA_DIR: '.data',
        // Connections' tests call this server itself, on loopback.
        IDFLOW_OUTBOUND_ALLOW: '127.0.0.1',
        IDFLOW_SITE_DIR: '../target/site',
        IDFLOW_ADMIN_EMAIL: ADMIN_EMAIL,
        IDFLOW_ADMIN_PASSWORD: ADMIN_PASSWORD,
        IDFLOW_LOG: 'warn',
        // The suite signs in far more often than a person does, all from 127.0.0.1.
        IDFLOW_SIGN_IN_PER_MINUTE: '100000',
        IDFLOW_OIDC_ISSUER: `http://127.0.0.1:${IDP_PORT}`,
        IDFLOW_OIDC_CLIENT_ID: IDP_CLIENT_ID,
        IDFLOW_OIDC_CLIENT_SECRET: IDP_CLIENT_SECRET,
        IDFLOW_OIDC_NAME: IDP_NAME,
      },
    },
  ],
});
