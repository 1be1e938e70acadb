import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { generate, type GenerateResult } from '../../geo-data/src/generate/index.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { fingerprint, measureHistories, measureInvariants, type HistoryReport } from './invariants.js';

const NOW = new Date('2025-06-01T04:00:00Z');
const DAY = 86_400_000;

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database?.drop();
});

const rows = async <T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> =>
  (await database.pool.query(sql, params)).rows as T[];

async function expectInvariants() {
  const inv = await measureInvariants(database.pool);
  expect(inv.maxTilingGapM2).toBeLessThan(1);
  expect(inv.childlessAreas).toBe(0);
  expect(inv.maxGridOverlapM2).toBeLessThan(1);
  expect(inv.buildings).toBeGreaterThan(0);
  expect(inv.buildingsNotInTheirGrid).toBe(0);
  expect(inv.buildingsNotInExactlyOneGrid).toBe(0);
  expect(inv.buildingsCrossingGridEdges).toBe(0);
  expect(inv.incidentsOutsideTheirGrid).toBe(0);
  expect(inv.badAreaCodes).toBe(0);
  expect(inv.badGridCodes).toBe(0);
  expect(inv.unmarkedRows).toBe(0);
}

/**
 * Whole, consistent timelines (report → accept → dispatch → start → resolve → verify → close as far as
 * each got, in time order, by the command centre, the assignee or the grid's worker), 5–15 % of the
 * open incidents past their step's limit, and no escalation (督办) on an open incident that is not.
 */
function expectHistories(h: HistoryReport) {
  expect(h.problems).toEqual([]);
  expect(h.open).toBeGreaterThanOrEqual(7);
  expect(h.overdue / h.open).toBeGreaterThanOrEqual(0.05);
  expect(h.overdue / h.open).toBeLessThanOrEqual(0.15);
  expect(h.escalatedNotOverdue).toBe(0);
}

describe('generate tiny, for any seed', () => {
  it('children tile their parents, buildings sit in exactly one grid, codes extend their parents', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 2 ** 31 - 1 }), async (seed) => {
        const { counts } = await generate(database.pool, { preset: 'tiny', seed, now: NOW });
        expect(counts.grids).toBeGreaterThanOrEqual(8);
        expect(counts.grids).toBeLessThanOrEqual(12);
        expect(counts.areas).toBeGreaterThanOrEqual(4);
        expect(counts.areas).toBeLessThanOrEqual(6);
        expect(counts.buildings).toBeGreaterThan(80);
        expect(counts.buildings).toBeLessThan(400);
        expect(counts).toMatchObject({ responders: 20, incidents: 50 });
        await expectInvariants();
      }),
      { numRuns: 4 },
    );
  }, 300_000);

  it('gives every incident its whole history, 5–15 % of the open ones overdue and escalations only on those', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 2 ** 31 - 1 }), async (seed) => {
        await generate(database.pool, { preset: 'tiny', seed, now: NOW });
        expectHistories(await measureHistories(database.pool, NOW));
      }),
      { numRuns: 6 },
    );
  }, 300_000);

  it('is deterministic: the same seed gives the same data, another seed other data', async () => {
    const first = await generate(database.pool, { preset: 'tiny', seed: 7, now: NOW });
    const a = await fingerprint(database.pool);
    const second = await generate(database.pool, { preset: 'tiny', seed: 7, now: NOW });
    const b = await fingerprint(database.pool);
    expect(second).toEqual(first);
    expect(b).toEqual(a);
    await generate(database.pool, { preset: 'tiny', seed: 8, now: NOW });
    const c = await fingerprint(database.pool);
    expect(c.grids).not.toBe(a.grids);
    expect(c.buildings).not.toBe(a.buildings);
  }, 120_000);

  it('replaces existing data instead of adding to it', async () => {
    await generate(database.pool, { preset: 'tiny', seed: 1, now: NOW });
    const { counts } = await generate(database.pool, { preset: 'tiny', seed: 2, now: NOW });
    const [n] = await rows<{ grids: number; buildings: number; incidents: number }>(
      `SELECT (SELECT count(*) FROM grids)::int AS grids, (SELECT count(*) FROM buildings)::int AS buildings,
              (SELECT count(*) FROM incidents)::int AS incidents`,
    );
    expect(n).toEqual({ grids: counts.grids, buildings: counts.buildings, incidents: counts.incidents });
  }, 120_000);
});

describe('generate demo', () => {
  let result: GenerateResult;
  const steps = new Map<string, { done: number; total: number }>();

  beforeAll(async () => {
    result = await generate(database.pool, {
      preset: 'demo',
      seed: 1,
      now: NOW,
      onProgress: (step, done, total) => steps.set(step, { done, total }),
    });
  }, 300_000);

  it('has one district, 3 街道, 12 社区, 60–120 grids, ~5,000 buildings, 300 responders, 2,000 incidents', () => {
    const { counts } = result;
    expect(counts.areas).toBe(16);
    expect(counts.grids).toBeGreaterThanOrEqual(60);
    expect(counts.grids).toBeLessThanOrEqual(120);
    expect(counts.buildings).toBeGreaterThan(4000);
    expect(counts.buildings).toBeLessThan(6500);
    expect(counts.responders).toBe(300);
    expect(counts.incidents).toBe(2000);
  });

  it('reports progress of every step to the end', () => {
    for (const step of ['areas', 'grids', 'buildings', 'roads', 'responders', 'incidents']) {
      const last = steps.get(step);
      expect(last, step).toBeDefined();
      expect(last!.done).toBe(last!.total);
    }
  });

  it('holds the invariants', async () => {
    await expectInvariants();
  }, 120_000);

  it('gives every incident its whole history, 5–15 % of the open ones overdue and escalations only on those', async () => {
    const h = await measureHistories(database.pool, NOW);
    expectHistories(h);
    expect(h.open).toBeGreaterThanOrEqual(80);
    console.log(`[generate demo] ${h.open} open, ${h.overdue} overdue (${((100 * h.overdue) / h.open).toFixed(1)} %)`);
  }, 120_000);

  it('lies in central Shanghai at a city scale', async () => {
    const [d] = await rows<{ lon: number; lat: number }>(
      `SELECT ST_X(c) AS lon, ST_Y(c) AS lat FROM (SELECT ST_Centroid(geom) AS c FROM areas WHERE level = 'district') x`,
    );
    expect(Math.abs(d.lon - 121.47)).toBeLessThan(0.05);
    expect(Math.abs(d.lat - 31.23)).toBeLessThan(0.05);
    const [s] = await rows<{ community_min: number; community_max: number; grid_max: number; building_min: number; building_max: number }>(
      `SELECT (SELECT min(ST_Area(geom::geography)) FROM areas WHERE level = 'community') AS community_min,
              (SELECT max(ST_Area(geom::geography)) FROM areas WHERE level = 'community') AS community_max,
              (SELECT max(ST_Area(geom::geography)) FROM grids) AS grid_max,
              (SELECT min(ST_Area(geom::geography)) FROM buildings) AS building_min,
              (SELECT max(ST_Area(geom::geography)) FROM buildings) AS building_max`,
    );
    expect(s.community_min).toBeGreaterThan(0.3e6);
    expect(s.community_max).toBeLessThan(1.5e6);
    expect(s.grid_max).toBeLessThan(0.3e6);
    expect(s.building_min).toBeGreaterThan(100);
    expect(s.building_max).toBeLessThan(3600);
  });

  it('names areas and grids in Chinese with their level', async () => {
    const bad = await rows(
      `SELECT name FROM areas WHERE NOT (level = 'district' AND name ~ '区$' OR level = 'street' AND name ~ '街道$' OR level = 'community' AND name ~ '社区$')
       UNION ALL SELECT name FROM grids WHERE name !~ '^.+社区第[0-9]+网格$'`,
    );
    expect(bad).toEqual([]);
  });

  it('gives residential buildings households of floors × units and keeps them off the roads', async () => {
    const [b] = await rows<{ residential: number; uneven: number; on_roads: number; no_address: number }>(
      `SELECT count(*) FILTER (WHERE households > 0)::int AS residential,
              count(*) FILTER (WHERE households > 0 AND households % floors <> 0)::int AS uneven,
              (SELECT count(*) FROM buildings b JOIN roads r ON ST_Intersects(b.geom, r.geom))::int AS on_roads,
              count(*) FILTER (WHERE address !~ '^[^0-9]+[0-9]+(弄[0-9]+)?号$')::int AS no_address
         FROM buildings`,
    );
    expect(b.residential / result.counts.buildings).toBeGreaterThan(0.7);
    expect(b.uneven).toBe(0);
    expect(b.on_roads).toBe(0);
    expect(b.no_address).toBe(0);
  });

  it('draws a road network that is no lattice, with a bridge over a road it does not join', async () => {
    const classes = (await rows<{ class: string }>(`SELECT DISTINCT class FROM roads ORDER BY 1`)).map((r) => r.class);
    expect(classes).toEqual(expect.arrayContaining(['primary', 'secondary', 'tertiary', 'residential', 'service', 'footway']));
    const [shape] = await rows<{ bearings: number; curved: number }>(
      `SELECT (SELECT count(DISTINCT (round(degrees(ST_Azimuth(ST_StartPoint(geom), ST_EndPoint(geom))) / 10)::int % 18))
                 FROM roads WHERE class IN ('primary', 'secondary', 'tertiary'))::int AS bearings,
              (SELECT count(*) FROM roads WHERE class = 'footway' AND ST_NPoints(geom) > 5)::int AS curved`,
    );
    expect(shape.bearings).toBeGreaterThanOrEqual(4);
    expect(shape.curved).toBeGreaterThan(0);
    const crossings = await rows<{ bridge_vertex: boolean; node: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM ST_DumpPoints(b.geom) d WHERE ST_DWithin(d.geom, x.p, 1e-7)) AS bridge_vertex,
              EXISTS (SELECT 1 FROM road_nodes n WHERE ST_DWithin(n.geom, x.p, 1e-7)) AS node
         FROM roads b JOIN roads r ON r.id <> b.id AND NOT r.bridge AND b.layer <> r.layer AND ST_Crosses(b.geom, r.geom)
         CROSS JOIN LATERAL (SELECT ST_Intersection(b.geom, r.geom) AS p) x
        WHERE b.bridge`,
    );
    expect(crossings.length).toBeGreaterThan(0);
    expect(crossings).toContainEqual({ bridge_vertex: false, node: false });
    const [net] = await rows<{ edges: number }>(`SELECT count(*)::int AS edges FROM road_edges`);
    expect(net.edges).toBeGreaterThan(result.counts.roads);
  });

  it('places responders of every kind near their home grid, most with fresh positions', async () => {
    const [r] = await rows<{ kinds: number; statuses: number; far: number; fresh: number; stale: number; positioned: number; no_home: number }>(
      `SELECT count(DISTINCT kind)::int AS kinds, count(DISTINCT status)::int AS statuses,
              count(*) FILTER (WHERE NOT ST_DWithin(r.position::geography, g.geom::geography, 1000))::int AS far,
              count(*) FILTER (WHERE position_at > $1::timestamptz - interval '1 hour')::int AS fresh,
              count(*) FILTER (WHERE position_at <= $1::timestamptz - interval '2 hours')::int AS stale,
              count(position)::int AS positioned,
              count(*) FILTER (WHERE g.id IS NULL)::int AS no_home
         FROM responders r LEFT JOIN grids g ON g.id = r.home_grid_id`,
      [NOW.toISOString()],
    );
    expect(r).toMatchObject({ kinds: 4, statuses: 3, far: 0, no_home: 0 });
    expect(r.fresh / r.positioned).toBeGreaterThan(0.6);
    expect(r.stale).toBeGreaterThan(0);
    const [workers] = await rows<{ uncovered: number }>(
      `SELECT count(*)::int AS uncovered FROM grids g
        WHERE NOT EXISTS (SELECT 1 FROM responders r WHERE r.home_grid_id = g.id AND r.kind = 'grid_worker')`,
    );
    expect(workers.uncovered).toBe(0);
  });

  it('spreads incidents over 90 days, categories and priorities, older ones mostly closed', async () => {
    const [i] = await rows<{ categories: number; priorities: number; statuses: number; oldest: string; newest: string; old_closed: number; old: number; bad_close: number; chinese: number }>(
      `SELECT count(DISTINCT category)::int AS categories, count(DISTINCT priority)::int AS priorities,
              count(DISTINCT status)::int AS statuses, min(reported_at)::text AS oldest, max(reported_at)::text AS newest,
              count(*) FILTER (WHERE reported_at < $1::timestamptz - interval '14 days' AND status = 'closed')::int AS old_closed,
              count(*) FILTER (WHERE reported_at < $1::timestamptz - interval '14 days')::int AS old,
              count(*) FILTER (WHERE (status = 'closed') <> (closed_at IS NOT NULL) OR closed_at < reported_at OR closed_at > $1::timestamptz)::int AS bad_close,
              count(*) FILTER (WHERE description ~ '[一-龥]' AND address ~ '[一-龥]')::int AS chinese
         FROM incidents`,
      [NOW.toISOString()],
    );
    expect(i).toMatchObject({ categories: 8, priorities: 4, statuses: 8, bad_close: 0, chinese: 2000 });
    expect(i.old_closed / i.old).toBeGreaterThan(0.9);
    expect(NOW.getTime() - new Date(i.oldest).getTime()).toBeLessThanOrEqual(90 * DAY);
    expect(NOW.getTime() - new Date(i.oldest).getTime()).toBeGreaterThan(80 * DAY);
    expect(new Date(i.newest).getTime()).toBeLessThanOrEqual(NOW.getTime());
  });
});
