import fs from 'node:fs';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll } from 'vitest';
import { buildApp } from '../../server/src/app.js';
import { buildWebIfNeeded } from '../../server/src/build-web.js';
import { repoRoot } from '../../server/src/config.js';
import { probeCapabilities } from '../../server/src/db/database.js';
import { browserUnavailableReason, launchChromium } from '../support/browser.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

/** With REQUIRE_E2E=1 a missing browser is a failure, not a skip. */
export const REQUIRED = process.env.REQUIRE_E2E === '1';
export const UNAVAILABLE = browserUnavailableReason();
export const webDist = path.join(repoRoot, 'web', 'dist');
export const artifacts = path.join(repoRoot, 'tests', 'artifacts');

if (UNAVAILABLE && !REQUIRED) console.log(`[e2e] skipped: ${UNAVAILABLE}; set REQUIRE_E2E=1 to make this a failure`);

export interface Account {
  username: string;
  password: string;
}

export interface Watched {
  page: Page;
  requests: string[];
  errors: string[];
}

/** What an e2e file runs against: its own database, the app serving the built web files, a browser. */
export interface E2eEnvironment {
  database: TestDatabase;
  app: FastifyInstance;
  base: string;
  browser: Browser;
}

/**
 * An e2e file's set-up, once for the file: the web app built if its sources changed, a fresh
 * database filled by `fill`, the app on a loopback port (started when `fill` calls `serve`, for
 * set-up through the API, else after it), Chromium; all closed after the file. The object is
 * filled in before the first test runs.
 */
export function e2eEnvironment(fill: (database: TestDatabase, serve: () => Promise<FastifyInstance>) => Promise<void>): E2eEnvironment {
  const env = {} as E2eEnvironment;
  beforeAll(async () => {
    if (UNAVAILABLE) throw new Error(`REQUIRE_E2E=1 but ${UNAVAILABLE}`);
    await buildWebIfNeeded();
    fs.mkdirSync(artifacts, { recursive: true });
    env.database = await createTestDatabase();
    const serve = async () => {
      if (!env.app) ({ app: env.app, base: env.base } = await serveWebApp(env.database));
      return env.app;
    };
    await fill(env.database, serve);
    await serve();
    env.browser = await launchChromium();
  }, 240_000);
  afterAll(async () => {
    await env.browser?.close();
    await env.app?.close();
    await env.database?.drop();
  });
  return env;
}

/** The app with its built web files over the test database (as the ordinary role), on a loopback port. */
export async function serveWebApp(database: TestDatabase): Promise<{ app: FastifyInstance; base: string }> {
  const app = await buildApp({
    config: { bodyLimitBytes: 2_000_000, webDist, logLevel: 'warn' },
    database: database.app,
    capabilities: await probeCapabilities(database.app.db),
    logger: false,
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, base: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}` };
}

/** Requests that would leave the machine: anything over the network not addressed to this host. */
export function externalRequests(urls: string[]): string[] {
  return urls.filter((u) => {
    const url = new URL(u);
    if (url.protocol === 'data:' || url.protocol === 'blob:') return false;
    return !['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
  });
}

/**
 * "Failed to load resource" lines a test causes on purpose: refused sign-ins (401/429 from
 * /api/auth/login), and what `alsoExpected(url, text)` names. Nothing else: the app itself makes no
 * failing request in normal use (its session probe, /api/auth/session, answers 200 either way).
 */
function expectedFailure(text: string, url: string | undefined, alsoExpected?: (url: string, text: string) => boolean): boolean {
  if (!text.startsWith('Failed to load resource') || !url) return false;
  const p = new URL(url).pathname;
  if (p === '/api/auth/login' && (text.includes('401') || text.includes('429'))) return true;
  return alsoExpected?.(url, text) ?? false;
}

/**
 * Console warnings that are the browser's, not the app's: the GPU driver's performance notes of
 * Chromium's software WebGL ("GPU stall due to ReadPixels" when a screenshot reads the canvas back).
 */
const BROWSER_WARNINGS = [/^\[\.WebGL-0x[0-9a-f]+\]GL Driver Message \(OpenGL, Performance,/];

/** A page that records every request URL, page error, console error or warning and CSP violation. */
export async function watchedPage(context: BrowserContext, alsoExpected?: (url: string, text: string) => boolean): Promise<Watched> {
  const requests: string[] = [];
  const errors: string[] = [];
  context.on('request', (r) => requests.push(r.url()));
  const page = await context.newPage();
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  // MapLibre reports style and tile problems on the console, Element Plus deprecated props, Vue its
  // warnings: any console error or warning not provoked on purpose fails the test.
  page.on('console', (m) => {
    const type = m.type();
    if (type !== 'error' && type !== 'warning') return;
    if (type === 'warning' && BROWSER_WARNINGS.some((re) => re.test(m.text()))) return;
    if (!expectedFailure(m.text(), m.location().url, alsoExpected)) errors.push(`console ${type}: ${m.text()} (${m.location().url})`);
  });
  // Injected by the browser itself (not a page script), so the CSP does not apply to it.
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      const w = window as unknown as { __cspViolations?: string[] };
      (w.__cspViolations ??= []).push(`${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  return { page, requests, errors };
}

/** Fills in and submits the login page the app is showing. */
export async function submitLogin(page: Page, account: Account): Promise<void> {
  await page.waitForSelector('[data-testid="login-page"]', { timeout: 30_000 });
  await page.fill('#login-username', account.username);
  await page.fill('#login-password', account.password);
  await page.click('[data-testid="login-submit"]');
}

/** Signs in on the login page and waits to be sent back into the app. */
export async function signIn(page: Page, account: Account): Promise<void> {
  await submitLogin(page, account);
  await page.waitForURL((u) => u.pathname !== '/login', { timeout: 30_000 });
}
