import { sql, type RawBuilder, type SqlBool } from 'kysely';
import { type AreaCode } from '../../auth/scope.js';
import { codeInScope } from '../../auth/scope.repository.js';
import { asGeoJson, envelope4326, intersectsIndexed } from '../../db/postgis.js';
import type { Db } from '../../db/transaction.js';
import type { Bbox } from '../../lib/bbox.js';
import type { CollectionDef } from './collections.registry.js';

// `sql` templates rather than the query builder: a collection's table, joins and columns are
// allow-listed SQL fragments of the registry (collections.registry.ts), which the builder cannot type.

export type { Bbox };

/** A GeoJSON Feature serialised by PostgreSQL: the API passes it through without parsing it. */
export interface FeatureRow {
  feature: string;
}

/** The Feature object of the current row `t`, as JSON text. */
function featureJson(def: CollectionDef) {
  return sql`json_build_object('type', 'Feature', 'id', t.id::text,
      'geometry', ${asGeoJson(sql.raw(def.geom), 7)},
      'properties', json_build_object(${sql.raw(jsonPairs(def))}))::text AS feature`;
}

/** What a query keeps: rows in the caller's scope (in SQL, never filtered after the fetch) and within the bbox. */
function conditions(def: CollectionDef, opts: { bbox?: Bbox; scope: AreaCode }): RawBuilder<SqlBool>[] {
  const kept: RawBuilder<SqlBool>[] = [];
  if (def.scopeCode) kept.push(codeInScope(sql.raw<string | null>(def.scopeCode), opts.scope));
  if (opts.bbox) kept.push(intersectsIndexed(sql.raw(def.geom), envelope4326(opts.bbox)));
  return kept;
}

function where(kept: RawBuilder<SqlBool>[]) {
  return kept.length ? sql`WHERE ${sql.join(kept, sql` AND `)}` : sql``;
}

/**
 * The SQL of one page of a collection (exported so the benchmark can run it directly). The page's
 * ids are chosen first (filter, order, OFFSET over ids alone), then the Feature JSON is built for
 * those rows only: with the JSON in the paging select, PostgreSQL built it for every row before the
 * sort and the OFFSET — the whole collection for each page (a 10-feature page of the demo's 5,596
 * buildings took ~75 ms instead of ~4 ms, and a client paging by next links paid it per page).
 */
export function featurePageSql(def: CollectionDef, opts: { bbox?: Bbox; scope: AreaCode; limit: number; offset: number }) {
  return sql<FeatureRow>`
    SELECT ${featureJson(def)}
      FROM ${sql.raw(def.from)}
      JOIN (SELECT t.id AS page_id
              FROM ${sql.raw(def.from)}
              ${where(conditions(def, opts))}
             ORDER BY ${sql.raw(def.orderBy)}
             LIMIT ${opts.limit} OFFSET ${opts.offset}) page ON page.page_id = t.id
     ORDER BY ${sql.raw(def.orderBy)}`;
}

/** The SQL counting the features a page query can match. */
export function featureCountSql(def: CollectionDef, opts: { bbox?: Bbox; scope: AreaCode }) {
  return sql<{ n: number }>`SELECT count(*)::int AS n FROM ${sql.raw(def.from)} ${where(conditions(def, opts))}`;
}

/** One page of a collection, as GeoJSON Feature texts, and the total matched. */
export async function listFeatures(
  db: Db,
  def: CollectionDef,
  opts: { bbox?: Bbox; scope: AreaCode; limit: number; offset: number },
): Promise<{ rows: FeatureRow[]; numberMatched: number }> {
  const [rows, matched] = await Promise.all([featurePageSql(def, opts).execute(db), featureCountSql(def, opts).execute(db)]);
  return { rows: rows.rows, numberMatched: matched.rows[0].n };
}

/** One feature by id (a uuid), or undefined when there is none in the caller's scope. */
export async function getFeature(db: Db, def: CollectionDef, id: string, scope: AreaCode): Promise<FeatureRow | undefined> {
  const { rows } = await sql<FeatureRow>`
    SELECT ${featureJson(def)}
      FROM ${sql.raw(def.from)}
      ${where([sql<SqlBool>`t.id = ${id}::uuid`, ...conditions(def, { scope })])}`.execute(db);
  return rows[0];
}

/** Spatial extent of a collection's geometries in the caller's scope, [minLon, minLat, maxLon, maxLat]. */
export async function collectionExtent(db: Db, def: CollectionDef, scope: AreaCode): Promise<Bbox | null> {
  const { rows } = await sql<{ x1: number | null; y1: number; x2: number; y2: number }>`
    SELECT ST_XMin(e) AS x1, ST_YMin(e) AS y1, ST_XMax(e) AS x2, ST_YMax(e) AS y2
      FROM (SELECT ST_Extent(${sql.raw(def.geom)}) AS e FROM ${sql.raw(def.from)} ${where(conditions(def, { scope }))}) s`.execute(db);
  const r = rows[0];
  return r && r.x1 !== null ? [r.x1, r.y1, r.x2, r.y2] : null;
}

/** `'name', expr, ...` for json_build_object, from the allow-listed `expr AS "name"` items. */
function jsonPairs(def: CollectionDef): string {
  return def.properties
    .map((p) => {
      const m = /^(.*) AS "([A-Za-z]+)"$/.exec(p);
      if (!m) throw new Error(`collection ${def.id}: malformed property ${p}`);
      return `'${m[2]}', ${m[1]}`;
    })
    .join(', ');
}
