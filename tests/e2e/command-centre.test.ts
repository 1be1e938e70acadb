import path from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { validateStyleMin } from '@maplibre/maplibre-gl-style-spec';
import { addUser, signIn as apiSignIn } from '../support/auth.js';
import { artifacts, e2eEnvironment, externalRequests, REQUIRED, signIn, UNAVAILABLE, watchedPage, type Account } from './harness.js';
import { fillDashboardData } from './data.js';
import zhCN from '../../web/src/i18n/messages/zh-CN.js';
import { formatDateTime } from '../../web/src/i18n/format.js';
// Types only: `window.__wanggeMap` (pages opened with `?e2e=1`).
import type {} from '../../web/src/map/testHook.js';

declare global {
  interface Window {
    /** With `?e2e=1`: ids of the incidents the map has flashed (web/src/map/layers/IncidentsLayer.vue). */
    __wanggeFlashes?: string[];
  }
}

interface Point {
  lon: number;
  lat: number;
}

/** A real 2×2 PNG (red, green, blue, white): the photo a handler attaches as proof. */
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAEklEQVR4nGP4z8DAAMIM/4EAAB/uBfsL2WiLAAAAAElFTkSuQmCC',
  'base64',
);

/** Waits until the map has loaded and gone idle. */
async function waitForMapIdle(page: Page): Promise<void> {
  await page.waitForSelector('[data-testid="map"][data-map-idle="true"]', { timeout: 60_000 });
}

/** The number the list header reports once it has finished loading. */
async function listTotal(page: Page): Promise<number> {
  await page.waitForSelector('[data-testid="incident-total"][data-loading="false"]');
  return Number(await page.getAttribute('[data-testid="incident-total"]', 'data-total'));
}

/** Features of a GeoJSON source of the map (through the `?e2e=1` hook). */
function sourceFeatures(page: Page, source: string): Promise<Record<string, unknown>[]> {
  return page.evaluate((id) => {
    const map = window.__wanggeMap!;
    if (!map.getSource(id)) return [];
    return map.querySourceFeatures(id).map((f) => ({ ...f.properties }));
  }, source);
}

/** Picks options of an element-plus select by their visible labels (the dropdown is teleported to <body>). */
async function chooseOptions(page: Page, testid: string, labels: string[]): Promise<void> {
  await page.click(`[data-testid="${testid}"]`);
  for (const label of labels) {
    await page.locator('.el-select-dropdown:visible .el-select-dropdown__item', { hasText: label }).first().click();
  }
  await page.keyboard.press('Escape');
}

/**
 * The commander's side of the command centre in Chromium: incidents reported through the API by a
 * grid worker (another session) arrive in the live feed without a reload and flash on the map; an
 * urgent one raises the alarm; the list's filters agree with SQL counts; the drawer shows the
 * timeline and exactly the allowed actions; candidates come with ETA, reason and routes drawn on
 * the map; dispatch changes the status live, and a responder taken meanwhile is reported clearly.
 */
describe.skipIf(Boolean(UNAVAILABLE) && !REQUIRED)('command centre (commander) in Chromium', () => {
  let district: string;
  let commander: Account;
  /** Cookie of a community grid worker's API session (the second session that reports incidents). */
  let reporterCookie: string;
  /** Cookie of grid A's worker (the responder who comes on duty). */
  let workerCookie: string;
  let workerResponderId: string;
  /** Cookie of a second commander's API session (a dispatcher racing the page). */
  let rivalCookie: string;
  let gridA: Point & { code: string };
  let gridB: Point & { code: string };

  // Overdue on either clock: the step limit (status_since + the category's limit for the status) or the overall deadline.
  const overdueSql = `SELECT count(*)::int AS n FROM incidents i
      LEFT JOIN incident_time_limits l ON l.category = i.category AND l.status = i.status
     WHERE i.status <> 'closed' AND (now() > i.status_since + l.limit_minutes * interval '1 minute' OR now() > i.due_at)`;

  async function report(cookie: string, body: Record<string, unknown>): Promise<{ id: string; properties: Record<string, unknown> }> {
    const res = await env.app.inject({ method: 'POST', url: '/api/incidents', headers: { cookie }, payload: body });
    if (res.statusCode !== 201) throw new Error(`report failed: ${res.statusCode} ${res.body}`);
    return res.json();
  }

  const env = e2eEnvironment(async (database, serve) => {
    await fillDashboardData(database.pool);
    district = (await database.pool.query<{ code: string }>(`SELECT code FROM areas WHERE level = 'district' ORDER BY code LIMIT 1`)).rows[0].code;
    const grids = await database.pool.query<{ code: string; lon: number; lat: number }>(
      `SELECT code, ST_X(p) AS lon, ST_Y(p) AS lat FROM (SELECT code, ST_PointOnSurface(geom) AS p FROM grids ORDER BY code LIMIT 2) t`,
    );
    [gridA, gridB] = grids.rows;
    // Some open incidents long past their time limit: the overdue counter and filter have work.
    await database.pool.query(
      `UPDATE incidents SET status_since = now() - interval '5 days'
        WHERE id IN (SELECT id FROM incidents WHERE status <> 'closed' ORDER BY id LIMIT 5)`,
    );
    // The generated force reported their positions a few minutes ago: stale (drawn faded, penalised)
    // but dispatchable for the whole run, whatever time the generator gave them.
    await database.pool.query(`UPDATE responders SET position_at = now() - interval '4 minutes' WHERE position IS NOT NULL`);
    commander = await addUser(database.pool, 'commander', district);
    // A community's worker reports (both grids are theirs); the worker of grid A is the one on duty.
    const reporter = await addUser(database.pool, 'grid_worker', gridA.code.slice(0, 12));
    const worker = await addUser(database.pool, 'grid_worker', gridA.code);
    workerResponderId = worker.responderId!;
    const rival = await addUser(database.pool, 'commander', district);
    const app = await serve();
    workerCookie = await apiSignIn(app, worker.username, worker.password);
    reporterCookie = await apiSignIn(app, reporter.username, reporter.password);
    rivalCookie = await apiSignIn(app, rival.username, rival.password);
  });

  it('runs the live feed, alarm, list, drawer, candidates and dispatch on a big screen', async () => {
    const context = await env.browser.newContext({ viewport: { width: 1920, height: 1080 }, locale: 'zh-CN' });
    try {
      // The rival's win answers the page's dispatch with 409: provoked on purpose below.
      const { page, requests, errors } = await watchedPage(context, (url, text) => text.includes('409') && /\/api\/incidents\/[^/]+\/dispatch$/.test(new URL(url).pathname));
      await page.goto(`${env.base}/?e2e=1`);
      await signIn(page, commander);
      await page.waitForSelector('[data-testid="incident-feed"]');
      await page.waitForSelector('[data-testid="live-state"][data-state="open"]', { timeout: 30_000 });
      await waitForMapIdle(page);

      // The overdue counter agrees with SQL (status_since + the category's limit for the status).
      const overdue = (await env.database.pool.query<{ n: number }>(overdueSql)).rows[0].n;
      expect(overdue).toBeGreaterThan(0);
      await expect.poll(() => page.textContent('[data-testid="stat-overdue"] b')).toBe(String(overdue));

      // A grid worker reports an incident in another session: it arrives in the feed without a reload and flashes.
      const normalText = `楼道堆物 ${Date.now()}`;
      const normal = await report(reporterCookie, {
        category: 'sanitation', priority: 'normal', description: normalText,
        location: { type: 'Point', coordinates: [gridA.lon + 0.0004, gridA.lat] },
      });
      const normalItem = page.locator(`[data-testid="feed-item"][data-incident-id="${normal.id}"][data-type="incident.created"]`);
      await normalItem.waitFor({ timeout: 30_000 });
      await expect.poll(() => page.evaluate(() => window.__wanggeFlashes ?? [])).toContain(normal.id);
      await expect.poll(async () => (await sourceFeatures(page, 'incidents-live')).map((f) => f.id)).toContain(normal.id);
      expect(await page.locator('[data-testid="alarm-banner"]').count()).toBe(0);

      // An urgent one raises the red banner.
      const urgent = await report(reporterCookie, {
        category: 'fire', priority: 'urgent', description: `电动车起火 ${Date.now()}`,
        location: { type: 'Point', coordinates: [gridB.lon, gridB.lat] },
      });
      await page.waitForSelector(`[data-testid="alarm-banner"][data-incident-id="${urgent.id}"]`, { timeout: 30_000 });
      expect(await page.textContent('[data-testid="alarm-banner"]')).toContain(zhCN.category.fire);
      await page.locator(`[data-testid="feed-item"][data-incident-id="${urgent.id}"]`).waitFor();
      await page.screenshot({ path: path.join(artifacts, 'command-centre-desktop.png') });
      await page.click('[data-testid="alarm-dismiss"]');
      await page.waitForSelector('[data-testid="alarm-banner"]', { state: 'detached' });

      // The list: every incident of the area, then filtered; each count equals an independent SQL count.
      const count = async (where: string, params: unknown[] = []) =>
        (await env.database.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM incidents i WHERE ${where}`, params)).rows[0].n;
      await page.click('[data-testid="tab-list"]');
      await expect.poll(() => listTotal(page)).toBe(await count('true'));
      await page.click('[data-testid="filter-overdue"]');
      await expect.poll(() => listTotal(page)).toBe(overdue);
      expect(await page.locator('[data-testid="incident-row"]').count()).toBe(Math.min(overdue, 20));
      expect(await page.locator('[data-testid="incident-row"] [data-testid="row-overdue"]').count()).toBe(Math.min(overdue, 20));
      await page.click('[data-testid="filter-reset"]');
      await chooseOptions(page, 'filter-priority', [zhCN.priority.urgent]);
      const urgentCount = await count(`i.priority = 'urgent'`);
      expect(urgentCount).toBeGreaterThan(1);
      await expect.poll(() => listTotal(page)).toBe(urgentCount);
      await chooseOptions(page, 'filter-status', [zhCN.status.reported]);
      await expect.poll(() => listTotal(page)).toBe(await count(`i.priority = 'urgent' AND i.status = 'reported'`));
      await page.click('[data-testid="filter-reset"]');
      await page.fill('[data-testid="filter-q"]', normalText);
      await expect.poll(() => listTotal(page)).toBe(await count(`i.description LIKE '%' || $1 || '%' OR i.address LIKE '%' || $1 || '%'`, [normalText]));
      expect(await listTotal(page)).toBe(1);

      // A click on the row opens the drawer and flies the map to the incident.
      await page.click(`[data-testid="incident-row"][data-incident-id="${normal.id}"] button`);
      await page.waitForSelector(`[data-testid="incident-details"][data-incident-id="${normal.id}"]`);
      const view = () => page.evaluate(() => {
        const map = window.__wanggeMap!;
        return { zoom: map.getZoom(), centre: map.getCenter().toArray(), moving: map.isMoving() };
      });
      await expect.poll(async () => {
        const v = await view();
        return !v.moving && v.zoom >= 16 && Math.abs(v.centre[0] - (gridA.lon + 0.0004)) < 1e-4 && Math.abs(v.centre[1] - gridA.lat) < 1e-4;
      }, { timeout: 15_000 }).toBe(true);
      expect(await page.textContent('[data-testid="incident-description"]')).toBe(normalText);
      // Both clocks, each named: the step's limit (受理时限 for a new report) and the overall deadline (总时限), as stored.
      const { rows: [clock] } = await env.database.pool.query<{ step: Date; due: Date }>(
        `SELECT i.status_since + l.limit_minutes * interval '1 minute' AS step, i.due_at AS due
           FROM incidents i JOIN incident_time_limits l ON l.category = i.category AND l.status = i.status WHERE i.id = $1`, [normal.id]);
      expect(await page.textContent('[data-testid="incident-clock-step"] dt')).toBe(zhCN.clock.step.accept);
      expect(await page.textContent('[data-testid="incident-clock-step"] dd')).toContain(formatDateTime(clock.step.toISOString()));
      expect(await page.textContent('[data-testid="incident-clock-deadline"] dt')).toBe(zhCN.clock.deadline);
      expect(await page.textContent('[data-testid="incident-clock-deadline"] dd')).toContain(formatDateTime(clock.due.toISOString()));

      // The timeline: one entry per recorded transition (the report).
      const { rows: steps } = await env.database.pool.query<{ action: string }>(`SELECT action FROM incident_transitions WHERE incident_id = $1`, [normal.id]);
      expect(steps).toHaveLength(1);
      expect(await page.locator('[data-testid="timeline-entry"]').count()).toBe(steps.length);
      expect(await page.getAttribute('[data-testid="timeline-entry"]', 'data-action')).toBe(steps[0].action);
      // Exactly the allowed actions: a commander on a reported incident may accept, dispatch (the candidates), close and suspend.
      const actions = await page.locator('[data-testid="incident-actions"] [data-action]').evaluateAll((els) => els.map((e) => e.getAttribute('data-action')));
      expect(actions.sort()).toEqual(['accept', 'close', 'request_extension', 'suspend']);
      await page.waitForSelector('[data-testid="candidates"]');

      // Responders: the worker comes on duty near the incident (positions through the API).
      const put = await env.app.inject({ method: 'PUT', url: '/api/responders/me/status', headers: { cookie: workerCookie }, payload: { status: 'available' } });
      expect(put.statusCode).toBe(200);
      const pos = await env.app.inject({
        method: 'POST', url: '/api/responders/me/positions', headers: { cookie: workerCookie },
        payload: { positions: [{ lon: gridA.lon - 0.0008, lat: gridA.lat + 0.0003, recordedAt: new Date().toISOString(), accuracyMetres: 8 }] },
      });
      expect(pos.statusCode).toBe(200);
      // The move arrives live: the responder's point sits at the new position, coloured as available.
      await expect.poll(async () => {
        const mine = (await sourceFeatures(page, 'responders')).find((f) => f.id === workerResponderId);
        return mine ? `${mine.status}/${mine.presence}` : null;
      }, { timeout: 20_000 }).toBe('available/online');

      // Candidates: ETA and reason for each, each route drawn, the top one highlighted.
      await page.click('[data-testid="recommend"]');
      await page.waitForSelector('[data-testid="candidate"]', { timeout: 30_000 });
      const candidates = await (await context.request.get(`${env.base}/api/incidents/${normal.id}/candidates?k=5&routes=true`)).json() as {
        candidates: { responderId: string; name: string; etaSeconds: number; reason: string; route: unknown }[];
      };
      const shown = page.locator('[data-testid="candidate"]');
      expect(await shown.count()).toBe(candidates.candidates.length);
      expect(await shown.evaluateAll((els) => els.map((e) => e.getAttribute('data-responder-id')))).toEqual(candidates.candidates.map((c) => c.responderId));
      for (let i = 0; i < candidates.candidates.length; i++) {
        expect(await shown.nth(i).locator('[data-testid="candidate-eta"]').textContent()).toMatch(/约 \d+ 分钟|不到 1 分钟/);
        expect((await shown.nth(i).locator('[data-testid="candidate-reason"]').textContent())?.trim()).not.toBe('');
      }
      expect(candidates.candidates.map((c) => c.responderId)).toContain(workerResponderId);
      // (querySourceFeatures repeats a line once per tile it crosses: compare the responders drawn.)
      const routed = async (top?: boolean) => [...new Set((await sourceFeatures(page, 'candidate-routes'))
        .filter((f) => f.kind === 'route' && (top === undefined || f.top === top)).map((f) => String(f.responderId)))].sort();
      await expect.poll(() => routed()).toEqual(candidates.candidates.map((c) => c.responderId).sort());
      expect(await routed(true)).toEqual([candidates.candidates[0].responderId]);
      await page.waitForSelector('[data-testid="legend-routes"]', { state: 'attached' });
      await waitForMapIdle(page);
      await page.screenshot({ path: path.join(artifacts, 'candidates.png') });

      // A rival dispatcher takes the top candidate first: the page says so clearly and refreshes the list.
      const taken = candidates.candidates[0];
      const rivalDispatch = await env.app.inject({
        method: 'POST', url: `/api/incidents/${urgent.id}/dispatch`, headers: { cookie: rivalCookie }, payload: { responderId: taken.responderId },
      });
      expect(rivalDispatch.statusCode).toBe(200);
      // The top candidate is the worker on duty (online, own grid, nearest); it turns busy on the map, live (responder.status).
      expect(taken.responderId).toBe(workerResponderId);
      await expect.poll(async () => (await sourceFeatures(page, 'responders')).find((f) => f.id === workerResponderId)?.status, { timeout: 20_000 })
        .toBe('busy');
      await shown.first().locator('[data-testid="candidate-dispatch"]').click();
      await page.waitForSelector('.cc-unavailable', { timeout: 15_000 });
      expect(await page.textContent('.cc-unavailable')).toContain(taken.name);
      await expect.poll(() => shown.evaluateAll((els) => els.map((e) => e.getAttribute('data-responder-id'))), { timeout: 15_000 })
        .not.toContain(taken.responderId);

      // One-click dispatch of the new top candidate: the status changes, and the update arrives live.
      const next = await shown.first().getAttribute('data-responder-id');
      expect(next).not.toBeNull();
      await shown.first().locator('[data-testid="candidate-dispatch"]').click();
      await expect.poll(() => page.textContent('[data-testid="incident-status"]'), { timeout: 20_000 }).toContain(zhCN.status.dispatched);
      await page.click('[data-testid="tab-feed"]');
      await page.locator(`[data-testid="feed-item"][data-incident-id="${normal.id}"][data-type="incident.updated"]`).first().waitFor({ timeout: 20_000 });
      const row = (await env.database.pool.query<{ status: string; assignee: string; busy: string }>(
        `SELECT i.status, i.assignee_responder_id::text AS assignee, r.status AS busy FROM incidents i JOIN responders r ON r.id = i.assignee_responder_id WHERE i.id = $1`,
        [normal.id],
      )).rows[0];
      expect(row).toEqual({ status: 'dispatched', assignee: next, busy: 'busy' });
      // The routes are gone with the candidates; the timeline has the accept and dispatch steps.
      await expect.poll(() => routed()).toEqual([]);
      await expect.poll(() => page.locator('[data-testid="timeline-entry"]').count()).toBe(3);
      expect(await page.locator('[data-testid="timeline-entry"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-action'))))
        .toEqual(['dispatch', 'accept', 'report']);

      // Reassignment (改派) to a department: the button says so, the dispatcher confirms with a reason
      // (required), the timeline keeps it, the previous responder is free again (issue 10 item 3).
      const deptButton = page.locator('[data-testid="department-dispatch"]');
      await expect.poll(() => deptButton.textContent()).toContain('改派');
      expect(await shown.count()).toBe(0); // candidates cleared after the dispatch
      await deptButton.click();
      const box = page.locator('.wg-reassign-box');
      await box.waitFor({ state: 'visible' });
      expect(await box.textContent()).toContain('改派');
      await box.locator('.wg-reassign-ok').click();
      await expect.poll(() => box.locator('.el-message-box__errormsg').textContent()).toContain('请填写改派原因');
      expect((await env.database.pool.query(`SELECT assignee_responder_id::text AS r FROM incidents WHERE id = $1`, [normal.id])).rows[0].r).toBe(next);
      await box.locator('textarea').fill('属于绿化市容职责，转部门处理');
      await page.screenshot({ path: path.join(artifacts, 'reassign-dialog.png') });
      await box.locator('.wg-reassign-ok').click();
      await expect.poll(() => page.locator('[data-testid="timeline-entry"]').count(), { timeout: 20_000 }).toBe(4);
      const reassigned = page.locator('[data-testid="timeline-entry"]').first();
      expect(await reassigned.getAttribute('data-reassign')).toBe('true');
      expect(await reassigned.textContent()).toContain('属于绿化市容职责，转部门处理');
      const moved = (await env.database.pool.query<{ department: string; assignee: string | null; freed: string }>(
        `SELECT i.assignee_department AS department, i.assignee_responder_id::text AS assignee, r.status AS freed
           FROM incidents i, responders r WHERE i.id = $1 AND r.id = $2`, [normal.id, next],
      )).rows[0];
      expect(moved).toEqual({ department: 'greening', assignee: null, freed: 'available' });

      // The handler's steps recorded through the API by another dispatcher arrive live; the commander
      // verifies with a photo as proof (uploaded from the dialog, then attached to the step).
      for (const action of ['start', 'resolve']) {
        const res = await env.app.inject({
          method: 'POST', url: `/api/incidents/${normal.id}/transitions`, headers: { cookie: rivalCookie }, payload: { action },
        });
        expect(res.statusCode).toBe(200);
      }
      await expect.poll(() => page.textContent('[data-testid="incident-status"]'), { timeout: 20_000 }).toContain(zhCN.status.resolved);
      await expect.poll(() => page.locator('[data-testid="incident-actions"] [data-action]').evaluateAll((els) => els.map((e) => e.getAttribute('data-action'))))
        .toEqual(['verify', 'reopen', 'suspend', 'request_extension']);
      await page.click('[data-testid="action-verify"]');
      await page.waitForSelector('[data-testid="action-dialog"]');
      await page.setInputFiles('[data-testid="action-photos"]', { name: 'proof.png', mimeType: 'image/png', buffer: PNG });
      await page.waitForSelector('.thumbs__item img');
      await page.click('[data-testid="action-confirm"]');
      await expect.poll(() => page.textContent('[data-testid="incident-status"]'), { timeout: 20_000 }).toContain(zhCN.status.verified);
      const proof = (await env.database.pool.query<{ photos: number }>(
        `SELECT (SELECT count(*)::int FROM incident_photos p WHERE p.transition_id = t.id) AS photos
           FROM incident_transitions t WHERE t.incident_id = $1 AND t.action = 'verify'`, [normal.id],
      )).rows;
      expect(proof).toEqual([{ photos: 1 }]);
      // The drawer shows the photo (loaded from the API) and links it from the verify step.
      const thumb = page.locator('[data-testid="incident-photos"] img');
      await thumb.waitFor();
      await expect.poll(() => thumb.evaluate((img) => (img as HTMLImageElement).complete && (img as HTMLImageElement).naturalWidth)).toBe(2);
      expect(await page.locator('[data-testid="timeline-entry"][data-action="verify"] a').count()).toBe(1);
      await page.locator('[data-testid="timeline"]').scrollIntoViewIfNeeded();
      await page.locator('[data-testid="side-panel"]').screenshot({ path: path.join(artifacts, 'incident-drawer.png') });

      // Closing a reported incident without handling needs a note: the dialog insists.
      const spare = await report(reporterCookie, {
        category: 'sanitation', priority: 'low', description: `重复上报 ${Date.now()}`,
        location: { type: 'Point', coordinates: [gridA.lon + 0.0004, gridA.lat] },
      });
      const spareItem = page.locator(`[data-testid="feed-item"][data-incident-id="${spare.id}"]`);
      await spareItem.waitFor({ timeout: 30_000 });
      await spareItem.locator('button').click();
      await page.waitForSelector(`[data-testid="incident-details"][data-incident-id="${spare.id}"]`);
      // The same category within 50 m and 24 h: the first report is listed as a possible duplicate.
      await page.waitForSelector('[data-testid="duplicates"]');
      await page.click('[data-testid="action-close"]');
      await page.waitForSelector('[data-testid="action-dialog"]');
      await page.click('[data-testid="action-confirm"]');
      await expect.poll(() => page.textContent('[data-testid="action-error"]')).toBe(zhCN.cc.dialog.needNote);
      await page.fill('[data-testid="action-note"]', '与已派遣事件重复');
      await page.click('[data-testid="action-confirm"]');
      await expect.poll(() => page.textContent('[data-testid="incident-status"]'), { timeout: 20_000 }).toContain(zhCN.status.closed);
      expect((await env.database.pool.query(`SELECT note FROM incident_transitions WHERE incident_id = $1 AND action = 'close'`, [spare.id])).rows)
        .toEqual([{ note: '与已派遣事件重复' }]);
      await page.waitForSelector('[data-testid="no-actions"], [data-testid="incident-actions"]');
      const after = await page.locator('[data-testid="incident-actions"] [data-action]').evaluateAll((els) => els.map((e) => e.getAttribute('data-action')));
      // Closed: it may be reopened, and (评价, the last step) rated by the command centre.
      expect(after).toEqual(['reopen', 'rate']);

      // The style as the session changed it — layers added, filters and paint set without MapLibre's
      // own check in a production build (web/src/map/styleOptions.ts) — holds to the style spec.
      const style = await page.evaluate(() => window.__wanggeMap!.getStyle());
      expect(style.layers.length).toBeGreaterThan(30);
      expect(validateStyleMin(style).map((e) => e.message)).toEqual([]);

      // English on switch.
      await page.click('[data-testid="lang-switch"]');
      await expect.poll(() => page.textContent('[data-testid="tab-feed"]')).toContain('Live feed');
      expect(await page.textContent('[data-testid="incident-status"]')).toContain('Closed');

      const violations = await page.evaluate(() => (window as unknown as { __cspViolations?: string[] }).__cspViolations ?? []);
      expect(violations).toEqual([]);
      expect(errors).toEqual([]);
      expect(externalRequests(requests)).toEqual([]);
    } finally {
      await context.close();
    }
  }, 300_000);

  it('flags the overdue incidents on the map with one ring (escalated ones too) from street zoom on, and follows them live', async () => {
    // Three reports side by side in grid A (a row ~30 m apart, clear of the earlier reports): one made
    // overdue, one made overdue and escalated (督办), one left on time.
    const row = (await env.database.pool.query<{ lon: number; lat: number }>(
      `SELECT ST_X(p) AS lon, ST_Y(p) AS lat FROM grids g,
              LATERAL (SELECT ST_SetSRID(ST_MakePoint($2::float8, $3::float8 + dy), 4326) AS p FROM unnest($4::float8[]) AS dy) c
        WHERE g.code = $1
          AND ST_Contains(g.geom, ST_Translate(p, -0.0005, 0)) AND ST_Contains(g.geom, ST_Translate(p, 0.0005, 0))
        LIMIT 1`,
      [gridA.code, gridA.lon, gridA.lat, [0.0004, -0.0004, 0.0008, -0.0008, 0.0002, -0.0002, 0.0012, -0.0012]],
    )).rows[0];
    expect(row).toBeDefined();
    const near = (dx: number) => ({ type: 'Point', coordinates: [row.lon + dx, row.lat] });
    const late = await report(reporterCookie, { category: 'sanitation', priority: 'normal', description: `垃圾满溢 ${Date.now()}`, location: near(-0.0003) });
    const escalated = await report(reporterCookie, { category: 'sanitation', priority: 'high', description: `污水外溢 ${Date.now()}`, location: near(0) });
    const onTime = await report(reporterCookie, { category: 'sanitation', priority: 'normal', description: `落叶堆积 ${Date.now()}`, location: near(0.0003) });
    await env.database.pool.query(`UPDATE incidents SET status_since = now() - interval '5 days' WHERE id = ANY($1::uuid[])`, [[late.id, escalated.id]]);
    await env.database.pool.query(`UPDATE incidents SET escalation_level = 1, escalated_at = now() WHERE id = $1`, [escalated.id]);

    /** Open overdue incidents (computed here, independently of the API) and whether each is escalated. */
    const overdueInDatabase = async () => Object.fromEntries((await env.database.pool.query<{ id: string; escalated: boolean }>(
      `SELECT i.id::text, i.escalation_level >= 1 AS escalated FROM incidents i
         LEFT JOIN incident_time_limits l ON l.category = i.category AND l.status = i.status
        WHERE i.status <> 'closed' AND (now() > i.status_since + l.limit_minutes * interval '1 minute' OR now() > i.due_at)`,
    )).rows.map((r) => [r.id, r.escalated]));
    /** The overdue layer's source as id → escalated (querySourceFeatures repeats a point per tile it falls in). */
    const overdueOnMap = async () => Object.fromEntries((await sourceFeatures(page, 'incidents-overdue')).map((f) => [String(f.id), f.escalated === true]));
    const sorted = (o: Record<string, boolean>) => Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)));

    const context = await env.browser.newContext({ viewport: { width: 1920, height: 1080 }, locale: 'zh-CN' });
    const { page, requests, errors } = await watchedPage(context);
    try {
      await page.goto(`${env.base}/?e2e=1`);
      await signIn(page, commander);
      await page.waitForSelector('[data-testid="live-state"][data-state="open"]', { timeout: 30_000 });
      await waitForMapIdle(page);

      // Every overdue incident of the district is flagged (the tiny district fits the screen closer than the
      // rings' minimum zoom); the one on time is not.
      const expected = await overdueInDatabase();
      // (The minute's escalation round may escalate the late one too, at any moment.)
      expect(late.id in expected).toBe(true);
      expect(expected[escalated.id]).toBe(true);
      expect(onTime.id in expected).toBe(false);
      expect(Object.keys(expected).length).toBeLessThanOrEqual(500);
      // (Polled against the database each time, for that reason.)
      await expect.poll(async () => JSON.stringify(sorted(await overdueOnMap())) === JSON.stringify(sorted(await overdueInDatabase())), { timeout: 20_000 })
        .toBe(true);
      const flagged = await overdueOnMap();
      expect(flagged).toHaveProperty(escalated.id, true);
      expect(flagged).toHaveProperty(late.id);
      expect(flagged).not.toHaveProperty(onTime.id);
      // The ring is drawn over the incident points (one ring, one weight: no second ring for 督办; from street
      // zoom on, as the legend says), and the status bar counts them.
      const style = await page.evaluate(() => window.__wanggeMap!.getStyle().layers.map((l) => ({ id: l.id, minzoom: l.minzoom })));
      const order = style.map((l) => l.id);
      expect(order.indexOf('incidents-overdue-ring')).toBeGreaterThan(order.indexOf('incidents-point'));
      expect(order.indexOf('incidents-overdue-ring')).toBeGreaterThan(order.indexOf('incidents-live-point'));
      expect(order.filter((id) => id.startsWith('incidents-overdue'))).toEqual(['incidents-overdue-casing', 'incidents-overdue-ring']);
      for (const l of style.filter((x) => x.id.startsWith('incidents-overdue'))) expect(l.minzoom, l.id).toBe(15);
      expect(await page.textContent('[data-testid="legend-overdue"]')).toContain(zhCN.legend.overdue);
      expect(await page.locator('[data-testid="legend-escalated"]').count()).toBe(0);
      await expect.poll(async () => (await page.textContent('[data-testid="stat-overdue"] b')) === String(Object.keys(await overdueInDatabase()).length), { timeout: 20_000 })
        .toBe(true);

      await page.screenshot({ path: path.join(artifacts, 'overdue-flag-district.png') });

      // Close up: of the three reports, two are ringed alike (the escalated one no differently).
      await page.evaluate(([lon, lat]) => window.__wanggeMap!.jumpTo({ center: [lon, lat], zoom: 18 }), [row.lon, row.lat]);
      await waitForMapIdle(page);
      const ours = [late.id, escalated.id, onTime.id];
      const rendered = async (layer: string) => [...new Set((await page.evaluate((id) =>
        window.__wanggeMap!.queryRenderedFeatures({ layers: [id] }).map((f) => String(f.properties.id)), layer))
        .filter((id) => ours.includes(id)))].sort();
      await expect.poll(() => rendered('incidents-overdue-ring')).toEqual([late.id, escalated.id].sort());
      // Zoomed out past the rings' minimum zoom: none is drawn.
      await page.evaluate(([lon, lat]) => window.__wanggeMap!.jumpTo({ center: [lon, lat], zoom: 14 }), [row.lon, row.lat]);
      await waitForMapIdle(page);
      expect(await page.evaluate(() => window.__wanggeMap!.queryRenderedFeatures({ layers: ['incidents-overdue-ring'] }).length)).toBe(0);
      await page.evaluate(([lon, lat]) => window.__wanggeMap!.jumpTo({ center: [lon, lat], zoom: 18 }), [row.lon, row.lat]);
      await waitForMapIdle(page);
      await expect.poll(() => rendered('incidents-overdue-ring')).toEqual([late.id, escalated.id].sort());
      // (The points under the rings come from the tiles, cached up to a minute by the browser and half
      // a minute by the server: after an earlier test loaded this area they may appear a little later.)
      await page.screenshot({ path: path.join(artifacts, 'overdue-flag.png') });

      // Hidden with the incidents in the layer switcher, back with them.
      await page.click('[data-testid="layer-toggle-incidents"]');
      await expect.poll(() => page.evaluate(() => Boolean(window.__wanggeMap!.getLayer('incidents-overdue-ring') || window.__wanggeMap!.getSource('incidents-overdue'))))
        .toBe(false);
      expect(await page.locator('[data-testid="legend-overdue"]').count()).toBe(0);
      await page.click('[data-testid="layer-toggle-incidents"]');
      await expect.poll(async () => late.id in (await overdueOnMap())).toBe(true);

      // A step taken elsewhere restarts the clock: the ring goes without a reload.
      const accepted = await env.app.inject({
        method: 'POST', url: `/api/incidents/${late.id}/transitions`, headers: { cookie: rivalCookie }, payload: { action: 'accept' },
      });
      expect(accepted.statusCode).toBe(200);
      await expect.poll(async () => late.id in (await overdueOnMap()), { timeout: 20_000 }).toBe(false);
      expect((await overdueOnMap())[escalated.id]).toBe(true);

      expect(errors).toEqual([]);
      expect(externalRequests(requests)).toEqual([]);
    } finally {
      await context.close();
    }
  }, 180_000);

  it('a commander starting a shift sees what was reported before the page opened: the feed opens with the last two hours, no alarm for old news', async () => {
    // Reported minutes "before the shift" (before the page opens): one normal, one urgent.
    const before = await report(reporterCookie, {
      category: 'sanitation', priority: 'normal', description: `交班前上报 ${Date.now()}`,
      location: { type: 'Point', coordinates: [gridA.lon + 0.0002, gridA.lat] },
    });
    const urgentBefore = await report(reporterCookie, {
      category: 'fire', priority: 'urgent', description: `交班前紧急 ${Date.now()}`,
      location: { type: 'Point', coordinates: [gridB.lon, gridB.lat + 0.0002] },
    });
    // One older than two hours stays out.
    const stale = await report(reporterCookie, {
      category: 'sanitation', priority: 'low', description: `三小时前 ${Date.now()}`,
      location: { type: 'Point', coordinates: [gridA.lon, gridA.lat + 0.0002] },
    });
    await env.database.pool.query(`UPDATE live_events SET created_at = now() - interval '3 hours' WHERE entity_id = $1`, [stale.id]);
    const context = await env.browser.newContext({ viewport: { width: 1920, height: 1080 }, locale: 'zh-CN' });
    try {
      const { page, errors } = await watchedPage(context);
      await page.goto(`${env.base}/`);
      await signIn(page, commander);
      await page.waitForSelector('[data-testid="incident-feed"]');
      const items = page.locator('[data-testid="feed-item"]');
      await expect.poll(() => items.count(), { timeout: 20_000 }).toBeGreaterThanOrEqual(2);
      expect(await page.locator('.feed__empty').count()).toBe(0);
      const shown = await items.evaluateAll((els) => els.map((e) => e.getAttribute('data-incident-id')));
      // Newest first, the two reports at the top; the one of three hours ago absent.
      expect(shown.slice(0, 2)).toEqual([urgentBefore.id, before.id]);
      expect(shown).not.toContain(stale.id);
      // The SQL truth: every incident event of the last two hours in the commander's area is there (at most 50).
      const { rows } = await env.database.pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM live_events WHERE type LIKE 'incident.%' AND created_at > now() - interval '2 hours'`);
      expect(shown.length).toBe(Math.min(rows[0].n, 50));
      // Old news raises no alarm and is dated by when it happened.
      expect(await page.locator('[data-testid="alarm-banner"]').count()).toBe(0);
      expect(await items.first().locator('.feed__time').textContent()).toMatch(/秒前|分钟前/);
      await page.screenshot({ path: path.join(artifacts, 'feed-opening-history.png') });
      // Then it continues live.
      const after = await report(reporterCookie, {
        category: 'sanitation', priority: 'normal', description: `交班后上报 ${Date.now()}`,
        location: { type: 'Point', coordinates: [gridA.lon + 0.0003, gridA.lat] },
      });
      await expect.poll(() => items.first().getAttribute('data-incident-id'), { timeout: 20_000 }).toBe(after.id);
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  }, 90_000);

  it('works on a phone: the incident panel and the drawer are bottom sheets', async () => {
    const context = await env.browser.newContext({
      viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, locale: 'zh-CN',
    });
    try {
      const { page, requests, errors } = await watchedPage(context);
      await page.goto(`${env.base}/?e2e=1`);
      await signIn(page, commander);
      await page.waitForSelector('[data-testid="live-state"][data-state="open"]', { timeout: 30_000 });
      await waitForMapIdle(page);
      // Folded away at first, so that the map is visible.
      expect(await page.locator('[data-testid="incidents-panel"]').count()).toBe(0);
      const created = await report(reporterCookie, {
        category: 'dispute', priority: 'high', description: `邻里噪音纠纷 ${Date.now()}`,
        location: { type: 'Point', coordinates: [gridB.lon, gridB.lat] },
      });
      await page.waitForSelector('[data-testid="incidents-panel-toggle"] .badge', { timeout: 30_000 });
      await page.click('[data-testid="incidents-panel-toggle"]');
      const sheet = await page.locator('[data-testid="incidents-panel"]').boundingBox();
      expect(sheet!.width).toBeGreaterThan(380);
      expect(Math.round(sheet!.y + sheet!.height)).toBeGreaterThanOrEqual(843);
      const item = page.locator(`[data-testid="feed-item"][data-incident-id="${created.id}"]`);
      await item.waitFor();
      await page.screenshot({ path: path.join(artifacts, 'command-centre-phone.png') });
      await item.locator('button').tap();
      await page.waitForSelector(`[data-testid="incident-details"][data-incident-id="${created.id}"]`);
      const drawer = await page.locator('[data-testid="side-panel"]').boundingBox();
      expect(drawer!.width).toBeGreaterThan(380);
      expect(Math.round(drawer!.y + drawer!.height)).toBeGreaterThanOrEqual(843);
      await waitForMapIdle(page);
      await page.screenshot({ path: path.join(artifacts, 'command-centre-phone-drawer.png') });
      expect(errors).toEqual([]);
      expect(externalRequests(requests)).toEqual([]);
    } finally {
      await context.close();
    }
  }, 180_000);
});
