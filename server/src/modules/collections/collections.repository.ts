import { sql, type Kysely } from 'kysely';
import type { DB } from '../../db/types.js';
import type { CollectionDef } from './collections.registry.js';

export type Bbox = [number, number, number, number];

/** A GeoJSON Feature serialised by PostgreSQL: the API passes it through without parsing it. */
export interface FeatureRow {
  feature: string;
}

/** The Feature object of the current row `t`, as JSON text. */
function featureJson(def: CollectionDef) {
  return sql`json_build_object('type', 'Feature', 'id', t.id::text,
      'geometry', ST_AsGeoJSON(${sql.raw(def.geom)}, 7)::json,
      'properties', json_build_object(${sql.raw(jsonPairs(def))}))::text AS feature`;
}

/** '*' (everything) or an area/grid code: what the caller may see. */
export type Scope = string;

/** The WHERE clause: the caller's scope (in SQL, never filtered after the fetch) and the bbox. */
function whereClause(def: CollectionDef, opts: { bbox?: Bbox; scope: Scope }) {
  const conditions = [];
  if (opts.scope !== '*' && def.scopeCode) conditions.push(sql`${sql.raw(def.scopeCode)} LIKE ${opts.scope} || '%'`);
  if (opts.bbox) {
    const [minX, minY, maxX, maxY] = opts.bbox;
    // && uses the GiST index; ST_Intersects keeps only features that really touch the box.
    conditions.push(sql`${sql.raw(def.geom)} && ST_MakeEnvelope(${minX}, ${minY}, ${maxX}, ${maxY}, 4326)
      AND ST_Intersects(${sql.raw(def.geom)}, ST_MakeEnvelope(${minX}, ${minY}, ${maxX}, ${maxY}, 4326))`);
  }
  return conditions.length ? sql`WHERE ${sql.join(conditions, sql` AND `)}` : sql``;
}

/** The SQL of one page of a collection (exported so the benchmark can run it directly). */
export function featurePageSql(def: CollectionDef, opts: { bbox?: Bbox; scope: Scope; limit: number; offset: number }) {
  return sql<FeatureRow>`
    SELECT ${featureJson(def)}
      FROM ${sql.raw(def.from)}
      ${whereClause(def, opts)}
     ORDER BY ${sql.raw(def.orderBy)}
     LIMIT ${opts.limit} OFFSET ${opts.offset}`;
}

/** The SQL counting the features a page query can match. */
export function featureCountSql(def: CollectionDef, opts: { bbox?: Bbox; scope: Scope }) {
  return sql<{ n: number }>`SELECT count(*)::int AS n FROM ${sql.raw(def.from)} ${whereClause(def, opts)}`;
}

/** One page of a collection, as GeoJSON Feature texts, and the total matched. */
export async function listFeatures(
  db: Kysely<DB>,
  def: CollectionDef,
  opts: { bbox?: Bbox; scope: Scope; limit: number; offset: number },
): Promise<{ rows: FeatureRow[]; numberMatched: number }> {
  const [rows, matched] = await Promise.all([featurePageSql(def, opts).execute(db), featureCountSql(def, opts).execute(db)]);
  return { rows: rows.rows, numberMatched: matched.rows[0].n };
}

/** One feature by id, or undefined. */
export async function getFeature(db: Kysely<DB>, def: CollectionDef, id: string, scope: Scope): Promise<FeatureRow | undefined> {
  const inScope = scope !== '*' && def.scopeCode ? sql`AND ${sql.raw(def.scopeCode)} LIKE ${scope} || '%'` : sql``;
  const { rows } = await sql<FeatureRow>`
    SELECT ${featureJson(def)}
      FROM ${sql.raw(def.from)}
     WHERE t.id = ${id}::uuid ${inScope}`.execute(db);
  return rows[0];
}

/** Spatial extent of a collection's geometries, [minLon, minLat, maxLon, maxLat]. */
export async function collectionExtent(db: Kysely<DB>, def: CollectionDef, scope: Scope): Promise<Bbox | null> {
  const { rows } = await sql<{ x1: number | null; y1: number; x2: number; y2: number }>`
    SELECT ST_XMin(e) AS x1, ST_YMin(e) AS y1, ST_XMax(e) AS x2, ST_YMax(e) AS y2
      FROM (SELECT ST_Extent(${sql.raw(def.geom)}) AS e FROM ${sql.raw(def.from)} ${whereClause(def, { scope })}) s`.execute(db);
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
