import type { ColumnType } from 'kysely';

/**
 * PostGIS geometry and geography columns as the generated table types see them: opaque values,
 * written and read only through PostGIS functions (db/postgis.ts), never as raw values.
 */
export type Geometry = ColumnType<unknown, unknown, unknown>;

/** A generated geometry column (the EPSG:3857 copies): read through PostGIS, never written. */
export type GeneratedGeometry = ColumnType<unknown, never, never>;
