import path from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { addUser } from '../support/auth.js';
import { artifacts, e2eEnvironment, externalRequests, REQUIRED, signIn, submitLogin, UNAVAILABLE, watchedPage, type Account } from './harness.js';
import { fillDashboardData, HOSTILE_DESCRIPTION, OSM_ATTRIBUTION } from './data.js';
// Types only: `window.__wanggeMap`, the map the page exposes when opened with `?e2e=1`.
import type {} from '../../web/src/map/testHook.js';

/** The page's path and query, e.g. "/login?redirect=%2F%3Fe2e%3D1". */
const here = (page: Page) => {
  const u = new URL(page.url());
  return { path: u.pathname, redirect: u.searchParams.get('redirect') };
};

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
  /** The district of the tiny preset, and a commander of it: the big-screen user. */
  let district: string;
  let commander: Account;

  const env = e2eEnvironment(async (database) => {
    await fillDashboardData(database.pool);
    district = (await database.pool.query<{ code: string }>(`SELECT code FROM areas WHERE level = 'district' ORDER BY code LIMIT 1`)).rows[0].code;
    commander = await addUser(database.pool, 'commander', district);
  });

  it('shows grids and buildings on a big screen with no request leaving the machine, a grid panel, and English on switch', async () => {
    // A viewer in another time zone: the page must still show Beijing time.
    const context = await env.browser.newContext({ viewport: { width: 1920, height: 1080 }, locale: 'zh-CN', timezoneId: 'America/New_York' });
    try {
      const { page, requests, errors } = await watchedPage(context);
      // Not signed in: the login page, which comes back here afterwards.
      await page.goto(`${env.base}/?e2e=1`);
      await page.waitForSelector('[data-testid="login-page"]');
      expect(here(page)).toEqual({ path: '/login', redirect: '/?e2e=1' });
      await signIn(page, commander);
      expect(page.url()).toBe(`${env.base}/?e2e=1`);
      await expect.poll(() => page.textContent('[data-testid="app-title"]')).toContain('网格化管理指挥中心');
      expect(await page.textContent('[data-testid="user-role"]')).toBe('指挥中心');
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
      // The same session as the page (its cookie), so the same scope.
      const summary = (await (await context.request.get(`${env.base}/api/grids/${target.id}/summary`)).json()) as Record<string, number>;
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
    const context = await env.browser.newContext({ viewport: { width: 1440, height: 900 }, locale: 'zh-CN', timezoneId: 'Europe/London' });
    try {
      const { page, requests, errors } = await watchedPage(context);
      const { rows } = await env.database.pool.query<{ id: string; lon: number; lat: number; reported: string }>(
        `SELECT id::text, ST_X(location) AS lon, ST_Y(location) AS lat,
                to_char(reported_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI:SS') AS reported
           FROM incidents WHERE description = $1`,
        [HOSTILE_DESCRIPTION],
      );
      const incident = rows[0];
      await page.goto(`${env.base}/?e2e=1`);
      await signIn(page, commander);
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
    const context = await env.browser.newContext({
      viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, locale: 'zh-CN',
    });
    try {
      const { page, requests, errors } = await watchedPage(context);
      await page.goto(`${env.base}/?e2e=1`);
      await page.waitForSelector('[data-testid="login-page"]');
      await page.screenshot({ path: path.join(artifacts, 'login-phone.png') });
      // The login form fits the phone's width.
      const form = await page.locator('[data-testid="login-form"]').boundingBox();
      expect(form!.x).toBeGreaterThanOrEqual(0);
      expect(form!.x + form!.width).toBeLessThanOrEqual(390);
      await signIn(page, await addUser(env.database.pool, 'viewer', district));
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

  it('has a login page in Chinese that says why a sign-in was refused, and how long to wait', async () => {
    const context = await env.browser.newContext({ viewport: { width: 1440, height: 900 }, locale: 'zh-CN' });
    try {
      const { page, requests, errors } = await watchedPage(context);
      await page.goto(`${env.base}/login`);
      await page.waitForSelector('[data-testid="login-page"]');
      expect(await page.textContent('[data-testid="login-title"]')).toBe('网格化管理指挥中心');
      expect(await page.getAttribute('html', 'lang')).toBe('zh-CN');
      // What password managers and phones need to fill the form in.
      expect(await page.getAttribute('#login-username', 'autocomplete')).toBe('username');
      expect(await page.getAttribute('#login-password', 'autocomplete')).toBe('current-password');
      expect(await page.getAttribute('#login-password', 'type')).toBe('password');
      expect(await page.locator('[data-testid="login-error"]').count()).toBe(0);
      await page.screenshot({ path: path.join(artifacts, 'login-zh.png') });

      const account = await addUser(env.database.pool, 'viewer', district);
      const error = () => page.locator('[data-testid="login-error"]').textContent({ timeout: 1000 }).catch(() => '');
      const wrong = { username: account.username, password: 'not-the-password' };
      await submitLogin(page, wrong);
      await expect.poll(error).toContain('用户名或密码错误');
      expect(await page.getAttribute('[data-testid="login-error"]', 'data-code')).toBe('INVALID_CREDENTIALS');
      expect(here(page).path).toBe('/login');
      await page.screenshot({ path: path.join(artifacts, 'login-error-zh.png') });

      // The account allows five failures per window; the sixth attempt is refused with a wait.
      for (let i = 2; i <= 5; i++) {
        const answered = page.waitForResponse((r) => r.url().endsWith('/api/auth/login'));
        await submitLogin(page, wrong);
        expect((await answered).status()).toBe(401);
      }
      await submitLogin(page, account);
      await expect.poll(error).toMatch(/登录失败次数过多，请 \d+ (分钟|秒)后再试/);
      expect(await page.getAttribute('[data-testid="login-error"]', 'data-code')).toBe('RATE_LIMITED');
      expect(await page.isDisabled('[data-testid="login-submit"]')).toBe(true);
      await page.click('[data-testid="lang-switch"]');
      await expect.poll(error).toMatch(/Too many failed sign-ins: try again in \d+ (min|s)/);
      await page.screenshot({ path: path.join(artifacts, 'login-rate-limited-en.png') });
      expect(here(page).path).toBe('/login');
      expect(errors).toEqual([]);
      expect(externalRequests(requests)).toEqual([]);
    } finally {
      await context.close();
    }
  }, 120_000);

  it('shows a community grid worker only the grids of their community, framed on them', async () => {
    const { rows: [{ code: community }] } = await env.database.pool.query<{ code: string }>(
      `SELECT code FROM areas WHERE level = 'community' ORDER BY code LIMIT 1`,
    );
    const { rows: [facts] } = await env.database.pool.query<{ others: number; own: number; all: number; w: number; s: number; e: number; n: number }>(
      `SELECT (SELECT count(*)::int FROM areas WHERE level = 'community' AND code <> $1) AS others,
              (SELECT count(*)::int FROM grids WHERE code LIKE $1 || '%') AS own,
              (SELECT count(*)::int FROM grids) AS all,
              ST_XMin(x) AS w, ST_YMin(x) AS s, ST_XMax(x) AS e, ST_YMax(x) AS n
         FROM (SELECT ST_Extent(geom) AS x FROM grids WHERE code LIKE $1 || '%') t`,
      [community],
    );
    // Another community exists, with grids of its own that this user must not see.
    expect(facts.others).toBeGreaterThan(0);
    expect(facts.own).toBeGreaterThan(0);
    expect(facts.all).toBeGreaterThan(facts.own);
    const worker = await addUser(env.database.pool, 'grid_worker', community);

    const context = await env.browser.newContext({ viewport: { width: 1440, height: 900 }, locale: 'zh-CN' });
    try {
      const { page, requests, errors } = await watchedPage(context);
      await page.goto(`${env.base}/?e2e=1`);
      await signIn(page, worker);
      await waitForMap(page, ['grids-fill']);
      const codes = await page.evaluate(() => [
        ...new Set(window.__wanggeMap!.queryRenderedFeatures({ layers: ['grids-fill'] }).map((f) => String(f.properties.code))),
      ]);
      expect(codes.length).toBeGreaterThan(0);
      expect(codes.filter((c) => !c.startsWith(community))).toEqual([]);

      // The first view frames the community's grids.
      const view = await page.evaluate(() => {
        const b = window.__wanggeMap!.getBounds();
        return { w: b.getWest(), s: b.getSouth(), e: b.getEast(), n: b.getNorth(), c: window.__wanggeMap!.getCenter().toArray() };
      });
      expect(view.c[0]).toBeGreaterThan(facts.w);
      expect(view.c[0]).toBeLessThan(facts.e);
      expect(view.c[1]).toBeGreaterThan(facts.s);
      expect(view.c[1]).toBeLessThan(facts.n);
      expect(view.w).toBeLessThanOrEqual(facts.w);
      expect(view.e).toBeGreaterThanOrEqual(facts.e);
      expect(view.s).toBeLessThanOrEqual(facts.s);
      expect(view.n).toBeGreaterThanOrEqual(facts.n);

      // The grid collection (with this session) and the header count hold that community alone.
      const items = (await (await context.request.get(`${env.base}/api/collections/grids/items?limit=1000`)).json()) as {
        numberMatched: number;
        features: { properties: { code: string; communityCode: string } }[];
      };
      expect(items.numberMatched).toBe(facts.own);
      expect(items.features.every((f) => f.properties.communityCode === community && f.properties.code.startsWith(community))).toBe(true);
      await expect.poll(() => page.textContent('[data-testid="stat-grids"] .stat__value')).toBe(String(facts.own));

      // The user menu: role and area.
      expect(await page.textContent('[data-testid="user-role"]')).toBe('网格员');
      await page.click('[data-testid="user-menu"]');
      await page.waitForSelector('[data-testid="user-card"]', { state: 'visible' });
      expect(await page.textContent('[data-testid="user-card-role"]')).toBe('网格员');
      await expect.poll(() => page.textContent('[data-testid="user-card-area"]')).toMatch(new RegExp(`.+（${community}）`));
      await page.screenshot({ path: path.join(artifacts, 'dashboard-community.png') });
      await page.keyboard.press('Escape');
      expect(errors).toEqual([]);
      expect(externalRequests(requests)).toEqual([]);
    } finally {
      await context.close();
    }
  }, 120_000);

  it('sends a user whose session ended to the login page, and back to the map after signing in again', async () => {
    const worker = await addUser(env.database.pool, 'viewer', district);
    const context = await env.browser.newContext({ viewport: { width: 1440, height: 900 }, locale: 'zh-CN' });
    try {
      // Once the session is gone, API calls and tiles answer 401: expected here.
      const { page, errors } = await watchedPage(context, (url, text) => text.includes('401') && /^\/(api|tiles)\//.test(new URL(url).pathname));
      const expired = () => page.locator('[data-testid="login-error"]').textContent({ timeout: 1000 }).catch(() => '');
      await page.goto(`${env.base}/?e2e=1`);
      await signIn(page, worker);
      await waitForMap(page, ['grids-fill']);

      // An API call (a grid's details) with the session deleted on the server.
      await env.database.pool.query('DELETE FROM sessions');
      const target = await gridClickPoint(page);
      await page.mouse.click(target.x, target.y);
      await page.waitForURL((u) => u.pathname === '/login', { timeout: 15_000 });
      expect(here(page)).toEqual({ path: '/login', redirect: '/?e2e=1' });
      await expect.poll(expired).toContain('会话已过期');
      await page.screenshot({ path: path.join(artifacts, 'login-expired.png') });
      await signIn(page, worker);
      expect(page.url()).toBe(`${env.base}/?e2e=1`);
      await waitForMap(page, ['grids-fill']);

      // A map tile answering 401 (tiles of a zoom not loaded yet). API calls are held back meanwhile,
      // so that only the tiles can tell the app that the session ended.
      await env.database.pool.query('DELETE FROM sessions');
      const api = (u: URL) => u.pathname.startsWith('/api/');
      await page.route(api, (route) => void setTimeout(() => route.continue().catch(() => undefined), 10_000));
      await page.evaluate(() => window.__wanggeMap!.jumpTo({ zoom: window.__wanggeMap!.getZoom() - 1.5 }));
      await page.waitForURL((u) => u.pathname === '/login', { timeout: 9_000 });
      await page.unroute(api);
      expect(here(page)).toEqual({ path: '/login', redirect: '/?e2e=1' });
      await expect.poll(expired).toContain('会话已过期');
      await signIn(page, worker);
      await waitForMap(page, ['grids-fill']);

      // A reload without a session.
      await env.database.pool.query('DELETE FROM sessions');
      await page.reload();
      await page.waitForSelector('[data-testid="login-page"]');
      expect(here(page)).toEqual({ path: '/login', redirect: '/?e2e=1' });
      await expect.poll(expired).toContain('会话已过期');
      await signIn(page, worker);
      expect(page.url()).toBe(`${env.base}/?e2e=1`);
      await waitForMap(page, ['grids-fill']);
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  }, 150_000);

  it('signs out from the user menu to the login page, and the session is gone', async () => {
    const account = await addUser(env.database.pool, 'department', district);
    const context = await env.browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'zh-CN' });
    try {
      const { page, errors } = await watchedPage(context);
      await page.goto(`${env.base}/`);
      await signIn(page, account);
      await expect.poll(() => page.textContent('[data-testid="user-name"]')).toBe(account.username);
      // A department user works for one department: the menu names it (issue 10 item 2).
      expect(await page.textContent('[data-testid="user-role"]')).toBe('职能部门 · 城管执法中队');
      await page.click('[data-testid="user-menu"]');
      await expect.poll(() => page.textContent('[data-testid="user-card-department"]')).toBe('城管执法中队');
      await page.click('[data-testid="user-logout"]');
      await page.waitForURL((u) => u.pathname === '/login', { timeout: 15_000 });
      expect(here(page)).toEqual({ path: '/login', redirect: null });
      expect(await page.locator('[data-testid="login-error"]').count()).toBe(0);
      const { rows } = await env.database.pool.query('SELECT 1 FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.username = $1', [account.username]);
      expect(rows).toHaveLength(0);
      // Nothing of the app without signing in again.
      await page.goto(`${env.base}/?e2e=1`);
      await page.waitForSelector('[data-testid="login-page"]');
      expect(here(page)).toEqual({ path: '/login', redirect: '/?e2e=1' });
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  }, 90_000);
});
