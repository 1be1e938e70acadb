import path from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { addUser } from '../support/auth.js';
import { artifacts, e2eEnvironment, REQUIRED, signIn, UNAVAILABLE, watchedPage, type Account } from './harness.js';
import { generate } from '@wangge/geo-data';
import type {} from '../../web/src/map/testHook.js';

/** A rectangle in page pixels. */
interface Box { left: number; top: number; right: number; bottom: number }

/**
 * The part of the map no panel covers: the map's own box minus the layer panel (open: a column on
 * the left; folded: a button in the corner) and the counts bar on top.
 */
async function visiblePart(page: Page): Promise<Box> {
  return page.evaluate(() => {
    const map = window.__wanggeMap!.getContainer().getBoundingClientRect();
    const panel = document.querySelector('[data-testid="layer-panel"]')!.getBoundingClientRect();
    const bar = document.querySelector('[data-testid="live-bar"]')!.getBoundingClientRect();
    const open = document.querySelector('[data-testid="layer-panel"]')!.classList.contains('layer-panel--open');
    return {
      left: open ? panel.right : map.left,
      top: Math.max(bar.bottom, open ? map.top : panel.bottom),
      right: map.right,
      bottom: map.bottom,
    };
  });
}

/** Page coordinates of lon/lat points as the map draws them. */
function project(page: Page, points: [number, number][]): Promise<{ x: number; y: number }[]> {
  return page.evaluate((pts) => {
    const map = window.__wanggeMap!;
    const box = map.getContainer().getBoundingClientRect();
    return pts.map((p) => {
      const { x, y } = map.project(p);
      return { x: box.left + x, y: box.top + y };
    });
  }, points);
}

const inside = (b: Box) => (p: { x: number; y: number }) => p.x >= b.left - 1 && p.x <= b.right + 1 && p.y >= b.top - 1 && p.y <= b.bottom + 1;

/**
 * Issue 10 item 5: panels do not cover what the map frames. The map's padding follows the open
 * panels, so the district on a cold first load and a recommendation's routes are framed in the part
 * left visible; the layer panel is folded below 1440 px; grid labels and cluster counts are drawn
 * on a cold first load.
 */
describe.skipIf(Boolean(UNAVAILABLE) && !REQUIRED)('the map frames what matters beside its panels, in Chromium', () => {
  let commander: Account;
  let district: { code: string; bbox: [number, number, number, number] };
  const env = e2eEnvironment(async (database) => {
    // The demo district: large enough that its overview is drawn with clusters (below z15), as a wall screen shows it.
    await generate(database.pool, { preset: 'demo', seed: 1 });
    const d = (await database.pool.query<{ code: string; x1: number; y1: number; x2: number; y2: number }>(
      `SELECT code, ST_XMin(geom) AS x1, ST_YMin(geom) AS y1, ST_XMax(geom) AS x2, ST_YMax(geom) AS y2 FROM areas WHERE level = 'district' ORDER BY code LIMIT 1`,
    )).rows[0];
    district = { code: d.code, bbox: [d.x1, d.y1, d.x2, d.y2] };
    // The incident the routes test opens, found by its text.
    await database.pool.query(
      `INSERT INTO incidents (category, priority, status, location, description)
       SELECT 'sanitation', 'normal', 'reported', ST_PointOnSurface(geom), '地图测试：路线框选' FROM grids ORDER BY code LIMIT 1`,
    );
    // Responders on duty, with fresh positions: a recommendation has routes to frame.
    await database.pool.query(`UPDATE responders SET status = 'available', position_at = now() WHERE position IS NOT NULL`);
    commander = await addUser(database.pool, 'commander', district.code);
  });

  const corners = (b: [number, number, number, number]): [number, number][] => [[b[0], b[1]], [b[2], b[3]], [b[0], b[3]], [b[2], b[1]]];

  it.each([
    [1920, 1080, true],
    [1280, 800, false],
  ])('at %i×%i the district is framed beside the panels on a cold first load (layer panel open: %s), with grid labels and cluster counts', async (width, height, open) => {
    const context = await env.browser.newContext({ viewport: { width, height }, locale: 'zh-CN' });
    try {
      const { page, errors } = await watchedPage(context);
      await page.goto(`${env.base}/?e2e=1`);
      await signIn(page, commander);
      await page.waitForSelector('[data-testid="map"][data-map-idle="true"]', { timeout: 60_000 });
      expect(await page.locator('.layer-panel--open').count()).toBe(open ? 1 : 0);
      const visible = await visiblePart(page);
      const projected = await project(page, corners(district.bbox));
      expect(projected.every(inside(visible)), JSON.stringify({ visible, projected })).toBe(true);
      // The grids' names and the clusters' counts are drawn on the cold first load without any move of
      // the map (the names' points come by their own request, which may land just after the tiles' idle).
      const drawn = (ids: string[]) => page.evaluate((layers) => {
        const map = window.__wanggeMap!;
        return map.queryRenderedFeatures({ layers: layers.filter((id) => map.getLayer(id)) }).length;
      }, ids);
      await expect.poll(() => drawn(['grids-label']), { timeout: 10_000 }).toBeGreaterThan(0);
      await expect.poll(() => drawn(['incidents-cluster-count', 'incidents-urgent-cluster-count']), { timeout: 10_000 }).toBeGreaterThan(0);
      await page.screenshot({ path: path.join(artifacts, `map-frame-${width}.png`) });
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  }, 90_000);

  it('a recommendation\'s routes are framed in the visible part, beside the layer panel and the incident drawer', async () => {
    const { rows } = await env.database.pool.query<{ id: string }>(`SELECT id::text FROM incidents WHERE description = '地图测试：路线框选'`);
    const context = await env.browser.newContext({ viewport: { width: 1920, height: 1080 }, locale: 'zh-CN' });
    try {
      const { page, errors } = await watchedPage(context);
      await page.goto(`${env.base}/?e2e=1`);
      await signIn(page, commander);
      await page.waitForSelector('[data-testid="map"][data-map-idle="true"]', { timeout: 60_000 });
      await page.click('[data-testid="tab-list"]');
      await page.fill('[data-testid="filter-q"]', '地图测试：路线框选');
      await page.locator(`[data-testid="incident-row"][data-incident-id="${rows[0].id}"] button`).click();
      await page.waitForSelector(`[data-testid="incident-details"][data-incident-id="${rows[0].id}"]`);
      await page.click('[data-testid="recommend"]');
      await page.waitForSelector('[data-testid="candidate"]', { timeout: 30_000 });
      const answer = await (await context.request.get(`${env.base}/api/incidents/${rows[0].id}/candidates?k=5&routes=true`)).json() as {
        candidates: { route: { coordinates: [number, number][] } | null }[];
      };
      const points = answer.candidates.flatMap((c) => c.route?.coordinates ?? []);
      expect(points.length).toBeGreaterThan(0);
      // After the fit's animation.
      await page.waitForFunction(() => !window.__wanggeMap!.isMoving(), undefined, { timeout: 10_000 });
      await page.waitForTimeout(800);
      await page.waitForFunction(() => !window.__wanggeMap!.isMoving(), undefined, { timeout: 10_000 });
      const visible = await visiblePart(page);
      const projected = await project(page, points);
      const outside = projected.filter((p) => !inside(visible)(p));
      expect(outside, JSON.stringify({ visible, outside: outside.slice(0, 3) })).toEqual([]);
      await page.screenshot({ path: path.join(artifacts, 'map-frame-routes.png') });
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  }, 90_000);
});
