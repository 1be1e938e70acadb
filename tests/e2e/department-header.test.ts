/**
 * The header's headline tiles on the views without a map (issue 10 item 8): opened directly — a
 * link, a reload — /department and /admin used to show "—" in every tile, because only the map view
 * loaded the counts. They show the figures of the signed-in user's area.
 */
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { generate } from '@wangge/geo-data';
import { addUser } from '../support/auth.js';
import { artifacts, e2eEnvironment, externalRequests, REQUIRED, signIn, UNAVAILABLE, watchedPage } from './harness.js';

const TILES = ['grids', 'buildings', 'incidents', 'responders'] as const;

/** Wide enough that the header shows its tiles beside the navigation (they hide below 1600 px). */
const DESKTOP = { viewport: { width: 1920, height: 1080 }, locale: 'zh-CN' };

/** What the API says the signed-in user's area holds: each tile's figure, formatted as the header does. */
async function expectedTiles(context: BrowserContext, base: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const id of TILES) {
    const res = await context.request.get(`${base}/api/collections/${id}/items?limit=1`);
    expect(res.status()).toBe(200);
    out[id] = new Intl.NumberFormat('zh-CN').format(((await res.json()) as { numberMatched: number }).numberMatched);
  }
  return out;
}

const shownTiles = (page: Page) =>
  page.evaluate((ids) => Object.fromEntries(ids.map((id) => [id, document.querySelector(`[data-testid="stat-${id}"] .stat__value`)?.textContent ?? null])), [...TILES]);

describe.skipIf(Boolean(UNAVAILABLE) && !REQUIRED)('header tiles on views opened directly, in Chromium', () => {
  let district: string;
  let community: string;
  const env = e2eEnvironment(async (database) => {
    await generate(database.pool, { preset: 'tiny', seed: 1 });
    district = (await database.pool.query<{ code: string }>(`SELECT code FROM areas WHERE level = 'district' ORDER BY code LIMIT 1`)).rows[0].code;
    community = (await database.pool.query<{ code: string }>(`SELECT code FROM areas WHERE level = 'community' ORDER BY code LIMIT 1`)).rows[0].code;
  });

  it('a department account opening /department directly sees the figures of its area, also after a reload', async () => {
    const staff = await addUser(env.database.pool, 'department', district, { department: 'housing' });
    const context = await env.browser.newContext(DESKTOP);
    try {
      const { page, errors, requests } = await watchedPage(context);
      await page.goto(`${env.base}/department`);
      await signIn(page, staff);
      expect(new URL(page.url()).pathname).toBe('/department');
      await page.waitForSelector('[data-testid="department-view"]');
      const expected = await expectedTiles(context, env.base);
      expect(Object.values(expected).some((v) => v !== '0')).toBe(true);
      for (const id of TILES) expect(await page.isVisible(`[data-testid="stat-${id}"]`), id).toBe(true);
      await expect.poll(() => shownTiles(page), { timeout: 15_000 }).toEqual(expected);

      // Opened again with the session it has (a reload, a bookmark): the same figures, never "—".
      await page.reload();
      await page.waitForSelector('[data-testid="department-view"]');
      await expect.poll(() => shownTiles(page), { timeout: 15_000 }).toEqual(expected);
      expect(Object.values(await shownTiles(page))).not.toContain('—');
      await page.screenshot({ path: path.join(artifacts, 'department-header.png') });

      // To the map and back: still this user's figures.
      await page.click('[data-testid="app-nav"] a[href="/"]');
      await expect.poll(() => shownTiles(page), { timeout: 15_000 }).toEqual(expected);
      await page.click('[data-testid="app-nav"] a[href="/department"]');
      await page.waitForSelector('[data-testid="department-view"]');
      expect(await shownTiles(page)).toEqual(expected);
      expect(errors).toEqual([]);
      expect(externalRequests(requests)).toEqual([]);
    } finally {
      await context.close();
    }
  }, 120_000);

  it('after signing out, the next user of the tab sees its own area, not the last user\'s figures', async () => {
    const wide = await addUser(env.database.pool, 'department', district);
    const narrow = await addUser(env.database.pool, 'admin', community);
    const context = await env.browser.newContext(DESKTOP);
    try {
      const { page, errors } = await watchedPage(context);
      await page.goto(`${env.base}/department`);
      await signIn(page, wide);
      const first = await expectedTiles(context, env.base);
      await expect.poll(() => shownTiles(page), { timeout: 15_000 }).toEqual(first);

      await page.click('[data-testid="user-menu"]');
      await page.click('[data-testid="user-logout"]');
      await page.waitForURL((u) => u.pathname === '/login');
      await page.goto(`${env.base}/admin`);
      await signIn(page, narrow);
      expect(new URL(page.url()).pathname).toBe('/admin');
      const second = await expectedTiles(context, env.base);
      expect(second.grids).not.toBe(first.grids);
      await expect.poll(() => shownTiles(page), { timeout: 15_000 }).toEqual(second);
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  }, 120_000);
});
