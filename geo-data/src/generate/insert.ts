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
// Incidents being handled (dispatched, in progress, resolved) are assigned to a responder of their grid
// where there is one, grid workers first, in turn by the incident's index.
export const INSERT_INCIDENTS = `
  INSERT INTO incidents (grid_id, category, priority, status, location, address, description, reporter_contact,
                         near_border, reported_at, status_since, closed_at, created_at,
                         assignee_responder_id, assigned_at)
  SELECT g.id, t.category, t.priority, t.status, ST_GeomFromText(t.wkt, 4326), t.address, t.description, t.contact,
         t.near_border, t.reported_at, t.status_since, t.closed_at, t.reported_at, a.id,
         CASE WHEN a.id IS NOT NULL THEN t.reported_at + (t.status_since - t.reported_at) / 2 END
    FROM json_to_recordset($1::json)
         AS t(n int, grid text, category text, priority text, status text, wkt text, address text, description text,
              contact text, near_border boolean, reported_at timestamptz, status_since timestamptz, closed_at timestamptz)
    JOIN grids g ON g.code = t.grid
    LEFT JOIN LATERAL (
      SELECT r.id FROM responders r
       WHERE r.home_grid_id = g.id AND t.status IN ('dispatched', 'in_progress', 'resolved')
       ORDER BY r.kind <> 'grid_worker', r.name, r.phone, r.id
      OFFSET t.n % greatest(1, (SELECT count(*) FROM responders c WHERE c.home_grid_id = g.id)) LIMIT 1) a ON true`;

/**
 * After the incidents: their assignees at work are busy; each incident's report is on its timeline;
 * overdue ones carry the escalations (督办) the minute timer would have made by `$1` (one per
 * elapsed limit of the current step, at most 2), so a first start does not escalate the past at once.
 */
export const FINISH_INCIDENTS = [
  `UPDATE responders r SET status = 'busy', status_at = $1::timestamptz
    WHERE EXISTS (SELECT 1 FROM incidents i WHERE i.assignee_responder_id = r.id AND i.status IN ('dispatched', 'in_progress'))`,
  `INSERT INTO incident_transitions (incident_id, district_id, action, from_status, to_status, actor_name, at)
   SELECT i.id, i.district_id, 'report', NULL, 'reported', 'generator', i.reported_at FROM incidents i ORDER BY i.reported_at, i.id`,
  `UPDATE incidents i
      SET escalation_level = least(2, floor(extract(epoch FROM $1::timestamptz - i.status_since) / 60 / tl.limit_minutes))::smallint,
          escalated_at = i.status_since + least(2, floor(extract(epoch FROM $1::timestamptz - i.status_since) / 60 / tl.limit_minutes))
                                          * tl.limit_minutes * interval '1 minute'
     FROM incident_time_limits tl
    WHERE tl.category = i.category AND tl.status = i.status AND i.status <> 'closed'
      AND $1::timestamptz - i.status_since > tl.limit_minutes * interval '1 minute'`,
];
