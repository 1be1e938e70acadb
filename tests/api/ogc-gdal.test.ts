import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { generate } from '@wangge/geo-data';
import { createTestDatabase, tempDir, usesExternalDatabase, type TestDatabase } from '../support/database.js';
import { addUser } from '../support/auth.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';
import { COLLECTION_IDS } from '../../server/src/modules/collections/collections.registry.js';
import { ITEMS_BUDGET } from '../../server/src/modules/collections/collections.budget.js';

/**
 * Standard clients against the real server process over HTTP, on the demo district (seed 1):
 * GDAL's OAPIF driver with its defaults (GDAL 3.6 pages with limit=10, following the next links)
 * exports every collection into a GeoPackage, which must hold what the database holds; a client
 * paging by next links is served to the end; a client hammering large reads gets 429 + Retry-After.
 */

const run = promisify(execFile);
/** With REQUIRE_E2E=1 a missing ogr2ogr is a failure, not a skip. */
const REQUIRED = process.env.REQUIRE_E2E === '1';
const OGR2OGR = (process.env.PATH ?? '').split(path.delimiter).map((d) => path.join(d, 'ogr2ogr')).find((p) => fs.existsSync(p));
const GDAL_UNAVAILABLE = OGR2OGR ? undefined : 'ogr2ogr not found on PATH (install gdal-bin)';
if (GDAL_UNAVAILABLE && !REQUIRED) console.warn(`[ogc-gdal] GDAL export skipped: ${GDAL_UNAVAILABLE}; set REQUIRE_E2E=1 to make this a failure`);

const TABLE_GEOM: Record<(typeof COLLECTION_IDS)[number], string> = {
  areas: 'geom', grids: 'geom', buildings: 'geom', roads: 'geom', responders: 'position', incidents: 'location',
};

let database: TestDatabase;
let server: ServerProcess;
let workDir: string;

/** A free loopback port, so that PUBLIC_URL (where the links point) can name it before the server starts. */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** The connection string the server process uses: the test database as the API's ordinary role. */
async function serverDatabaseUrl(): Promise<string> {
  if (!usesExternalDatabase) return inject('embeddedUrl');
  const { rows } = await database.pool.query<{ name: string }>('SELECT current_database() AS name');
  const url = new URL(process.env.TEST_DATABASE_URL!);
  url.pathname = `/${rows[0].name}`;
  url.username = 'wangge_test_app';
  url.password = '';
  return url.toString();
}

/** A new admin account signed in over HTTP: the Cookie header value. */
async function signedInCookie(): Promise<string> {
  const u = await addUser(database.pool, 'admin', '*');
  const res = await fetch(`${server.base}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: u.username, password: u.password }),
  });
  expect(res.status).toBe(200);
  return res.headers.getSetCookie()[0].split(';')[0];
}

beforeAll(async () => {
  database = await createTestDatabase();
  await generate(database.pool, { preset: 'demo', seed: 1 });
  workDir = tempDir('ogc-gdal');
  const port = await freePort();
  server = await startServerProcess(workDir, {
    DATABASE_URL: await serverDatabaseUrl(),
    PORT: String(port),
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    DEMO_SIMULATE: 'false',
  });
});

afterAll(async () => {
  await server?.stop();
  await database?.drop();
  if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
});

describe.skipIf(Boolean(GDAL_UNAVAILABLE) && !REQUIRED)('GDAL (OAPIF driver) exports the demo district', () => {
  it('ogr2ogr writes every collection into a GeoPackage holding what the database holds', { timeout: 110_000 }, async () => {
    if (GDAL_UNAVAILABLE) throw new Error(`REQUIRE_E2E=1 but ${GDAL_UNAVAILABLE}`);
    const cookie = await signedInCookie();
    const gpkg = path.join(workDir, 'out.gpkg');
    const t0 = performance.now();
    for (const [i, id] of COLLECTION_IDS.entries()) {
      // GDAL's defaults (page size, paging by next links); only the session cookie is given.
      const args = ['--config', 'GDAL_HTTP_COOKIE', cookie, '-f', 'GPKG', ...(i > 0 ? ['-update'] : []), gpkg, `OAPIF:${server.base}/api`, id];
      await run(OGR2OGR!, args, { timeout: 90_000, maxBuffer: 16 * 1024 * 1024 });
    }
    console.log(`[ogc-gdal] ogr2ogr exported ${COLLECTION_IDS.length} collections in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    for (const id of COLLECTION_IDS) {
      const { stdout } = await run(OGR2OGR!, ['-f', 'GeoJSON', '/vsistdout/', gpkg, id], { maxBuffer: 256 * 1024 * 1024 });
      const exported: { features: { properties: { id: string }; geometry: { type: string; coordinates: unknown } | null }[] } = JSON.parse(stdout);
      const { rows } = await database.pool.query<{ id: string; geometry: string | null }>(
        `SELECT id::text AS id, ST_AsGeoJSON(${TABLE_GEOM[id]}, 15) AS geometry FROM ${id} ORDER BY id`,
      );
      // Every feature, once: the same count and the same ids.
      expect(exported.features.length, id).toBe(rows.length);
      expect(exported.features.map((f) => f.properties.id).sort(), id).toEqual(rows.map((r) => r.id));
      // A sample of geometries (about 25 per collection, spread over it) agrees with the database within 1e-7°.
      const byId = new Map(exported.features.map((f) => [f.properties.id, f.geometry]));
      const step = Math.max(1, Math.floor(rows.length / 25));
      for (let k = 0; k < rows.length; k += step) {
        const want = rows[k].geometry === null ? null : JSON.parse(rows[k].geometry!);
        const got = byId.get(rows[k].id);
        if (want === null) {
          expect(got ?? null, `${id} ${rows[k].id}`).toBeNull();
          continue;
        }
        expect(got?.type, `${id} ${rows[k].id}`).toBe(want.type);
        expectCoordinatesClose(got!.coordinates, want.coordinates, `${id} ${rows[k].id}`);
      }
    }
  });
});

function expectCoordinatesClose(got: unknown, want: unknown, label: string) {
  if (typeof want === 'number') {
    expect(typeof got, label).toBe('number');
    expect(Math.abs((got as number) - want), label).toBeLessThanOrEqual(1e-7);
    return;
  }
  expect(Array.isArray(got), label).toBe(true);
  expect((got as unknown[]).length, label).toBe((want as unknown[]).length);
  (want as unknown[]).forEach((w, i) => expectCoordinatesClose((got as unknown[])[i], w, label));
}

describe('the feature read budget', () => {
  it('a client paging by next links with small pages is served to the end (more pages than the old 600 requests a minute)', { timeout: 110_000 }, async () => {
    const cookie = await signedInCookie();
    let pages = 0;
    for (const id of ['buildings', 'roads'] as const) {
      const seen = new Set<string>();
      // GDAL 3.6's page size; the links are followed as given (absolute, from PUBLIC_URL).
      let url: string | undefined = `${server.base}/api/collections/${id}/items?limit=10`;
      let matched = -1;
      while (url) {
        const res = await fetch(url, { headers: { cookie, accept: 'application/geo+json' } });
        expect(res.status, `${url}: ${res.status}`).toBe(200);
        const body: { numberMatched: number; features: { id: string }[]; links: { rel: string; href: string; type?: string }[] } = await res.json();
        pages += 1;
        matched = body.numberMatched;
        for (const f of body.features) seen.add(f.id);
        const next = body.links.find((l) => l.rel === 'next');
        if (next) expect(next.type).toBe('application/geo+json');
        url = next?.href;
      }
      const { rows } = await database.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${id}`);
      expect(seen.size, id).toBe(rows[0].n);
      expect(matched, id).toBe(rows[0].n);
    }
    expect(pages).toBeGreaterThan(600);
  });

  it('a client hammering large reads is refused with 429 RATE_LIMITED and Retry-After; others are still served', { timeout: 110_000 }, async () => {
    const hammer = await signedInCookie();
    const other = await signedInCookie();
    const { rows } = await database.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM buildings');
    // Each full read of the buildings costs its features: a minute's budget lasts this many reads,
    // plus what refills while they are served.
    const n = rows[0].n;
    const perSecond = ITEMS_BUDGET.featuresPerMinute / 60;
    const t0 = performance.now();
    let refused: Response | undefined;
    let served = 0;
    while (!refused && served < 100) {
      const res = await fetch(`${server.base}/api/collections/buildings/items?limit=10000`, { headers: { cookie: hammer } });
      if (res.status === 429) refused = res;
      else {
        expect(res.status).toBe(200);
        await res.arrayBuffer();
        served += 1;
      }
    }
    const seconds = (performance.now() - t0) / 1000;
    expect(refused, `still served after ${served} full reads`).toBeDefined();
    expect(served).toBeGreaterThanOrEqual(Math.floor(ITEMS_BUDGET.featuresPerMinute / n));
    expect(served).toBeLessThanOrEqual(Math.ceil((ITEMS_BUDGET.featuresPerMinute + seconds * perSecond) / n) + 1);
    expect(refused!.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(Number(refused!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const problem = await refused!.json();
    expect(problem).toMatchObject({ status: 429, code: 'RATE_LIMITED' });
    expect(problem.retryAfterSeconds).toBe(Number(refused!.headers.get('retry-after')));
    // Small reads are refused too while the budget is spent.
    expect((await fetch(`${server.base}/api/collections/grids/items?limit=1`, { headers: { cookie: hammer } })).status).toBe(429);
    // The budget is the user's: another user is served.
    expect((await fetch(`${server.base}/api/collections/buildings/items?limit=10`, { headers: { cookie: other } })).status).toBe(200);
  });
});
