/**
 * Noding benchmark (a script, not a test): `pnpm exec tsx tests/roads/bench-noding.ts [streets] [pieces] [runs]`.
 * On the PostgreSQL server at TEST_DATABASE_URL / DATABASE_URL (default the local one) it creates a
 * throw-away database and times rebuildRoadNetwork on
 *  - a synthetic lattice: `streets` east–west and `streets` north–south streets, each drawn as
 *    `pieces` ways of 4 vertices (consecutive ways share their end vertex); every 10th north–south
 *    street is a bridge; ≈ 2·streets·pieces roads (160 × 300 → 96,000);
 *  - the real Shanghai roads (../shared/real-data), when present.
 * Prints the median of `runs` rebuilds and the per-step times of the last one.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { openDatabase } from '../../server/src/db/database.js';
import { migrateToLatest } from '../../server/src/db/migrate.js';
import { importGeoJson } from '../../geo-data/src/import/index.js';
import { rebuildRoadNetwork } from '../../geo-data/src/roads/noding.js';
import { shanghaiDir } from '../import/helpers.js';

const [streets = 160, pieces = 300, runs = 3] = process.argv.slice(2).map(Number);
const adminUrl = process.env.TEST_DATABASE_URL ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const name = `wangge_bench_${crypto.randomBytes(4).toString('hex')}`;
const admin = new pg.Client({ connectionString: adminUrl });
await admin.connect();
await admin.query(`CREATE DATABASE ${name}`);
const url = new URL(adminUrl);
url.pathname = `/${name}`;
const db = await openDatabase({ databaseUrl: url.toString(), dataDir: '' });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function time(label: string) {
  const totals: number[] = [];
  let steps: string[] = [];
  let result = { nodes: 0, edges: 0 };
  for (let i = 0; i < runs; i++) {
    steps = [];
    let last = performance.now();
    let current = 'start';
    const started = last;
    result = await rebuildRoadNetwork(db.pool, (step) => {
      const now = performance.now();
      steps.push(`${current} ${(now - last).toFixed(0)} ms`);
      current = step;
      last = now;
    });
    totals.push(performance.now() - started);
  }
  const { rows } = await db.pool.query(`SELECT count(*)::int AS roads, sum(ST_NPoints(geom))::int AS vertices FROM roads`);
  console.log(
    `${label}: ${rows[0].roads} roads, ${rows[0].vertices} vertices → ${result.nodes} nodes, ${result.edges} edges; ` +
      `rebuild median ${(median(totals) / 1000).toFixed(2)} s of ${runs} (${totals.map((t) => (t / 1000).toFixed(2)).join(', ')})`,
  );
  console.log(`  steps of the last run: ${steps.slice(1).join(' | ')}`);
}

try {
  await migrateToLatest(db.db);
  const roadsFile = path.join(shanghaiDir, 'roads.geojson');
  if (fs.existsSync(roadsFile)) {
    await importGeoJson(db.pool, { layer: 'roads', file: roadsFile, reportFile: path.join(fs.mkdtempSync('/tmp/bench-'), 'r.json') });
    await time('real Shanghai roads');
    await db.pool.query('DELETE FROM roads');
  }
  await db.pool.query(
    `INSERT INTO roads (class, bridge, geom, source, source_id)
     SELECT 'residential', dir = 1 AND s % 10 = 0,
            ST_SetSRID(ST_MakeLine(ARRAY(SELECT CASE WHEN dir = 0
                THEN ST_MakePoint(121.3 + (p * 3 + j) * (0.4 / ($2 * 3)), 31.1 + s * (0.4 / $1) + 0.00001 * sin(p * 3 + j))
                ELSE ST_MakePoint(121.3 + s * (0.4 / $1) + 0.0000137, 31.1 + (p * 3 + j) * (0.4 / ($2 * 3))) END
              FROM generate_series(0, 3) j ORDER BY j)), 4326), 'bench', dir || '-' || s || '-' || p
       FROM generate_series(0, 1) dir, generate_series(0, $1 - 1) s, generate_series(0, $2 - 1) p`,
    [streets, pieces],
  );
  await time(`synthetic lattice ${streets}×${streets} streets × ${pieces} ways`);
} finally {
  await db.close();
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.end();
}
