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
  INSERT INTO responders (id, district_id, kind, name, phone, status, position, position_at, home_grid_id)
  SELECT t.id, g.district_id, t.kind, t.name, t.phone, t.status, ST_GeomFromText(t.wkt, 4326), t.position_at, g.id
    FROM json_to_recordset($1::json) AS t(id uuid, kind text, name text, phone text, status text, wkt text, position_at timestamptz, grid text)
    JOIN grids g ON g.code = t.grid`;

// The generator knows the grid of each location, so it is given (the trigger then only derives the
// district); ids, assignees, times, escalation and version come from the planned history (histories.ts).
export const INSERT_INCIDENTS = `
  INSERT INTO incidents (id, grid_id, category, priority, status, location, address, description, reporter_contact,
                         near_border, reported_at, status_since, closed_at, created_at,
                         assignee_responder_id, assignee_department, closure_rated, assigned_at, escalation_level, escalated_at, version)
  SELECT t.id, g.id, t.category, t.priority, t.status, ST_GeomFromText(t.wkt, 4326), t.address, t.description, t.contact,
         t.near_border, t.reported_at, t.status_since, t.closed_at, t.reported_at,
         t.assignee, t.department, t.rated, t.assigned_at, t.escalation_level, t.escalated_at, t.version
    FROM json_to_recordset($1::json)
         AS t(id uuid, grid text, category text, priority text, status text, wkt text, address text, description text,
              contact text, near_border boolean, reported_at timestamptz, status_since timestamptz, closed_at timestamptz,
              assignee uuid, department text, rated boolean, assigned_at timestamptz, escalation_level smallint, escalated_at timestamptz, version int)
    JOIN grids g ON g.code = t.grid`;

// The timeline, in the order given (ids follow it: the API reads a timeline by id).
export const INSERT_TRANSITIONS = `
  INSERT INTO incident_transitions (incident_id, district_id, action, from_status, to_status, actor_name, note,
                                    responder_id, department_code, escalation_level, at)
  SELECT t.incident, i.district_id, t.action, t.from_status, t.to_status, t.actor, t.note, t.responder, t.department, t.level, t.at
    FROM json_to_recordset($1::json)
         AS t(n int, incident uuid, action text, from_status text, to_status text, actor text, note text, responder uuid,
              department text, level smallint, at timestamptz)
    JOIN incidents i ON i.id = t.incident
   ORDER BY t.n`;

// 评价: a generated incident has one closure and at most one rating, both on its timeline.
export const INSERT_RATINGS = `
  INSERT INTO incident_ratings (incident_id, district_id, closure_id, transition_id, score, comment, department_code, responder_id, rated_by_name, rated_at)
  SELECT t.incident, i.district_id, c.id, r.id, t.score, t.comment, t.department, t.responder, t.actor, r.at
    FROM json_to_recordset($1::json) AS t(incident uuid, score smallint, comment text, actor text, department text, responder uuid)
    JOIN incidents i ON i.id = t.incident
    JOIN incident_transitions c ON c.incident_id = t.incident AND c.action = 'close'
    JOIN incident_transitions r ON r.incident_id = t.incident AND r.action = 'rate'`;

/** The departments with their names, and the department of each category (the histories dispatch to them). */
export const SELECT_DEPARTMENTS = 'SELECT code, name_zh FROM departments';
export const SELECT_CATEGORY_DEPARTMENTS = 'SELECT code, department_code FROM incident_categories WHERE department_code IS NOT NULL';

/** After the incidents: the assignees at work on one are busy. */
export const FINISH_INCIDENTS = [
  `UPDATE responders r SET status = 'busy', status_at = $1::timestamptz
    WHERE EXISTS (SELECT 1 FROM incidents i WHERE i.assignee_responder_id = r.id AND i.status IN ('dispatched', 'in_progress'))`,
];

/** The time limits of incident steps (minutes), which the histories follow. */
export const SELECT_TIME_LIMITS = 'SELECT category, status, limit_minutes FROM incident_time_limits';
