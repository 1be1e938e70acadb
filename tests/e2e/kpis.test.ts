/**
 * 部门考评 in the browser (issue 12): a commander opens the department ranking, sees a department's
 * figures and score with the formula, opens the incidents behind a figure and from there the
 * incident on the command map, and exports the table as CSV and Excel.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { generate } from '@wangge/geo-data';
import { addUser, signIn as apiSignIn } from '../support/auth.js';
import { artifacts, e2eEnvironment, REQUIRED, signIn, UNAVAILABLE, watchedPage } from './harness.js';
import zhCN from '../../web/src/i18n/messages/zh-CN.js';

describe.skipIf(Boolean(UNAVAILABLE) && !REQUIRED)('department scores in Chromium', () => {
  let district: string;
  let point: { lon: number; lat: number };
  const env = e2eEnvironment(async (database) => {
    await generate(database.pool, { preset: 'tiny', seed: 1 });
    district = (await database.pool.query<{ code: string }>(`SELECT code FROM areas WHERE level = 'district' ORDER BY code LIMIT 1`)).rows[0].code;
    point = (await database.pool.query<{ lon: number; lat: number }>(
      `SELECT ST_X(p) AS lon, ST_Y(p) AS lat FROM (SELECT ST_PointOnSurface(geom) AS p FROM grids ORDER BY code LIMIT 1) t`)).rows[0];
  });

  it('the ranking with its formula, the incidents behind a figure, and the exports', async () => {
    const commander = await addUser(env.database.pool, 'commander', district);
    const cookie = await apiSignIn(env.app, commander.username, commander.password);
    const text = `考评 ${Date.now()}`;
    const reported = await env.app.inject({
      method: 'POST', url: '/api/incidents', headers: { cookie },
      payload: { category: 'public_facility', description: text, location: { type: 'Point', coordinates: [point.lon, point.lat] } },
    });
    const id = reported.json().id as string;
    for (const payload of [
      { action: 'dispatch', departmentCode: 'housing' }, { action: 'start' }, { action: 'resolve' }, { action: 'verify' }, { action: 'close' }, { action: 'rate', score: 5 },
    ]) {
      const res = await env.app.inject({ method: 'POST', url: `/api/incidents/${id}/transitions`, headers: { cookie }, payload });
      expect(res.statusCode, res.body).toBe(200);
    }
    const api = (await env.app.inject({ method: 'GET', url: '/api/kpis/departments', headers: { cookie } })).json();
    const housing = api.rows.find((r: { departmentCode: string }) => r.departmentCode === 'housing');

    const context = await env.browser.newContext({ viewport: { width: 1920, height: 1080 }, locale: 'zh-CN', acceptDownloads: true });
    try {
      const { page, errors } = await watchedPage(context);
      await page.goto(`${env.base}/kpis`);
      await signIn(page, commander);
      await page.waitForSelector('[data-testid="kpi-table"] [data-testid="kpi-row"][data-code="housing"]');
      // Best score first: the department with the rated, handled task leads the ranking.
      const first = await page.locator('[data-testid="kpi-row"]').first().getAttribute('data-code');
      expect(first).toBe(api.rows[0].departmentCode);
      expect(await page.locator('[data-testid="kpi-score"]').first().textContent()).toBe(String(api.rows[0].score));
      // The formula the server answers, in the UI's language.
      expect(await page.textContent('[data-testid="kpi-formula"]')).toBe(api.formula.split('｜')[0]);
      expect(await page.textContent('.el-table__header')).toContain(zhCN.kpi.figures.onTime);
      await page.screenshot({ path: path.join(artifacts, 'kpi-ranking.png') });

      // The exports: what the API answers, as files.
      for (const [testid, ext] of [['kpi-export-csv', 'csv'], ['kpi-export-xlsx', 'xlsx']] as const) {
        const [download] = await Promise.all([page.waitForEvent('download'), page.click(`[data-testid="${testid}"]`)]);
        expect(download.suggestedFilename()).toMatch(new RegExp(`^department-scores-.*\\.${ext}$`));
        const file = path.join(artifacts, `kpi-export.${ext}`);
        await download.saveAs(file);
        const bytes = fs.readFileSync(file);
        if (ext === 'csv') expect(bytes.toString('utf8')).toContain(`housing,${housing.name},${housing.received},`);
        else expect(bytes.subarray(0, 2).toString()).toBe('PK');
      }

      // The incidents behind the tasks figure.
      const row = page.locator('.el-table__row', { has: page.locator('[data-code="housing"]') });
      expect(await row.locator('[data-testid="kpi-received"]').textContent()).toBe(String(housing.received));
      await row.locator('[data-testid="kpi-received"]').click();
      await page.waitForSelector(`[data-testid="kpi-incident"][data-id="${id}"]`);
      await page.screenshot({ path: path.join(artifacts, 'kpi-incidents.png') });

      // From the list to the incident on the command map.
      await page.click(`[data-testid="kpi-incident"][data-id="${id}"]`);
      await page.waitForSelector(`[data-testid="incident-details"][data-incident-id="${id}"]`);
      expect(await page.textContent('[data-testid="incident-description"]')).toBe(text);
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
