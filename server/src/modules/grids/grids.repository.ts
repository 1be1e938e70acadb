import { sql } from 'kysely';
import { type AreaCode } from '../../auth/scope.js';
import { codeInScope } from '../../auth/scope.repository.js';
import { geodesicAreaSquareMetres } from '../../db/postgis.js';
import type { Db } from '../../db/transaction.js';
import { OPEN_STATUSES } from '../incidents/lifecycle.js';
import type { Static } from 'typebox';
import type { GridSummary } from './grids.schemas.js';

/** The figures of one grid (the API's schema, grids.schemas.ts). */
export type GridSummaryRow = Static<typeof GridSummary>;

/**
 * `{ status: count }` of the rows of `table` placed in grid `g` by `gridColumn`, `{}` when none.
 * Written as SQL: json_object_agg over a grouped subquery is one line here and three nested
 * builder calls there, and the builder would type no more than the result typed here.
 */
function countsByStatus(table: 'incidents' | 'responders', gridColumn: 'grid_id' | 'home_grid_id') {
  return sql<Record<string, number>>`(SELECT coalesce(json_object_agg(x.status, x.n), '{}'::json)
      FROM (SELECT t.status, count(*)::int AS n FROM ${sql.table(table)} t WHERE ${sql.ref(`t.${gridColumn}`)} = g.id GROUP BY t.status) x)`;
}

/** The figures of one grid within the caller's scope, computed in one SQL statement. */
export async function gridSummary(db: Db, gridId: string, scope: AreaCode): Promise<GridSummaryRow | undefined> {
  return db
    .selectFrom('grids as g')
    .innerJoin('areas as c', 'c.id', 'g.community_id')
    .innerJoin('areas as s', 's.id', 'c.parent_id')
    .where('g.id', '=', gridId)
    .where((eb) => codeInScope(eb.ref('g.code'), scope))
    .select((eb) => [
      eb.cast<string>('g.id', 'text').as('id'),
      'g.code as code',
      'g.name as name',
      'c.code as communityCode',
      'c.name as communityName',
      's.code as streetCode',
      's.name as streetName',
      eb.cast<number>(eb.fn('round', [geodesicAreaSquareMetres(eb.ref('g.geom'))]), 'float8').as('areaSquareMetres'),
      // Scalar subqueries, one row each (aggregates); bigint counts and sums are read as numbers (db/database.ts).
      eb
        .selectFrom('buildings as b')
        .whereRef('b.grid_id', '=', 'g.id')
        .select(eb.fn.countAll<number>().as('n'))
        .$asScalar()
        .as('buildingCount'),
      eb
        .selectFrom('buildings as b')
        .whereRef('b.grid_id', '=', 'g.id')
        .select((b) => b.fn.coalesce(b.fn.sum<number>('b.households'), b.lit(0)).as('n'))
        .$asScalar()
        .as('householdCount'),
      eb
        .selectFrom('incidents as i')
        .whereRef('i.grid_id', '=', 'g.id')
        .where('i.status', 'in', OPEN_STATUSES)
        .select(eb.fn.countAll<number>().as('n'))
        .$asScalar()
        .as('openIncidentCount'),
      countsByStatus('incidents', 'grid_id').as('incidentCountByStatus'),
      eb
        .selectFrom('responders as r')
        .whereRef('r.home_grid_id', '=', 'g.id')
        .select(eb.fn.countAll<number>().as('n'))
        .$asScalar()
        .as('responderCount'),
      countsByStatus('responders', 'home_grid_id').as('respondersByStatus'),
    ])
    .executeTakeFirst();
}
