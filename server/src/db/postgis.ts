/**
 * Reusable PostGIS fragments as typed Kysely expressions: geometry columns are opaque (geometry.ts),
 * so they are built and read only through these. Each helper is one PostGIS call.
 */
import { sql, type Expression, type RawBuilder, type SqlBool } from 'kysely';
import type { Geometry } from './geometry.js';

/** A GeoJSON geometry as PostgreSQL's json parser hands it to pg. */
export interface GeoJsonGeometry {
  type: string;
  coordinates: unknown;
}

/** The EPSG:4326 point at (lon, lat); both bound as parameters. */
export function pointLonLat(lon: number | Expression<number>, lat: number | Expression<number>): RawBuilder<Geometry> {
  return sql<Geometry>`ST_SetSRID(ST_MakePoint(${lon}, ${lat}), 4326)`;
}

/** X (longitude) of a point; SQL NULL for a NULL geometry (cast the result where that can happen). */
export function stX(point: Expression<unknown>): RawBuilder<number> {
  return sql<number>`ST_X(${point})`;
}

/** Y (latitude) of a point; SQL NULL for a NULL geometry (cast the result where that can happen). */
export function stY(point: Expression<unknown>): RawBuilder<number> {
  return sql<number>`ST_Y(${point})`;
}

/** The geometry as GeoJSON (json, so pg returns an object), coordinates rounded to `digits` decimals. */
export function asGeoJson(geom: Expression<unknown>, digits = 7): RawBuilder<GeoJsonGeometry> {
  return sql<GeoJsonGeometry>`ST_AsGeoJSON(${geom}, ${sql.lit(digits)})::json`;
}

/** Geodesic distance in metres between two EPSG:4326 geometries (computed on geography). */
export function distanceMetres(a: Expression<unknown>, b: Expression<unknown>): RawBuilder<number> {
  return sql<number>`ST_Distance(${a}::geography, ${b}::geography)`;
}

/** Two EPSG:4326 geometries lie within `metres` geodesic metres (geography: pair it with an `&&` prefilter for the index). */
export function dWithinMetres(a: Expression<unknown>, b: Expression<unknown>, metres: number): RawBuilder<SqlBool> {
  return sql<SqlBool>`ST_DWithin(${a}::geography, ${b}::geography, ${metres}::float8)`;
}

/** The bounding box of `geom` grown by dx and dy degrees: the index-friendly `&&` prefilter of a metric test. */
export function expandDegrees(geom: Expression<unknown>, dx: number, dy: number): RawBuilder<Geometry> {
  return sql<Geometry>`ST_Expand(${geom}, ${dx}::float8, ${dy}::float8)`;
}

/** The EPSG:4326 rectangle of a bbox [minLon, minLat, maxLon, maxLat]; the numbers bound as parameters. */
export function envelope4326([minLon, minLat, maxLon, maxLat]: readonly [number, number, number, number]): RawBuilder<Geometry> {
  return sql<Geometry>`ST_MakeEnvelope(${minLon}, ${minLat}, ${maxLon}, ${maxLat}, 4326)`;
}

/**
 * `geom` really meets `area`: `&&` finds the candidates through the GiST index of `geom`, ST_Intersects
 * keeps those that touch (bounding boxes alone would keep a feature that only comes near a corner).
 */
export function intersectsIndexed(geom: Expression<unknown>, area: Expression<unknown>): RawBuilder<SqlBool> {
  return sql<SqlBool>`(${geom} && ${area} AND ST_Intersects(${geom}, ${area}))`;
}

/** Area of a polygon on the spheroid, in square metres (ST_Area over geography). */
export function geodesicAreaSquareMetres(geom: Expression<unknown>): RawBuilder<number> {
  return sql<number>`ST_Area(${geom}::geography)`;
}
