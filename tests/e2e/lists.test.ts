import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Role } from '../../server/src/auth/permissions.js';
import { addUser, signIn as apiSignIn } from '../support/auth.js';
import { artifacts, e2eEnvironment, REQUIRED, signIn, UNAVAILABLE, watchedPage } from './harness.js';
import { fillDashboardData } from './data.js';

/**
 * Issue 10 item 7: every role that has the map has the incident list of what it may see — the
 * same incidents the API lists for it — and read-only where it may not act.
 */
describe.skipIf(Boolean(UNAVAILABLE) && !REQUIRED)('incident lists for every role with the map, in Chromium', () => {
  let district: string;
  let grid: string;
  const env = e2eEnvironment(async (database) => {
    await fillDashboardData(database.pool);
    district = (await database.pool.query<{ code: string }>(`SELECT code FROM areas WHERE level = 'district' ORDER BY code LIMIT 1`)).rows[0].code;
    // The grid with the most open incidents: a grid worker there has a list to read.
    grid = (await database.pool.query<{ code: string }>(
      `SELECT g.code FROM grids g JOIN incidents i ON i.grid_id = g.id GROUP BY g.code ORDER BY count(*) DESC, g.code LIMIT 1`,
    )).rows[0].code;
  });

  it.each([
    ['viewer', 'district', false],
    ['planner', 'district', false],
    ['department', 'district', true],
    ['grid_worker', 'grid', true],
  ] as [Role, 'district' | 'grid', boolean][])('a %s sees the list of what it may see (%s), read-only unless it handles', async (role, where, handles) => {
    const account = await addUser(env.database.pool, role, where === 'district' ? district : grid);
    const cookie = await apiSignIn(env.app, account.username, account.password);
    const api = await env.app.inject({ url: '/api/incidents?limit=1', headers: { cookie } });
    expect(api.statusCode).toBe(200);
    const expected = api.json().numberMatched as number;
    expect(expected).toBeGreaterThan(0);
    const context = await env.browser.newContext({ viewport: { width: 1440, height: 900 }, locale: 'zh-CN' });
    try {
      const { page, errors } = await watchedPage(context);
      await page.goto(`${env.base}/`);
      await signIn(page, account);
      if (new URL(page.url()).pathname !== '/') await page.goto(`${env.base}/`);
      await page.waitForSelector('[data-testid="incident-feed"]', { timeout: 30_000 });
      await page.click('[data-testid="tab-list"]');
      await page.waitForSelector('[data-testid="incident-total"][data-loading="false"]');
      expect(Number(await page.getAttribute('[data-testid="incident-total"]', 'data-total'))).toBe(expected);
      // The counts over the map are theirs too; the alarm is the command centre's.
      await page.waitForSelector('[data-testid="live-bar"]');
      expect(await page.locator('[data-testid="alarm-banner"]').count()).toBe(0);
      expect(await page.locator('[data-testid="alarm-mute"]').count()).toBe(0);
      // A row opens the incident; viewers and planners get no action and no dispatch.
      await page.locator('[data-testid="incident-row"] button').first().click();
      await page.waitForSelector('[data-testid="incident-details"]');
      if (!handles) expect(await page.locator('[data-testid="incident-actions"]').count()).toBe(0);
      // Dispatch is the command centre's: no role here has the candidates.
      expect(await page.locator('[data-testid="candidates"]').count()).toBe(0);
      await page.screenshot({ path: path.join(artifacts, `list-${role}.png`) });
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  }, 90_000);
});
