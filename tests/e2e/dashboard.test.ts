import fs from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../server/src/app.js';
import { buildWebIfNeeded } from '../../server/src/build-web.js';
import { repoRoot } from '../../server/src/config.js';
import { probeCapabilities } from '../../server/src/db/database.js';
import { browserUnavailableReason, launchChromium } from '../support/browser.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { fillDashboardData, HOSTILE_DESCRIPTION, OSM_ATTRIBUTION } from './data.js';
// Types only: `window.__wanggeMap`, the map the page exposes when opened with `?e2e=1`.
import type {} from '../../web/src/map/testHook.js';

const REQUIRED = process.env.REQUIRE_E2E === '1';
const UNAVAILABLE = browserUnavailableReason();
const webDist = path.join(repoRoot, 'web', 'dist');
const artifacts = path.join(repoRoot, 'tests', 'artifacts');

if (UNAVAILABLE && !REQUIRED) console.log(`[e2e] skipped: ${UNAVAILABLE}; set REQUIRE_E2E=1 to make this a failure`);

/** Requests that would leave the machine: anything over the network not addressed to this host. */
function externalRequests(urls: string[]): string[] {
  return urls.filter((u) => {
    const url = new URL(u);
    if (url.protocol === 'data:' || url.protocol === 'blob:') return false;
    return !['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
  });
}

interface Watched {
  page: Page;
  requests: string[];
  errors: string[];
}

/** A page that records every request URL, page error and CSP violation. */
async function watchedPage(context: BrowserContext): Promise<Watched> {
  const requests: string[] = [];
  const errors: string[] = [];
  context.on('request', (r) => requests.push(r.url()));
  const page = await context.newPage();
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  // MapLibre reports style and tile errors on the console; any console error fails the test.
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
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

/** Waits until the map has loaded, gone idle, and rendered features of the given layers. */
async function waitForMap(page: Page, layers: string[]): Promise<void> {
  await page.waitForSelector('[data-testid="map"][data-map-idle="true"]', { timeout: 60_000 });
  await page.waitForFunction(
    (ids) => {
      const map = window.__wanggeMap;
      if (!map || !map.isStyleLoaded()) return false;
      return ids.every((id) => map.getLayer(id) && map.queryRenderedFeatures({ layers: [id] }).length > 0);
    },
    layers,
    { timeout: 60_000, polling: 250 },
  );
}

/** Rendered feature count of each layer, through the `?e2e=1` test hook. */
function renderedCounts(page: Page, layers: string[]): Promise<Record<string, number>> {
  return page.evaluate((ids) => {
    const map = window.__wanggeMap!;
    return Object.fromEntries(ids.map((id) => [id, map.getLayer(id) ? map.queryRenderedFeatures({ layers: [id] }).length : 0]));
  }, layers);
}

/**
 * A point (page coordinates) where a click lands on a grid and nothing drawn above it that a click
 * would pick instead (incidents, responders), away from the panels over the map.
 */
async function gridClickPoint(page: Page): Promise<{ x: number; y: number; id: string; code: string }> {
  const found = await page.evaluate(() => {
    const map = window.__wanggeMap!;
    const canvas = map.getCanvas().getBoundingClientRect();
    const pickable = map.getStyle().layers.filter((l) => (l.metadata as Record<string, unknown> | undefined)?.['wangge:pick']).map((l) => l.id);
    const blocked = [...document.querySelectorAll('[data-testid="layer-panel"], .maplibregl-ctrl, [data-testid="reset-view"]')].map((e) => e.getBoundingClientRect());
    const step = 23;
    for (let y = canvas.height * 0.2; y < canvas.height * 0.9; y += step) {
      for (let x = canvas.width * 0.2; x < canvas.width * 0.8; x += step) {
        const px = canvas.left + x;
        const py = canvas.top + y;
        if (blocked.some((r) => px >= r.left - 10 && px <= r.right + 10 && py >= r.top - 10 && py <= r.bottom + 10)) continue;
        // The point itself lies in a grid, and so does everything pickable around it.
        const top = map.queryRenderedFeatures([x, y], { layers: pickable })[0];
        const around = map.queryRenderedFeatures([[x - 12, y - 12], [x + 12, y + 12]], { layers: pickable });
        if (top && top.layer.id === 'grids-fill' && around.every((h) => h.layer.id === 'grids-fill' && h.properties.id === top.properties.id)) {
          return { x: px, y: py, id: String(top.properties.id), code: String(top.properties.code) };
        }
      }
    }
    return null;
  });
  if (!found) throw new Error('no grid to click in the view');
  return found;
}

describe.skipIf(Boolean(UNAVAILABLE) && !REQUIRED)('command-centre dashboard in Chromium', () => {
  let database: TestDatabase;
  let app: Awaited<ReturnType<typeof buildApp>>;
  let browser: Browser;
  let base: string;

  beforeAll(async () => {
    if (UNAVAILABLE) throw new Error(`REQUIRE_E2E=1 but ${UNAVAILABLE}`);
    // Builds web/dist once, unless it is newer than every web source file.
    await buildWebIfNeeded();
    fs.mkdirSync(artifacts, { recursive: true });
    database = await createTestDatabase();
    await fillDashboardData(database.pool);
    app = await buildApp({
      config: { bodyLimitBytes: 2_000_000, webDist, logLevel: 'warn' },
      database,
      capabilities: await probeCapabilities(database.db),
      logger: false,
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.server.address();
    if (!address || typeof address === 'string') throw new Error('no TCP address');
    base = `http://127.0.0.1:${address.port}`;
    browser = await launchChromium();
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await database?.drop();
  });

  it('shows grids and buildings on a big screen with no request leaving the machine, a grid panel, and English on switch', async () => {
    // A viewer in another time zone: the page must still show Beijing time.
    const context = await browser.newContext({ viewport: { width: 1920, height: 1080 }, locale: 'zh-CN', timezoneId: 'America/New_York' });
    try {
      const { page, requests, errors } = await watchedPage(context);
      await page.goto(`${base}/?e2e=1`);
      await expect.poll(() => page.textContent('[data-testid="app-title"]')).toContain('网格化管理指挥中心');
      await waitForMap(page, ['grids-fill', 'grids-line']);
      await page.waitForFunction(() => window.__wanggeMap!.queryRenderedFeatures({ layers: ['buildings-fill', 'buildings-extrusion'].filter((id) => window.__wanggeMap!.getLayer(id)) }).length > 0, undefined, { timeout: 30_000 });
      // Buildings are flat footprints below z16 and extruded from z16.
      const counts = await renderedCounts(page, ['grids-fill', 'buildings-fill', 'buildings-extrusion', 'roads-fill', 'areas-fill']);
      expect(counts['grids-fill']).toBeGreaterThan(0);
      expect(counts['buildings-fill'] + counts['buildings-extrusion']).toBeGreaterThan(0);
      expect(counts['roads-fill']).toBeGreaterThan(0);

      // Imported OSM buildings: attributed while the buildings layer is shown, and only then.
      const attribution = () => page.locator('[data-testid="map-attribution"]').textContent({ timeout: 1000 }).catch(() => '');
      await expect.poll(attribution).toContain(OSM_ATTRIBUTION);
      await page.click('[data-testid="layer-toggle-buildings"]');
      await expect.poll(attribution).not.toContain(OSM_ATTRIBUTION);
      expect(await renderedCounts(page, ['buildings-fill', 'buildings-extrusion'])).toEqual({ 'buildings-fill': 0, 'buildings-extrusion': 0 });
      await page.click('[data-testid="layer-toggle-buildings"]');
      await expect.poll(attribution).toContain(OSM_ATTRIBUTION);
      await waitForMap(page, ['grids-fill']);

      // Click a grid: the side panel shows its code and the summary figures of the API.
      const target = await gridClickPoint(page);
      await page.mouse.click(target.x, target.y);
      await page.waitForSelector('[data-testid="grid-details"]', { timeout: 15_000 });
      await expect.poll(() => page.textContent('[data-testid="grid-code"]')).toBe(target.code);
      const summary = (await (await fetch(`${base}/api/grids/${target.id}/summary`)).json()) as Record<string, number>;
      const figure = (key: string) => page.textContent(`[data-testid="grid-${key}"] .figure__value`).then((s) => Number(s?.replace(/[^\d]/g, '')));
      expect(await figure('buildings')).toBe(summary.buildingCount);
      expect(await figure('households')).toBe(summary.householdCount);
      expect(await figure('openIncidents')).toBe(summary.openIncidentCount);
      expect(await figure('responders')).toBe(summary.responderCount);
      await page.waitForSelector('[data-testid="map"][data-map-idle="true"]');
      await page.screenshot({ path: path.join(artifacts, 'dashboard-zh.png') });

      // English switch: UI text changes, and the choice survives a reload.
      await page.click('[data-testid="lang-switch"]');
      await expect.poll(() => page.textContent('[data-testid="app-title"]')).toContain('Grid Management Command Centre');
      expect(await page.textContent('[data-testid="grid-details"]')).toContain('Households');
      expect(await page.getAttribute('html', 'lang')).toBe('en');
      await page.screenshot({ path: path.join(artifacts, 'dashboard-en.png') });
      await page.reload();
      await expect.poll(() => page.textContent('[data-testid="app-title"]')).toContain('Grid Management Command Centre');
      await waitForMap(page, ['grids-fill']);

      const violations = await page.evaluate(() => (window as unknown as { __cspViolations?: string[] }).__cspViolations ?? []);
      expect(violations).toEqual([]);
      expect(errors).toEqual([]);
      expect(requests.length).toBeGreaterThan(0);
      expect(externalRequests(requests)).toEqual([]);
      expect(requests.some((u) => u.includes('/tiles/grids/'))).toBe(true);
    } finally {
      await context.close();
    }
  }, 180_000);

  it('shows an incident description as text, never as HTML, with its time in Beijing time', async () => {
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, locale: 'zh-CN', timezoneId: 'Europe/London' });
    try {
      const { page, requests, errors } = await watchedPage(context);
      const { rows } = await database.pool.query<{ id: string; lon: number; lat: number; reported: string }>(
        `SELECT id::text, ST_X(location) AS lon, ST_Y(location) AS lat,
                to_char(reported_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI:SS') AS reported
           FROM incidents WHERE description = $1`,
        [HOSTILE_DESCRIPTION],
      );
      const incident = rows[0];
      await page.goto(`${base}/?e2e=1`);
      await waitForMap(page, ['grids-fill']);
      await page.evaluate(({ lon, lat }) => window.__wanggeMap!.jumpTo({ center: [lon, lat], zoom: 18 }), incident);
      await waitForMap(page, ['incidents-point']);
      const point = await page.evaluate(({ id, lon, lat }) => {
        const map = window.__wanggeMap!;
        const p = map.project([lon, lat]);
        const hit = map.queryRenderedFeatures([[p.x - 6, p.y - 6], [p.x + 6, p.y + 6]], { layers: ['incidents-point'] });
        const rect = map.getCanvas().getBoundingClientRect();
        return hit.some((f) => f.properties.id === id) ? { x: rect.left + p.x, y: rect.top + p.y } : null;
      }, incident);
      expect(point).not.toBeNull();
      await page.mouse.click(point!.x, point!.y);
      await page.waitForSelector('[data-testid="incident-details"]', { timeout: 15_000 });
      expect(await page.textContent('[data-testid="incident-description"]')).toBe(HOSTILE_DESCRIPTION);
      expect(await page.$$('[data-testid="incident-details"] img')).toHaveLength(0);
      expect(await page.textContent('[data-testid="incident-reported-at"]')).toBe(incident.reported);
      expect(await page.evaluate(() => (window as unknown as { __pwned?: boolean }).__pwned)).toBeUndefined();
      await page.screenshot({ path: path.join(artifacts, 'dashboard-incident.png') });
      expect(errors).toEqual([]);
      expect(externalRequests(requests)).toEqual([]);
    } finally {
      await context.close();
    }
  }, 120_000);

  it('works on a phone: a tapped grid opens a bottom sheet', async () => {
    const context = await browser.newContext({
      viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, locale: 'zh-CN',
    });
    try {
      const { page, requests, errors } = await watchedPage(context);
      await page.goto(`${base}/?e2e=1`);
      await waitForMap(page, ['grids-fill']);
      const target = await gridClickPoint(page);
      await page.touchscreen.tap(target.x, target.y);
      await page.waitForSelector('[data-testid="grid-details"]', { timeout: 15_000 });
      await expect.poll(() => page.textContent('[data-testid="grid-code"]')).toBe(target.code);
      const sheet = await page.locator('[data-testid="side-panel"]').boundingBox();
      expect(sheet).not.toBeNull();
      // A bottom sheet: full width, anchored to the bottom of the screen.
      expect(sheet!.width).toBeGreaterThan(380);
      expect(Math.round(sheet!.y + sheet!.height)).toBeGreaterThanOrEqual(843);
      expect(sheet!.y).toBeGreaterThan(844 * 0.3);
      await page.waitForSelector('[data-testid="map"][data-map-idle="true"]');
      await page.screenshot({ path: path.join(artifacts, 'dashboard-phone.png') });
      await page.click('[data-testid="side-panel-close"]');
      await page.click('[data-testid="layer-panel-toggle"]');
      await page.waitForSelector('[data-testid="legend"]', { state: 'visible' });
      await page.screenshot({ path: path.join(artifacts, 'dashboard-phone-layers.png') });
      expect(errors).toEqual([]);
      expect(externalRequests(requests)).toEqual([]);
    } finally {
      await context.close();
    }
  }, 120_000);
});
