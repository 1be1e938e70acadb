import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { createTestDatabase, usesExternalDatabase, type TestDatabase } from '../support/database.js';
import { insertSmallDistrict } from '../support/fixtures.js';
import { buildTestApp } from '../support/app.js';
import { FeatureBudget } from '../../server/src/modules/collections/collections.budget.js';

let database: TestDatabase;
let app: FastifyInstance;
let gridIds: string[];

beforeAll(async () => {
  database = await createTestDatabase();
  ({ gridIds } = await insertSmallDistrict(database.pool));
  app = await buildTestApp(database);
});

afterAll(async () => {
  await app?.close();
  await database?.drop();
});

const get = (url: string) => app.inject({ method: 'GET', url });

function expectProblem(res: Awaited<ReturnType<typeof get>>, status: number, code: string) {
  expect(res.statusCode).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  const body = res.json();
  expect(body).toMatchObject({ status, code });
  expect(typeof body.title).toBe('string');
  expect(typeof body.detail).toBe('string');
  expect(typeof body.type).toBe('string');
  expect(JSON.stringify(body)).not.toMatch(/SELECT|stack|at .*\.ts:/);
  return body;
}

describe('GET /api/collections', () => {
  it('lists the six collections with extents and links', async () => {
    const res = await get('/api/collections');
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.collections.map((c: { id: string }) => c.id)).toEqual(['areas', 'grids', 'buildings', 'roads', 'responders', 'incidents']);
    const grids = body.collections.find((c: { id: string }) => c.id === 'grids');
    expect(grids.extent.spatial.bbox[0]).toEqual([121.48, 31.23, 121.49, 31.24]);
    expect(grids.links.some((l: { rel: string }) => l.rel === 'items')).toBe(true);
  });

  it('carries the OpenStreetMap attribution only while imported OSM data is held', async () => {
    const attribution = async () => (await get('/api/collections')).json().collections.find((c: { id: string }) => c.id === 'buildings').attribution;
    expect(await attribution()).toBeUndefined();
    await database.pool.query(`INSERT INTO data_sources (name, layer, attribution) VALUES ('fixture', 'buildings', '© OpenStreetMap contributors')`);
    // Collection descriptions are cached for a minute; a fresh app reads the new state.
    const fresh = await buildTestApp(database);
    const body = (await fresh.inject('/api/collections')).json();
    expect(body.collections.find((c: { id: string }) => c.id === 'buildings').attribution).toBe('© OpenStreetMap contributors');
    expect(body.collections.find((c: { id: string }) => c.id === 'roads').attribution).toBeUndefined();
    await fresh.close();
    await database.pool.query(`DELETE FROM data_sources`);
  });

  it('describes one collection', async () => {
    const res = await get('/api/collections/buildings');
    expect(res.statusCode).toBe(200);
    expect(res.json().id).toBe('buildings');
  });

  it('unknown collection is 404 UNKNOWN_COLLECTION', async () => {
    expectProblem(await get('/api/collections/nope'), 404, 'UNKNOWN_COLLECTION');
    expectProblem(await get('/api/collections/nope/items'), 404, 'UNKNOWN_COLLECTION');
  });
});

describe('GET /api/collections/{id}/items', () => {
  it('returns a GeoJSON FeatureCollection with camelCase properties and counts', async () => {
    const res = await get('/api/collections/buildings/items');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/geo\+json/);
    const body = res.json();
    expect(body.type).toBe('FeatureCollection');
    expect(body.numberMatched).toBe(12);
    expect(body.numberReturned).toBe(12);
    const f = body.features[0];
    expect(f.type).toBe('Feature');
    expect(typeof f.id).toBe('string');
    expect(f.geometry.type).toBe('MultiPolygon');
    expect(f.properties).toMatchObject({ householdCount: 24, floors: 6 });
    expect(f.properties.gridCode).toMatch(/^310101002001\d{3}$/);
    expect(Object.keys(f.properties).every((k) => !k.includes('_'))).toBe(true);
  });

  it('pages with limit/offset and rel=next links until the end', async () => {
    const seen = new Set<string>();
    let url: string | undefined = '/api/collections/buildings/items?limit=5';
    let pages = 0;
    while (url) {
      const body: { numberMatched: number; features: { id: string }[]; links: { rel: string; href: string }[] } = (await get(url)).json();
      pages += 1;
      expect(body.numberMatched).toBe(12);
      for (const f of body.features) seen.add(f.id);
      const next = body.links.find((l) => l.rel === 'next');
      url = next ? new URL(next.href).pathname + new URL(next.href).search : undefined;
    }
    expect(pages).toBe(3);
    expect(seen.size).toBe(12);
  });

  it('pages keep the collection order (features are built for the page rows only, then ordered again)', async () => {
    const all = (await get('/api/collections/incidents/items?limit=100')).json().features.map((f: { id: string }) => f.id);
    const paged: string[] = [];
    for (let offset = 0; offset < all.length; offset += 3) {
      paged.push(...(await get(`/api/collections/incidents/items?limit=3&offset=${offset}`)).json().features.map((f: { id: string }) => f.id));
    }
    expect(paged).toEqual(all);
    const { rows } = await database.pool.query<{ id: string }>('SELECT id::text AS id FROM incidents ORDER BY reported_at DESC, id');
    expect(all).toEqual(rows.map((r) => r.id));
  });

  it('defaults limit to 100 and allows 1,000 and more', async () => {
    const res = await get('/api/collections/incidents/items?limit=1000');
    expect(res.statusCode).toBe(200);
    expect(res.json().numberReturned).toBe(10);
    expect((await get('/api/collections/incidents/items?limit=10000')).statusCode).toBe(200);
  });

  it('filters by bbox', async () => {
    const body = (await get('/api/collections/grids/items?bbox=121.480,31.230,121.4849,31.240')).json();
    expect(body.features.map((f: { properties: { code: string } }) => f.properties.code)).toEqual(['310101002001001']);
    const empty = (await get('/api/collections/grids/items?bbox=100,10,101,11')).json();
    expect(empty).toMatchObject({ numberMatched: 0, numberReturned: 0, features: [] });
  });

  it('incidents list hides the reporter contact', async () => {
    const body = (await get('/api/collections/incidents/items')).json();
    expect(body.features[0].properties).not.toHaveProperty('reporterContact');
    expect(body.features[0].properties.reportedAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  });

  it.each([
    ['1,2,3', 'three numbers'],
    ['a,b,c,d', 'not numbers'],
    ['121.49,31.23,121.48,31.24', 'inverted longitude'],
    ['121.48,31.24,121.49,31.23', 'inverted latitude'],
    ['-181,0,0,1', 'longitude out of range'],
    ['0,-91,1,0', 'latitude out of range'],
    ['NaN,0,1,1', 'NaN'],
    ['Infinity,0,1,1', 'Infinity'],
    ['1,2,3,4,5', 'five numbers'],
    ['', 'empty'],
  ])('bbox "%s" (%s) is 400 INVALID_BBOX', async (bbox) => {
    expectProblem(await get(`/api/collections/grids/items?bbox=${encodeURIComponent(bbox)}`), 400, 'INVALID_BBOX');
  });

  it.each(['0', '-1', '10001', 'abc', '1.5'])('limit=%s is 400 INVALID_LIMIT', async (limit) => {
    expectProblem(await get(`/api/collections/grids/items?limit=${limit}`), 400, 'INVALID_LIMIT');
  });

  it.each(['-1', 'x'])('offset=%s is 400 INVALID_PARAMETER', async (offset) => {
    expectProblem(await get(`/api/collections/grids/items?offset=${offset}`), 400, 'INVALID_PARAMETER');
  });
});

describe('the feature read budget (collections.budget.ts)', () => {
  const policy = { featuresPerMinute: 1_000, minimumCost: 50 };

  it('charges the features served, at least the minimum per request, and refuses with the seconds until it refills', () => {
    let now = 0;
    const budget = new FeatureBudget(policy, () => now);
    // A flood of tiny requests: each costs the minimum, so 20 fit in a minute's budget.
    let served = 0;
    while (budget.retryAfterSeconds('u') === 0 && served < 100) {
      budget.charge('u', 1);
      served += 1;
    }
    expect(served).toBe(20);
    // 50 features refill in 3 s (1,000 a minute).
    expect(budget.retryAfterSeconds('u')).toBe(3);
    now += 3_000;
    expect(budget.retryAfterSeconds('u')).toBe(0);
    // The budget is per user.
    expect(budget.retryAfterSeconds('v')).toBe(0);
  });

  it('a large read may overdraw the budget; the debt is waited out', () => {
    let now = 0;
    const budget = new FeatureBudget(policy, () => now);
    budget.charge('u', 2_500);
    // 1,500 in debt plus the minimum: 1,550 features at 1,000 a minute = 93 s.
    expect(budget.retryAfterSeconds('u')).toBe(93);
    now += 92_000;
    expect(budget.retryAfterSeconds('u')).toBeGreaterThan(0);
    now += 1_000;
    expect(budget.retryAfterSeconds('u')).toBe(0);
    // Refilled only up to one minute's worth, however long the pause.
    now += 3_600_000;
    budget.charge('u', 1_000);
    expect(budget.retryAfterSeconds('u')).toBeGreaterThan(0);
  });
});

describe('GET /api/collections/{id}/items/{fid}', () => {
  it('returns one feature by its id', async () => {
    const res = await get(`/api/collections/grids/items/${gridIds[1]}`);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ type: 'Feature', id: gridIds[1], properties: { code: '310101002001002', name: '第2网格' } });
  });

  it.each([
    ['00000000-0000-4000-8000-000000000000', 'unknown uuid'],
    ['not-a-uuid', 'wrong type'],
    ["1' OR '1'='1", 'SQL injection string'],
    ['..%2F..%2Fetc%2Fpasswd', 'path traversal'],
  ])('%s (%s) is 404 NOT_FOUND', async (fid) => {
    expectProblem(await get(`/api/collections/grids/items/${encodeURIComponent(fid)}`), 404, 'NOT_FOUND');
  });

  it('an id of another collection is not found here', async () => {
    expectProblem(await get(`/api/collections/buildings/items/${gridIds[0]}`), 404, 'NOT_FOUND');
  });
});

describe('GET /api/grids/{id}/summary', () => {
  it('counts buildings, households, open incidents and responders of the grid', async () => {
    const res = await get(`/api/grids/${gridIds[0]}/summary`);
    expect(res.statusCode).toBe(200);
    // Independent count in PostGIS: buildings whose point on surface lies in the grid.
    const { rows } = await database.pool.query(
      `SELECT count(*)::int AS b, sum(households)::int AS h FROM buildings b JOIN grids g ON ST_Contains(g.geom, ST_PointOnSurface(b.geom)) WHERE g.id = $1`,
      [gridIds[0]],
    );
    const open = await database.pool.query(
      `SELECT count(*)::int AS n FROM incidents i JOIN grids g ON ST_Intersects(g.geom, i.location) WHERE g.id = $1 AND i.status <> 'closed'`,
      [gridIds[0]],
    );
    const body = res.json();
    expect(body).toMatchObject({
      code: '310101002001001',
      communityCode: '310101002001',
      streetCode: '310101002',
      buildingCount: rows[0].b,
      householdCount: rows[0].h,
      openIncidentCount: open.rows[0].n,
      responderCount: 2,
      respondersByStatus: { busy: 1, available: 1 },
    });
    expect(body.buildingCount).toBeGreaterThan(0);
    expect(body.areaSquareMetres).toBeGreaterThan(400_000);
  });

  it.each(['00000000-0000-4000-8000-000000000000', 'nope', '%27%3B%20DROP%20TABLE%20grids%3B--'])('unknown grid %s is 404', async (id) => {
    expectProblem(await get(`/api/grids/${id}/summary`), 404, 'NOT_FOUND');
  });
});

describe('errors and documents', () => {
  it('an unknown API route is a 404 problem', async () => {
    expectProblem(await get('/api/nothing-here'), 404, 'NOT_FOUND');
  });

  it('serves the OpenAPI document at /api/docs', async () => {
    const res = await get('/api/docs/json');
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/api/collections/{collectionId}/items', '/api/grids/{id}/summary', '/api/health']));
    expect((await get('/api/docs')).statusCode).toBeLessThan(400);
  });

  it('an oversized body is 413 PAYLOAD_TOO_LARGE', async () => {
    const small = await buildTestApp(database, { bodyLimitBytes: 1024, signedIn: false });
    small.post('/api/echo-test', { config: { permission: 'public' } }, async () => ({ ok: true }));
    const res = await small.inject({ method: 'POST', url: '/api/echo-test', payload: { blob: 'x'.repeat(5000) } });
    expectProblem(res, 413, 'PAYLOAD_TOO_LARGE');
    await small.close();
  });

  it('security headers are set', async () => {
    const res = await get('/api/health');
    expect(res.headers['content-security-policy']).toMatch(/script-src 'self'/);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
  });
});

describe('the API under test', () => {
  it.skipIf(!usesExternalDatabase)('connects as an ordinary role, not a superuser', async () => {
    const { rows } = await database.app.pool.query(`SELECT current_user AS who, rolsuper FROM pg_roles WHERE rolname = current_user`);
    expect(rows[0]).toEqual({ who: 'wangge_test_app', rolsuper: false });
  });
});

describe('GET /api/health', () => {
  it('reports mode and versions', async () => {
    const res = await get('/api/health');
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.status).toBe('ok');
    expect(body.database.mode).toBe(database.mode);
    expect(body.database.postgres).toMatch(/^\d+/);
    expect(body.database.postgis).toMatch(/^3\.\d+/);
    expect(typeof body.database.nativeMvt).toBe('boolean');
  });
});
