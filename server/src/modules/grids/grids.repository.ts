import { sql, type Kysely } from 'kysely';
import type { DB } from '../../db/types.js';
import { OPEN_STATUSES } from '../incidents/lifecycle.js';

/** Statuses that count as open: every status but closed (rejected and reopened are back with the command centre). */
export { OPEN_STATUSES };

export interface GridSummaryRow {
  id: string;
  code: string;
  name: string;
  communityCode: string;
  communityName: string;
  streetCode: string;
  streetName: string;
  areaSquareMetres: number;
  buildingCount: number;
  householdCount: number;
  openIncidentCount: number;
  incidentCountByStatus: Record<string, number>;
  responderCount: number;
  respondersByStatus: Record<string, number>;
}

/** The figures of one grid within the caller's scope, computed in one SQL statement. */
export async function gridSummary(db: Kysely<DB>, gridId: string, scope: string): Promise<GridSummaryRow | undefined> {
  const { rows } = await sql<GridSummaryRow>`
    SELECT g.id::text AS "id", g.code AS "code", g.name AS "name",
           c.code AS "communityCode", c.name AS "communityName", s.code AS "streetCode", s.name AS "streetName",
           round(ST_Area(g.geom::geography))::float8 AS "areaSquareMetres",
           (SELECT count(*) FROM buildings b WHERE b.grid_id = g.id)::int AS "buildingCount",
           (SELECT coalesce(sum(b.households), 0) FROM buildings b WHERE b.grid_id = g.id)::int AS "householdCount",
           (SELECT count(*) FROM incidents i WHERE i.grid_id = g.id
               AND i.status IN (${sql.join(OPEN_STATUSES.map((s) => sql.lit(s)))}))::int AS "openIncidentCount",
           (SELECT coalesce(json_object_agg(status, n), '{}'::json) FROM
              (SELECT i.status, count(*)::int AS n FROM incidents i WHERE i.grid_id = g.id GROUP BY i.status) x) AS "incidentCountByStatus",
           (SELECT count(*) FROM responders r WHERE r.home_grid_id = g.id)::int AS "responderCount",
           (SELECT coalesce(json_object_agg(status, n), '{}'::json) FROM
              (SELECT r.status, count(*)::int AS n FROM responders r WHERE r.home_grid_id = g.id GROUP BY r.status) y) AS "respondersByStatus"
      FROM grids g
      JOIN areas c ON c.id = g.community_id
      JOIN areas s ON s.id = c.parent_id
     WHERE g.id = ${gridId}::uuid AND (${scope} = '*' OR g.code LIKE ${scope} || '%')`.execute(db);
  return rows[0];
}
