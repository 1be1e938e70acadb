import type pg from 'pg';

/** Rows per statement: large enough that PGlite's per-query cost (~5 ms) does not dominate, small enough to keep statements light. */
export const BATCH_ROWS = 2000;

/**
 * Inserts rows in batches through one parameter: `sql` reads them with
 * `json_to_recordset($1::json)`. One statement per batch on either database mode.
 */
export async function insertBatches(
  client: pg.ClientBase,
  sql: string,
  rows: readonly object[],
  onBatch: (done: number, total: number) => void,
): Promise<void> {
  onBatch(0, rows.length);
  for (let i = 0; i < rows.length; i += BATCH_ROWS) {
    const batch = rows.slice(i, i + BATCH_ROWS);
    await client.query(sql, [JSON.stringify(batch)]);
    onBatch(Math.min(rows.length, i + BATCH_ROWS), rows.length);
  }
}

export const INSERT_AREAS = `
  INSERT INTO areas (code, name, geom, source, source_id)
  SELECT t.code, t.name, ST_GeomFromText(t.wkt, 4326), 'generator', t.code
    FROM json_to_recordset($1::json) AS t(code text, name text, wkt text)`;

export const INSERT_GRIDS = `
  INSERT INTO grids (code, name, community_id, district_id, geom, source, source_id)
  SELECT t.code, t.name, a.id, a.district_id, ST_GeomFromText(t.wkt, 4326), 'generator', t.code
    FROM json_to_recordset($1::json) AS t(code text, name text, wkt text)
    JOIN areas a ON a.code = left(t.code, 12)`;

// grid_id and district_id come from the insert trigger (the grid holding the point on surface).
export const INSERT_BUILDINGS = `
  INSERT INTO buildings (name, address, floors, height_m, households, geom, source, source_id)
  SELECT t.name, t.address, t.floors, t.height_m, t.households, ST_GeomFromText(t.wkt, 4326), 'generator', t.sid
    FROM json_to_recordset($1::json) AS t(name text, address text, floors int, height_m real, households int, wkt text, sid text)`;

export const INSERT_ROADS = `
  INSERT INTO roads (district_id, name, class, bridge, layer, oneway, geom, source, source_id)
  SELECT a.id, t.name, t.class, t.bridge, t.layer, t.oneway, ST_GeomFromText(t.wkt, 4326), 'generator', t.sid
    FROM json_to_recordset($1::json) AS t(district text, name text, class text, bridge boolean, layer smallint, oneway boolean, wkt text, sid text)
    LEFT JOIN areas a ON a.code = t.district`;

export const INSERT_RESPONDERS = `
  INSERT INTO responders (district_id, kind, name, phone, status, position, position_at, home_grid_id)
  SELECT g.district_id, t.kind, t.name, t.phone, t.status, ST_GeomFromText(t.wkt, 4326), t.position_at, g.id
    FROM json_to_recordset($1::json) AS t(kind text, name text, phone text, status text, wkt text, position_at timestamptz, grid text)
    JOIN grids g ON g.code = t.grid`;

// The generator knows the grid of each location, so it is given (the trigger then only derives the district).
export const INSERT_INCIDENTS = `
  INSERT INTO incidents (grid_id, category, priority, status, location, address, description, reporter_contact,
                         near_border, reported_at, closed_at, created_at)
  SELECT g.id, t.category, t.priority, t.status, ST_GeomFromText(t.wkt, 4326), t.address, t.description, t.contact,
         t.near_border, t.reported_at, t.closed_at, t.reported_at
    FROM json_to_recordset($1::json)
         AS t(grid text, category text, priority text, status text, wkt text, address text, description text,
              contact text, near_border boolean, reported_at timestamptz, closed_at timestamptz)
    JOIN grids g ON g.code = t.grid`;
