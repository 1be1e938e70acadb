/**
 * The checks of an intake: where the point lies (its grid, the grids near it) and the possible
 * duplicates of a new report. Written as `sql` templates because each is one statement around a
 * CTE of the reported point, which the query builder would only obscure; prepared once per
 * connection (db/compiled.ts executePrepared: their planning cost more than running them).
 */
import { sql } from 'kysely';
import type { Db } from '../../db/transaction.js';
import { executePrepared } from '../../db/compiled.js';
import { distanceMetres, dWithinMetres, expandDegrees, pointLonLat } from '../../db/postgis.js';
import { type Viewer } from '../../auth/scope.js';
import { incidentVisible } from '../../auth/scope.repository.js';
import { INCIDENT_REFS } from './incidents.repository.js';

export const NEAR_BORDER_METRES = 30;
export const DUPLICATE_METRES = 50;

/** Degrees that cover at least `metres` around a latitude (an index-friendly box before the geodesic test). */
export function degreeBox(metres: number, lat: number): { dx: number; dy: number } {
  const dy = (metres * 1.05) / 110_574;
  const dx = Math.min(180, (metres * 1.05) / (111_320 * Math.max(0.01, Math.cos((lat * Math.PI) / 180))));
  return { dx, dy };
}

export interface PlaceCheck {
  categoryKnown: boolean;
  gridId: string | null;
  gridCode: string | null;
  districtId: string | null;
  nearGridIds: string[];
}

const P = sql.ref('p.geom');

/**
 * In one statement: is the category known, the grid holding the point (grid_at, as the insert
 * trigger decides), and the other grids within 30 geodesic metres of it.
 */
export async function checkPlace(db: Db, category: string, lon: number, lat: number): Promise<PlaceCheck> {
  const { dx, dy } = degreeBox(NEAR_BORDER_METRES, lat);
  const rows = await executePrepared(db, sql<{ known: boolean; grid_id: string | null; grid_code: string | null; district_id: string | null; near: string[] }>`
    WITH p AS (SELECT ${pointLonLat(lon, lat)} AS geom),
         own AS (SELECT g.id, g.code, g.district_id FROM p, grids g WHERE g.id = grid_at(p.geom))
    SELECT EXISTS (SELECT 1 FROM incident_categories WHERE code = ${category}) AS known,
           (SELECT id::text FROM own) AS grid_id, (SELECT code FROM own) AS grid_code, (SELECT district_id::text FROM own) AS district_id,
           coalesce((SELECT array_agg(g.id::text ORDER BY g.code) FROM p, grids g
                      WHERE g.id IS DISTINCT FROM (SELECT id FROM own)
                        AND g.geom && ${expandDegrees(P, dx, dy)}
                        AND ${dWithinMetres(sql.ref('g.geom'), P, NEAR_BORDER_METRES)}), '{}') AS near`);
  const r = rows[0];
  return { categoryKnown: r.known, gridId: r.grid_id, gridCode: r.grid_code, districtId: r.district_id, nearGridIds: r.near };
}

/** Same category, within 50 m and the last 24 h, open or closed, visible to the viewer, nearest first, at most 10. */
export async function possibleDuplicates(db: Db, v: Viewer, exceptId: string, category: string, lon: number, lat: number) {
  const { dx, dy } = degreeBox(DUPLICATE_METRES, lat);
  const location = sql.ref('i.location');
  const rows = await executePrepared(db, sql<{ id: string; status: string; description: string; reported_at: Date; d: number }>`
    WITH p AS (SELECT ${pointLonLat(lon, lat)} AS geom)
    SELECT i.id::text, i.status, i.description, i.reported_at, ${distanceMetres(location, P)} AS d
      FROM p, incidents i LEFT JOIN grids g ON g.id = i.grid_id
     WHERE i.category = ${category} AND i.id <> ${exceptId}::uuid AND i.reported_at > now() - interval '24 hours'
       AND i.location && ${expandDegrees(P, dx, dy)}
       AND ${dWithinMetres(location, P, DUPLICATE_METRES)}
       AND ${incidentVisible(v, INCIDENT_REFS)}
     ORDER BY d, i.reported_at DESC LIMIT 10`);
  return rows.map((r) => ({
    id: r.id, status: r.status, description: r.description, reportedAt: r.reported_at.toISOString(), distanceMetres: Math.round(r.d * 10) / 10,
  }));
}
