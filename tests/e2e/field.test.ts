import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { addUser, signIn as apiSignIn } from '../support/auth.js';
import { artifacts, e2eEnvironment, REQUIRED, signIn, UNAVAILABLE, watchedPage, type Account } from './harness.js';
import { generate } from '@wangge/geo-data';

const PHONE = { viewport: { width: 360, height: 740 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, locale: 'zh-CN' };

/** Failures this file causes on purpose: requests while the context is offline, a report outside every grid. */
const provoked = (url: string, text: string) =>
  text.includes('ERR_INTERNET_DISCONNECTED') || text.includes('ERR_FAILED')
  || (new URL(url).pathname === '/api/incidents' && text.includes('422'));

/** A point `north` metres north of `p`. */
const north = (p: { lon: number; lat: number }, metres: number) => ({ lon: p.lon, lat: p.lat + metres / 111_195 });

describe.skipIf(Boolean(UNAVAILABLE) && !REQUIRED)('field views in Chromium (phone)', () => {
  let district: string;
  let gridCode: string;
  /** A point inside the worker's grid. */
  let inGrid: { lon: number; lat: number };
  let worker: Account & { id: string; responderId: string | null };
  let commanderCookie: string;

  const env = e2eEnvironment(async (database, serve) => {
    // The tiny generated district (not fillDashboardData: its data source row outlives the embedded
    // database's per-file TRUNCATE, so a second file calling it there fails).
    await generate(database.pool, { preset: 'tiny', seed: 1 });
    district = (await database.pool.query<{ code: string }>(`SELECT code FROM areas WHERE level = 'district' ORDER BY code LIMIT 1`)).rows[0].code;
    const g = await database.pool.query<{ code: string; lon: number; lat: number }>(
      `SELECT code, ST_X(p) AS lon, ST_Y(p) AS lat FROM (SELECT code, ST_PointOnSurface(geom) AS p FROM grids ORDER BY code OFFSET 1 LIMIT 1) t`,
    );
    inGrid = { lon: g.rows[0].lon, lat: g.rows[0].lat };
    gridCode = g.rows[0].code;
    worker = await addUser(database.pool, 'grid_worker', gridCode);
    const commander = await addUser(database.pool, 'commander', district);
    const app = await serve();
    commanderCookie = await apiSignIn(app, commander.username, commander.password);
  });

  async function phone(at: { lon: number; lat: number }): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
    const context = await env.browser.newContext({ ...PHONE, geolocation: { longitude: at.lon, latitude: at.lat, accuracy: 8 }, permissions: ['geolocation'] });
    const { page, errors } = await watchedPage(context, provoked);
    return { context, page, errors };
  }

  const positionsStored = async () =>
    (await env.database.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM responder_positions WHERE responder_id = $1`, [worker.responderId])).rows[0].n;
  const responderStatus = async () =>
    (await env.database.pool.query<{ status: string }>(`SELECT status FROM responders WHERE id = $1`, [worker.responderId])).rows[0].status;

  it('switches status and sends positions in batches while on duty: stored, a jump rejected and shown, nothing lost offline', async () => {
    const { context, page, errors } = await phone(inGrid);
    try {
      // A grid worker's phone opens on 我的任务, not the command map (issue 10 item 9).
      await page.goto(`${env.base}/`);
      await signIn(page, worker);
      await page.waitForSelector('[data-testid="field-view"]');
      expect(new URL(page.url()).pathname).toBe('/field');
      // A new worker starts off duty: nothing is sent, and the task list says so with the word 上岗.
      await expect.poll(() => page.textContent('[data-testid="my-status"]'), { timeout: 15_000 }).toContain('离岗');
      await page.waitForSelector('[data-testid="duty-card"]');
      expect(await page.textContent('[data-testid="go-on-duty"]')).toContain('上岗');
      await page.screenshot({ path: path.join(artifacts, 'field-off-duty.png') });
      expect(await page.getAttribute('[data-testid="position-state"]', 'data-state')).toBe('off');
      expect(await positionsStored()).toBe(0);

      /** Moves the phone, waits until the app has buffered the fix, and asks it to send now. */
      const moveTo = async (p: { lon: number; lat: number }) => {
        const before = Number(await page.getAttribute('[data-testid="position-panel"]', 'data-fixes'));
        await context.setGeolocation({ ...toGeo(p), accuracy: 8 });
        await expect.poll(async () => Number(await page.getAttribute('[data-testid="position-panel"]', 'data-fixes')), { timeout: 15_000 }).toBe(before + 1);
        // Disabled when the timer has just sent it: then the click does nothing.
        await page.click('[data-testid="position-send-now"]', { force: true });
      };

      // On duty (上岗, from the task list): the first fix goes at once.
      await page.click('[data-testid="go-on-duty"]');
      await expect.poll(responderStatus, { timeout: 15_000 }).toBe('available');
      await page.waitForSelector('[data-testid="duty-card"]', { state: 'detached' });
      await page.click('[data-testid="tab-me"]');
      expect(await page.textContent('[data-testid="duty-state"]')).toContain('在岗');
      await expect.poll(positionsStored, { timeout: 20_000 }).toBe(1);
      await expect.poll(() => page.textContent('[data-testid="position-last-sent"]'), { timeout: 15_000 }).not.toBe('—');
      const first = (await env.database.pool.query<{ lon: number; lat: number }>(
        `SELECT ST_X(position) AS lon, ST_Y(position) AS lat FROM responder_positions WHERE responder_id = $1`, [worker.responderId],
      )).rows[0];
      expect(first.lon).toBeCloseTo(inGrid.lon, 6);
      expect(first.lat).toBeCloseTo(inGrid.lat, 6);

      // Walking 15 m: the next batch (sent with "send now" rather than after the 15 s timer; the
      // timer may also have sent it: either way the server has it). The pauses keep the track
      // physically possible (the server rejects points implying > 150 km/h).
      await page.waitForTimeout(1200);
      await moveTo(north(inGrid, 15));
      await expect.poll(positionsStored, { timeout: 15_000 }).toBe(2);

      // A 40 km jump is an impossible speed: rejected by the server, shown, not stored.
      await moveTo({ lon: inGrid.lon + 0.45, lat: inGrid.lat });
      await page.waitForSelector('[data-testid="position-rejected"] li[data-code="IMPOSSIBLE_SPEED"]');
      expect(await positionsStored()).toBe(2);

      // Offline: the fix waits on the phone (also across a failed send) and goes when the network is back.
      await context.setOffline(true);
      await page.waitForTimeout(1200);
      await moveTo(north(inGrid, 30));
      await page.waitForSelector('[data-testid="position-error"]');
      expect(await page.getAttribute('[data-testid="position-pending"]', 'data-count')).toBe('1');
      expect(await page.evaluate((id) => JSON.parse(localStorage.getItem(`wangge.positions.${id}`) ?? '[]').length, worker.responderId)).toBe(1);
      expect(await positionsStored()).toBe(2);
      await context.setOffline(false);
      await expect.poll(positionsStored, { timeout: 30_000 }).toBe(3);
      await expect.poll(() => page.getAttribute('[data-testid="position-pending"]', 'data-count'), { timeout: 15_000 }).toBe('0');
      const track = (await env.database.pool.query<{ lat: number }>(
        `SELECT ST_Y(position) AS lat FROM responder_positions WHERE responder_id = $1 ORDER BY recorded_at`, [worker.responderId],
      )).rows.map((r) => r.lat);
      expect(track[1]).toBeCloseTo(north(inGrid, 15).lat, 6);
      expect(track[2]).toBeCloseTo(north(inGrid, 30).lat, 6);

      // Busy, then off duty: the server has each, and reporting stops.
      await page.click('[data-testid="status-busy"]');
      await expect.poll(responderStatus, { timeout: 15_000 }).toBe('busy');
      await page.click('[data-testid="go-off-duty"]');
      await expect.poll(responderStatus, { timeout: 15_000 }).toBe('off_duty');
      await page.waitForSelector('[data-testid="go-on-duty-me"]');
      await expect.poll(() => page.getAttribute('[data-testid="position-state"]', 'data-state'), { timeout: 15_000 }).toBe('off');
      // The same view on a desktop screen.
      await page.setViewportSize({ width: 1280, height: 800 });
      await page.screenshot({ path: path.join(artifacts, 'field-desktop.png') });
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('reports: outside every grid explained; a lost answer and an offline submit resent with the same Idempotency-Key (one incident each); duplicates linked; near-border flagged with the neighbour', async () => {
    const { context, page, errors } = await phone(inGrid);
    // Off duty (whatever the test before left): the device's position is read only on request here.
    await env.database.pool.query(`UPDATE responders SET status = 'off_duty' WHERE id = $1`, [worker.responderId]);
    const countWith = async (description: string) =>
      (await env.database.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM incidents WHERE description = $1`, [description])).rows[0].n;
    try {
      await page.goto(`${env.base}/field`);
      await signIn(page, worker);
      await page.waitForSelector('[data-testid="field-view"]');
      await page.click('[data-testid="tab-report"]');
      await page.waitForSelector('[data-testid="report-form"]');
      await page.waitForSelector('[data-testid="report-category"] option[value="sanitation"]', { state: 'attached' });

      // Missing fields are named before anything is sent.
      await page.click('[data-testid="report-submit"]');
      expect(await page.locator('.field__error').count()).toBeGreaterThanOrEqual(3);

      // A point outside every grid: the server's code, in words.
      await context.setGeolocation({ longitude: inGrid.lon + 2, latitude: inGrid.lat + 2, accuracy: 10 });
      await page.selectOption('[data-testid="report-category"]', 'sanitation');
      await page.fill('[data-testid="report-description"]', '垃圾桶满溢（网格外）');
      await page.click('[data-testid="report-use-location"]');
      await expect.poll(() => page.textContent('[data-testid="report-coordinates"]'), { timeout: 15_000 }).toContain((inGrid.lat + 2).toFixed(6));
      await page.click('[data-testid="report-submit"]');
      await page.waitForSelector('[data-testid="report-error"][data-code="OUTSIDE_ALL_GRIDS"]');
      expect(await page.textContent('[data-testid="report-error"]')).toContain('不在任何网格内');
      expect(await countWith('垃圾桶满溢（网格外）')).toBe(0);

      // The answer is lost on the way back (the server did create it): the report is queued and,
      // once the phone is online again, resent with the same key; the server answers the first result.
      const keys: string[] = [];
      let loseNext = true;
      await page.route('**/api/incidents', async (route) => {
        if (route.request().method() !== 'POST') return route.fallback();
        keys.push((await route.request().headerValue('idempotency-key')) ?? '');
        if (!loseNext) return route.fallback();
        loseNext = false;
        await route.fetch();
        await context.setOffline(true);
        await route.abort('internetdisconnected');
      });
      const lost = `垃圾桶满溢 ${Date.now()}`;
      await context.setGeolocation({ longitude: inGrid.lon, latitude: inGrid.lat, accuracy: 10 });
      await page.fill('[data-testid="report-description"]', lost);
      await page.click('[data-testid="report-use-location"]');
      await expect.poll(() => page.textContent('[data-testid="report-coordinates"]'), { timeout: 15_000 }).toContain(inGrid.lat.toFixed(6));
      await page.click('[data-testid="report-submit"]');
      await page.waitForSelector('[data-testid="report-queued"]');
      await page.waitForSelector('[data-testid="report-queue"][data-count="1"]');
      expect(await countWith(lost)).toBe(1);
      await context.setOffline(false);
      await page.waitForSelector('[data-testid="report-queue"]', { state: 'detached', timeout: 40_000 });
      expect(keys).toHaveLength(2);
      expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
      expect(keys[1]).toBe(keys[0]);
      expect(await countWith(lost)).toBe(1);

      // Fully offline when submitting: nothing reaches the server until the network is back.
      await page.click('[data-testid="report-queued"] button');
      await page.waitForSelector('[data-testid="report-description"]');
      const offline = `井盖缺失 ${Date.now()}`;
      await page.selectOption('[data-testid="report-category"]', 'public_facility');
      await page.fill('[data-testid="report-description"]', offline);
      await page.click('[data-testid="report-use-location"]');
      await expect.poll(() => page.textContent('[data-testid="report-coordinates"]'), { timeout: 15_000 }).toContain(inGrid.lat.toFixed(6));
      await context.setOffline(true);
      await page.click('[data-testid="report-submit"]');
      await page.waitForSelector('[data-testid="report-queued"]');
      expect(await countWith(offline)).toBe(0);
      await context.setOffline(false);
      await page.waitForSelector('[data-testid="report-queue"]', { state: 'detached', timeout: 40_000 });
      expect(await countWith(offline)).toBe(1);
      // The attempt while offline (refused by the browser) and the resend carry one key, a new one.
      expect(keys.length).toBeGreaterThanOrEqual(3);
      expect(new Set(keys.slice(2)).size).toBe(1);
      expect(keys[2]).not.toBe(keys[0]);
      // One key row per submission on the server.
      const stored = await env.database.pool.query<{ key: string }>(`SELECT key FROM idempotency_keys WHERE user_id = $1 ORDER BY created_at`, [worker.id]);
      expect(stored.rows.map((r) => r.key).sort()).toEqual([keys[0], keys[2]].sort());
      await page.unroute('**/api/incidents');

      // The same problem reported again at the same place: the answer links the possible duplicate.
      await page.click('[data-testid="report-queued"] button');
      await page.selectOption('[data-testid="report-category"]', 'public_facility');
      await page.fill('[data-testid="report-description"]', `井盖缺失（再次） ${Date.now()}`);
      await page.click('[data-testid="report-use-location"]');
      await expect.poll(() => page.textContent('[data-testid="report-coordinates"]'), { timeout: 15_000 }).toContain(inGrid.lat.toFixed(6));
      await page.click('[data-testid="report-submit"]');
      await page.waitForSelector('[data-testid="report-result"]');
      expect(await page.textContent('[data-testid="report-grid"]')).toContain(gridCode);
      expect(await page.locator('[data-testid="report-near-border"]').count()).toBe(0);
      await expect.poll(() => page.locator('[data-testid="report-duplicate"]').allTextContents(), { timeout: 15_000 }).toContain(offline);
      await page.click(`[data-testid="report-duplicate"]:has-text("${offline}")`);
      await expect.poll(() => page.textContent('[data-testid="sheet-description"]'), { timeout: 15_000 }).toBe(offline);
      await page.click('[data-testid="sheet-close"]');

      // A point 5 m inside the grid from its border with a neighbour: flagged, with the neighbour named.
      const near = (await env.database.pool.query<{ lon: number; lat: number; neighbour: string; inside: boolean; within: boolean }>(
        `WITH a AS (SELECT id, geom FROM grids WHERE code = $1),
              b AS (SELECT g.code, g.geom FROM grids g, a WHERE g.id <> a.id AND ST_Intersects(g.geom, a.geom)
                     AND ST_Length(ST_Intersection(ST_Boundary(g.geom), ST_Boundary(a.geom))::geography) > 40 ORDER BY g.code LIMIT 1),
              m AS (SELECT ST_LineInterpolatePoint(ST_LineMerge(ST_CollectionExtract(ST_Intersection(ST_Boundary(b.geom), ST_Boundary(a.geom)), 2)), 0.5) AS m
                      FROM a, b),
              p AS (SELECT ST_Project(m.m::geography, 5, ST_Azimuth(m.m, ST_ClosestPoint(a.geom, ST_Centroid(a.geom))))::geometry AS p FROM m, a)
         SELECT ST_X(p) AS lon, ST_Y(p) AS lat, b.code AS neighbour, ST_Contains(a.geom, p) AS inside,
                ST_DWithin(p::geography, b.geom::geography, 30) AS within
           FROM p, a, b`,
        [gridCode],
      )).rows[0];
      expect(near).toMatchObject({ inside: true, within: true });
      await page.click('[data-testid="report-again"]');
      await context.setGeolocation({ longitude: near.lon, latitude: near.lat, accuracy: 5 });
      await page.selectOption('[data-testid="report-category"]', 'dispute');
      await page.fill('[data-testid="report-description"]', '邻里噪音纠纷（网格交界处）');
      await page.click('[data-testid="report-use-location"]');
      await expect.poll(() => page.textContent('[data-testid="report-coordinates"]'), { timeout: 15_000 }).toContain(near.lat.toFixed(6));
      await page.click('[data-testid="report-submit"]');
      await page.waitForSelector('[data-testid="report-near-border"]');
      expect(await page.textContent('[data-testid="report-near-border"]')).toContain(near.neighbour);
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('the department queue lists only the incidents dispatched to that department, and its staff can start one and reject another with a reason', async () => {
    const housing = await addUser(env.database.pool, 'department', district, { department: 'housing' });
    const urban = await addUser(env.database.pool, 'department', district, { department: 'urban_management' });
    const report = async (description: string, departmentCode: string) => {
      const created = await env.app.inject({
        method: 'POST', url: '/api/incidents', headers: { cookie: commanderCookie },
        payload: { category: 'safety_hazard', priority: 'high', description, location: { type: 'Point', coordinates: [inGrid.lon, inGrid.lat] } },
      });
      expect(created.statusCode).toBe(201);
      const id = (created.json() as { id: string }).id;
      const dispatched = await env.app.inject({ method: 'POST', url: `/api/incidents/${id}/dispatch`, headers: { cookie: commanderCookie }, payload: { departmentCode } });
      expect(dispatched.statusCode).toBe(200);
      return id;
    };
    const housingIds = [await report('楼道堆物阻塞通道（房管）', 'housing'), await report('外墙脱落风险（房管）', 'housing')];
    const urbanId = await report('占道经营（城管）', 'urban_management');

    const context = await env.browser.newContext(PHONE);
    try {
      const { page, errors } = await watchedPage(context);
      await page.goto(`${env.base}/department`);
      await signIn(page, housing);
      await page.waitForSelector('[data-testid="department-view"]');
      await expect.poll(() => page.locator('[data-testid="active-list"] [data-testid="assignment"]').count(), { timeout: 15_000 }).toBe(2);
      // To do: the open ones (the generated history's closed department tasks are under 近期).
      const shown = await page.locator('[data-testid="active-list"] [data-testid="assignment"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-id')));
      expect([...shown].sort()).toEqual([...housingIds].sort());
      expect(shown).not.toContain(urbanId);
      // The SQL truth: exactly the incidents assigned to housing.
      const truth = await env.database.pool.query<{ id: string }>(`SELECT id::text FROM incidents WHERE assignee_department = 'housing' AND status <> 'closed'`);
      expect(truth.rows.map((r) => r.id).sort()).toEqual([...housingIds].sort());
      await page.screenshot({ path: path.join(artifacts, 'department-queue.png') });
      // English on switch.
      // The queue is named by the department's name, not its code (issue 10 item 8), in each language.
      expect(await page.textContent('[data-testid="department-title"]')).toBe('房管办 · 工单');
      await page.click('[data-testid="lang-switch"]');
      await expect.poll(() => page.textContent('[data-testid="department-title"]'), { timeout: 15_000 }).toBe('Housing office · queue');
      await page.screenshot({ path: path.join(artifacts, 'department-queue-en.png') });
      await page.click('[data-testid="lang-switch"]');
      await expect.poll(() => page.textContent('[data-testid="department-title"]'), { timeout: 15_000 }).toBe('房管办 · 工单');

      // Start one from the card.
      await page.click(`[data-testid="assignment"][data-id="${housingIds[0]}"]`);
      await page.waitForSelector('[data-testid="incident-sheet"][data-status="dispatched"]');
      await page.click('[data-testid="action-start"]');
      await page.waitForSelector('[data-testid="incident-sheet"][data-status="in_progress"]');
      const status = await env.database.pool.query<{ status: string }>(`SELECT status FROM incidents WHERE id = $1`, [housingIds[0]]);
      expect(status.rows[0].status).toBe('in_progress');
      await page.click('[data-testid="sheet-close"]');

      // Reject (退单) the other one: a reason is required, then it goes back to the command centre.
      await page.click(`[data-testid="assignment"][data-id="${housingIds[1]}"]`);
      await page.waitForSelector('[data-testid="incident-sheet"][data-status="dispatched"]');
      await page.click('[data-testid="action-reject"]');
      await page.click('[data-testid="reject-confirm"]');
      await page.waitForSelector('[data-testid="sheet-error"]');
      expect((await env.database.pool.query(`SELECT status FROM incidents WHERE id = $1`, [housingIds[1]])).rows[0].status).toBe('dispatched');
      await page.fill('[data-testid="reject-note"]', '不属于房管办职责，请改派城管');
      await page.click('[data-testid="reject-confirm"]');
      await page.waitForSelector('[data-testid="incident-sheet"][data-status="rejected"]');
      const rejected = await env.database.pool.query<{ status: string; note: string }>(
        `SELECT i.status, t.note FROM incidents i JOIN incident_transitions t ON t.incident_id = i.id AND t.action = 'reject' WHERE i.id = $1`, [housingIds[1]],
      );
      expect(rejected.rows).toEqual([{ status: 'rejected', note: '不属于房管办职责，请改派城管' }]);
      await page.click('[data-testid="sheet-close"]');

      // Reassigned away (改派) by the command centre: the queue says so at once, and the incident leaves it (issue 10 item 3).
      const moved = await report('窨井盖缺失（房管）', 'housing');
      await page.locator(`[data-testid="active-list"] [data-testid="assignment"][data-id="${moved}"]`).waitFor({ timeout: 15_000 });
      await page.locator('.field-notification').waitFor({ state: 'detached', timeout: 15_000 });
      const reassigned = await env.app.inject({
        method: 'POST', url: `/api/incidents/${moved}/dispatch`, headers: { cookie: commanderCookie },
        payload: { departmentCode: 'urban_management', reassign: true, note: '属城管职责' },
      });
      expect(reassigned.statusCode).toBe(200);
      await expect.poll(() => page.locator('.field-notification').textContent(), { timeout: 15_000 }).toContain('1 个任务已改派给他人');
      await expect.poll(() => page.locator(`[data-testid="assignment"][data-id="${moved}"]`).count(), { timeout: 15_000 }).toBe(0);

      expect(errors).toEqual([]);

      // The other department (its own phone) sees its own incident only.
      const other = await env.browser.newContext(PHONE);
      try {
        const o = await watchedPage(other);
        await o.page.goto(`${env.base}/department`);
        await signIn(o.page, urban);
        await expect.poll(() => o.page.locator('[data-testid="active-list"] [data-testid="assignment"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-id'))), { timeout: 15_000 }).toEqual([moved, urbanId]);
        expect(o.errors).toEqual([]);
      } finally {
        await other.close();
      }
    } finally {
      await context.close();
    }
  });
});

function toGeo(p: { lon: number; lat: number }) {
  return { longitude: p.lon, latitude: p.lat };
}
