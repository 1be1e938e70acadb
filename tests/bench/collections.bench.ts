import { COLLECTIONS } from '../../server/src/modules/collections/collections.registry.js';
import { featureCountSql, featurePageSql, type Bbox } from '../../server/src/modules/collections/collections.repository.js';
import type { Database } from '../../server/src/db/database.js';
import { fmt, httpGet, median, percentile, timed, type Row } from './stats.js';

const ROUNDS = 30;

/** Items endpoint (HTTP, JSON) vs the two SQL statements it runs, sent straight through `pg`. */
export async function benchCollections(database: Database, origin: string, cookie: string): Promise<Row[]> {
  const { rows } = await database.pool.query<{ x: number; y: number }>(
    'SELECT ST_X(ST_Centroid(ST_Extent(geom))) AS x, ST_Y(ST_Centroid(ST_Extent(geom))) AS y FROM grids',
  );
  const { x, y } = rows[0];
  const cases: { id: keyof typeof COLLECTIONS; bbox?: Bbox; limit: number }[] = [
    { id: 'buildings', bbox: [x - 0.005, y - 0.005, x + 0.005, y + 0.005], limit: 100 },
    { id: 'buildings', bbox: [x - 0.01, y - 0.01, x + 0.01, y + 0.01], limit: 1000 },
    { id: 'incidents', limit: 100 },
    { id: 'grids', limit: 100 },
  ];
  const out: Row[] = [];
  for (const c of cases) {
    const def = COLLECTIONS[c.id];
    const page = featurePageSql(def, { bbox: c.bbox, scope: '*', limit: c.limit, offset: 0 }).compile(database.db);
    const count = featureCountSql(def, { bbox: c.bbox, scope: '*' }).compile(database.db);
    const q = new URLSearchParams({ limit: String(c.limit) });
    if (c.bbox) q.set('bbox', c.bbox.join(','));
    const url = `${origin}/api/collections/${c.id}/items?${q}`;
    const ours: number[] = [];
    const raw: number[] = [];
    for (let i = 0; i < ROUNDS + 3; i++) {
      const a = await timed(() => httpGet(url, { 'accept-encoding': 'gzip', cookie }));
      const b = await timed(() =>
        Promise.all([database.pool.query(page.sql, page.parameters as unknown[]), database.pool.query(count.sql, count.parameters as unknown[])]),
      );
      if (i >= 3) {
        ours.push(a);
        raw.push(b);
      }
    }
    out.push({
      what: `items ${c.id}${c.bbox ? ' bbox' : ''} limit=${c.limit} (p50 ms)`,
      ours: `${fmt(median(ours))} (p95 ${fmt(percentile(ours, 95))})`,
      baseline: `${fmt(median(raw))} (p95 ${fmt(percentile(raw, 95))})`,
      ratio: `${fmt(median(raw) / median(ours), 2)}× throughput`,
      note: 'endpoint vs raw SQL via pg',
    });
  }
  return out;
}
