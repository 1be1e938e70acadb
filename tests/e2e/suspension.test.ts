/**
 * 挂起, 延期 and 评价 in the browser (issue 12). A commander suspends an incident from its drawer with the
 * reason; the clocks stand still — resume is the only action — and when it is resumed the overall
 * deadline shown has moved by exactly the time it was suspended. A department's staff asks for more
 * time on a phone; the commander grants fewer minutes than asked, and the deadline moves by exactly
 * those. The grid worker of the incident's grid rates it on a phone once it is closed; the
 * commander sees the rating in the drawer.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { generate } from '@wangge/geo-data';
import { addUser, signIn as apiSignIn } from '../support/auth.js';
import type { Page } from 'playwright-core';
import { artifacts, e2eEnvironment, REQUIRED, signIn, UNAVAILABLE, watchedPage, type Account } from './harness.js';
import zhCN from '../../web/src/i18n/messages/zh-CN.js';
import { formatDateTime } from '../../web/src/i18n/format.js';

/** Signs the commander in on the command map and opens the incident's drawer from the list (found by its text). */
async function openDrawer(page: Page, base: string, commander: Account, id: string, text: string): Promise<void> {
  await page.goto(`${base}/?e2e=1`);
  await signIn(page, commander);
  await page.click('[data-testid="tab-list"]');
  await page.fill('[data-testid="filter-q"]', text);
  await page.locator(`[data-testid="incident-row"][data-incident-id="${id}"] button`).click();
  await page.waitForSelector(`[data-testid="incident-details"][data-incident-id="${id}"]`);
}

describe.skipIf(Boolean(UNAVAILABLE) && !REQUIRED)('挂起, 延期 and 评价 in Chromium', () => {
  let district: string;
  let grid: string;
  let point: { lon: number; lat: number };
  const env = e2eEnvironment(async (database) => {
    await generate(database.pool, { preset: 'tiny', seed: 1 });
    district = (await database.pool.query<{ code: string }>(`SELECT code FROM areas WHERE level = 'district' ORDER BY code LIMIT 1`)).rows[0].code;
    grid = (await database.pool.query<{ code: string }>('SELECT code FROM grids ORDER BY code LIMIT 1')).rows[0].code;
    point = (await database.pool.query<{ lon: number; lat: number }>(
      `SELECT ST_X(p) AS lon, ST_Y(p) AS lat FROM (SELECT ST_PointOnSurface(geom) AS p FROM grids ORDER BY code LIMIT 1) t`)).rows[0];
  });

  /** Reports an incident at the first grid as the commander (its cookie); its id. */
  async function reportAs(cookie: string, category: string, text: string): Promise<string> {
    const reported = await env.app.inject({
      method: 'POST', url: '/api/incidents', headers: { cookie },
      payload: { category, description: text, location: { type: 'Point', coordinates: [point.lon, point.lat] } },
    });
    expect(reported.statusCode, reported.body).toBe(201);
    return reported.json().id as string;
  }
  const dueAtOf = async (id: string) => (await env.database.pool.query<{ due: Date }>('SELECT due_at AS due FROM incidents WHERE id = $1', [id])).rows[0].due;

  it('a suspension stops the clocks: only resume meanwhile, and the deadline moves by exactly the time suspended', async () => {
    const commander = await addUser(env.database.pool, 'commander', district);
    const cookie = await apiSignIn(env.app, commander.username, commander.password);
    const text = `等待物业 ${Date.now()}`;
    const id = await reportAs(cookie, 'public_facility', text);
    const dueAt = () => dueAtOf(id);
    const before = await dueAt();

    const context = await env.browser.newContext({ viewport: { width: 1920, height: 1080 }, locale: 'zh-CN' });
    try {
      const { page, errors } = await watchedPage(context);
      await openDrawer(page, env.base, commander, id, text);
      expect(await page.textContent('[data-testid="incident-clock-deadline"] dd')).toContain(formatDateTime(before));

      // Suspended with the reason (the dialog asks for it).
      await page.click('[data-testid="action-suspend"]');
      await page.waitForSelector('[data-testid="action-dialog"]');
      await page.fill('[data-testid="action-note"]', '等待物业提供维修记录');
      await page.click('[data-testid="action-confirm"]');
      await page.waitForSelector('[data-testid="incident-suspended"]');
      const actions = () => page.locator('[data-testid="incident-actions"] [data-action]').evaluateAll((els) => els.map((e) => e.getAttribute('data-action')));
      await expect.poll(actions).toEqual(['resume']);
      expect(await page.textContent('[data-testid="incident-suspended"]')).toContain('挂起中');
      await page.screenshot({ path: path.join(artifacts, 'incident-suspended.png') });

      // Two hours pass while suspended (written into the past), then it is resumed.
      await env.database.pool.query(`UPDATE incidents SET suspended_since = suspended_since - interval '2 hours' WHERE id = $1`, [id]);
      await page.click('[data-testid="action-resume"]');
      await page.waitForSelector('[data-testid="incident-suspended"]', { state: 'detached' });
      await expect.poll(actions).toEqual(['accept', 'close', 'suspend', 'request_extension']);
      const after = await dueAt();
      const { rows: [step] } = await env.database.pool.query<{ since: Date; at: Date }>(
        `SELECT (SELECT at FROM incident_transitions WHERE incident_id = $1 AND action = 'suspend') AS since,
                (SELECT at FROM incident_transitions WHERE incident_id = $1 AND action = 'resume') AS at`, [id]);
      // The deadline moved by the time suspended: two hours and the moments the test took, to the second.
      const suspendedMs = step.at.getTime() - step.since.getTime() + 2 * 3_600_000;
      expect(Math.abs(after.getTime() - before.getTime() - suspendedMs)).toBeLessThan(1_000);
      await expect.poll(() => page.textContent('[data-testid="incident-clock-deadline"] dd')).toContain(formatDateTime(after));
      expect(await page.textContent('[data-testid="incident-clock-deadline"] dt')).toBe(zhCN.clock.deadline);
      const timeline = await page.locator('[data-testid="timeline-entry"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-action')));
      expect(timeline.slice(0, 2)).toEqual(['resume', 'suspend']);
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('延期: a department asks on a phone, the commander grants fewer minutes, the deadline moves by exactly those', async () => {
    const commander = await addUser(env.database.pool, 'commander', district);
    const staff = await addUser(env.database.pool, 'department', district, { department: 'housing' });
    const cookie = await apiSignIn(env.app, commander.username, commander.password);
    const text = `外墙渗水 ${Date.now()}`;
    const id = await reportAs(cookie, 'safety_hazard', text);
    expect((await env.app.inject({ method: 'POST', url: `/api/incidents/${id}/dispatch`, headers: { cookie }, payload: { departmentCode: 'housing' } })).statusCode).toBe(200);
    const dueAt = () => dueAtOf(id);
    const before = await dueAt();

    const phone = await env.browser.newContext({ viewport: { width: 360, height: 740 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, locale: 'zh-CN' });
    try {
      const { page, errors } = await watchedPage(phone);
      await page.goto(`${env.base}/department`);
      await signIn(page, staff);
      await page.click(`[data-testid="assignment"][data-id="${id}"]`);
      await page.waitForSelector('[data-testid="incident-sheet"][data-status="dispatched"]');
      await page.click('[data-testid="action-request_extension"]');
      await page.fill('[data-testid="request_extension-minutes"]', '240');
      await page.fill('[data-testid="request_extension-note"]', '需等待业主配合进场');
      await page.click('[data-testid="request_extension-confirm"]');
      await expect.poll(async () => (await env.database.pool.query('SELECT extension_pending_minutes AS m FROM incidents WHERE id = $1', [id])).rows[0].m).toBe(240);
      // The sheet says what is pending.
      await expect.poll(() => page.textContent('[data-testid="sheet-extension-pending"]')).toContain('240');
      await page.screenshot({ path: path.join(artifacts, 'extension-asked-phone.png') });
      expect(errors).toEqual([]);
    } finally {
      await phone.close();
    }

    const desk = await env.browser.newContext({ viewport: { width: 1920, height: 1080 }, locale: 'zh-CN' });
    try {
      const { page, errors } = await watchedPage(desk);
      await openDrawer(page, env.base, commander, id, text);
      await page.waitForSelector('[data-testid="incident-extension-pending"]');
      expect(await page.textContent('[data-testid="incident-extension-pending"]')).toContain('240');
      await page.click('[data-testid="action-approve_extension"]');
      await page.waitForSelector('[data-testid="action-dialog"]');
      // The dialog offers the minutes asked for; the commander grants three hours.
      expect(await page.inputValue('[data-testid="action-minutes"]')).toBe('240');
      await page.fill('[data-testid="action-minutes"]', '180');
      await page.click('[data-testid="action-confirm"]');
      await page.waitForSelector('[data-testid="incident-extension-pending"]', { state: 'detached' });
      const after = await dueAt();
      expect(after.getTime() - before.getTime()).toBe(180 * 60_000);
      await expect.poll(() => page.textContent('[data-testid="incident-clock-deadline"] dd')).toContain(formatDateTime(after));
      expect(await page.textContent('[data-testid="incident-extended"]')).toContain('180');
      await page.screenshot({ path: path.join(artifacts, 'extension-granted.png') });
      expect(errors).toEqual([]);
    } finally {
      await desk.close();
    }
  });

  it('评价: the grid worker of the grid rates a closed incident on a phone; the commander sees the rating', async () => {
    const commander = await addUser(env.database.pool, 'commander', district);
    const worker = await addUser(env.database.pool, 'grid_worker', grid);
    const cookie = await apiSignIn(env.app, commander.username, commander.password);
    const text = `楼道堆物 ${Date.now()}`;
    const id = await reportAs(cookie, 'sanitation', text);
    // Handled by the housing department and closed (the command centre records the steps).
    for (const payload of [{ action: 'dispatch', departmentCode: 'housing' }, { action: 'start' }, { action: 'resolve' }, { action: 'verify' }, { action: 'close' }]) {
      const res = await env.app.inject({ method: 'POST', url: `/api/incidents/${id}/transitions`, headers: { cookie }, payload });
      expect(res.statusCode, res.body).toBe(200);
    }

    const phone = await env.browser.newContext({ viewport: { width: 360, height: 740 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, locale: 'zh-CN' });
    try {
      const { page, errors } = await watchedPage(phone);
      await page.goto(`${env.base}/field`);
      await signIn(page, worker);
      // Listed under 待评价 with the other closed incidents of the grid waiting for a rating.
      await page.click(`[data-testid="to-rate-list"] [data-testid="assignment"][data-id="${id}"]`);
      await page.waitForSelector('[data-testid="incident-sheet"][data-status="closed"]');
      await page.click('[data-testid="action-rate"]');
      // No score yet: the sheet asks for one and sends nothing.
      await page.click('[data-testid="rate-confirm"]');
      await page.waitForSelector('[data-testid="sheet-error"]');
      await page.click('[data-testid="rate-score-4"]');
      await page.fill('[data-testid="rate-note"]', '处理及时，楼道已清理干净');
      await page.screenshot({ path: path.join(artifacts, 'rating-phone.png') });
      await page.click('[data-testid="rate-confirm"]');
      await page.waitForSelector('[data-testid="sheet-notice"]');
      const { rows } = await env.database.pool.query('SELECT score, comment, department_code FROM incident_ratings WHERE incident_id = $1', [id]);
      expect(rows).toEqual([{ score: 4, comment: '处理及时，楼道已清理干净', department_code: 'housing' }]);
      // Rated: no second rating offered, and it leaves the list.
      expect(await page.locator('[data-testid="action-rate"]').count()).toBe(0);
      await page.click('[data-testid="sheet-close"]');
      await page.waitForSelector(`[data-testid="to-rate-list"] [data-id="${id}"]`, { state: 'detached' });
      expect(errors).toEqual([]);
    } finally {
      await phone.close();
    }

    const desk = await env.browser.newContext({ viewport: { width: 1920, height: 1080 }, locale: 'zh-CN' });
    try {
      const { page, errors } = await watchedPage(desk);
      // The list's status filter left as it is: closed incidents are found by their text.
      await openDrawer(page, env.base, commander, id, text);
      await page.waitForSelector(`[data-testid="incident-rating"][data-score="4"]`);
      expect(await page.textContent('[data-testid="incident-ratings"]')).toContain('处理及时，楼道已清理干净');
      expect(await page.textContent('[data-testid="incident-rated"]')).toContain('4');
      // The commander may not rate this closure again.
      expect(await page.locator('[data-testid="action-rate"]').count()).toBe(0);
      await page.screenshot({ path: path.join(artifacts, 'rating-drawer.png') });
      expect(errors).toEqual([]);
    } finally {
      await desk.close();
    }
  });
});
