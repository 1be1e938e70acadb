import type pg from 'pg';
import { generate } from '@wangge/geo-data';

/** An incident description that would run script if a page rendered it as HTML. */
export const HOSTILE_DESCRIPTION = '<img src="x" onerror="window.__pwned=true"> 楼道堆放杂物 & <b>阻塞</b>消防通道';

export const OSM_ATTRIBUTION = '© OpenStreetMap contributors';

/**
 * The tiny generated district (seed 1), plus one urgent incident whose description is markup,
 * placed inside the first grid, and some buildings marked as imported from OpenStreetMap (so the
 * buildings layer carries the OSM attribution).
 */
export async function fillDashboardData(pool: pg.Pool): Promise<void> {
  await generate(pool, { preset: 'tiny', seed: 1 });
  await pool.query(
    `INSERT INTO incidents (category, priority, status, location, address, description, reported_at)
     SELECT 'safety_hazard', 'urgent', 'reported', ST_PointOnSurface(geom), '测试地址 1 号', $1,
            timestamptz '2025-03-08 06:05:09+00'
       FROM grids ORDER BY code LIMIT 1`,
    [HOSTILE_DESCRIPTION],
  );
  const imported = await pool.query(
    `UPDATE buildings SET source = 'osm-e2e', source_id = id::text WHERE id IN (SELECT id FROM buildings ORDER BY id LIMIT 20)`,
  );
  await pool.query(
    `INSERT INTO data_sources (name, layer, attribution, imported_count) VALUES ('osm-e2e', 'buildings', $1, $2)`,
    [OSM_ATTRIBUTION, imported.rowCount],
  );
}
