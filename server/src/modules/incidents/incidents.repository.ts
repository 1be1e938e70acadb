/**
 * All SQL of the incidents module that reads incidents: the Feature shape, the list, the stats,
 * categories and departments, and the checks of an intake. Functions take the db (a pool or a
 * transaction's client) first. Scope = the user's area code as a prefix of the incident's grid
 * code, in SQL; the assigned responder's account also sees its incident.
 */
import type pg from 'pg';
import type { Role } from '../../auth/permissions.js';
import { allowedActions, INCIDENT_STATUSES, type IncidentStatus } from './lifecycle.js';
import { PRIORITIES } from './incidents.schemas.js';

type Db = Pick<pg.Pool, 'query'>;

/** Who is asking: what they may see (scope) and which actions they may take. */
export interface Viewer {
  id: string;
  username: string;
  displayName: string | null;
  role: Role;
  areaCode: string;
  responderId: string | null;
  departmentCode: string | null;
}

export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The user's department (only department users have one that matters for the lifecycle). */
export async function viewerOf(db: Db, user: Omit<Viewer, 'departmentCode'>): Promise<Viewer> {
  if (user.role !== 'department') return { ...user, departmentCode: null };
  const { rows } = await db.query<{ d: string | null }>('SELECT department_code AS d FROM users WHERE id = $1', [user.id]);
  return { ...user, departmentCode: rows[0]?.d ?? null };
}

export const actorName = (v: Viewer) => v.displayName ?? v.username;

/** The end of the current step (statusSince + the category's limit for the status); null when closed or unlimited. */
export const DUE_AT = `(CASE WHEN i.status <> 'closed' THEN i.status_since + tl.limit_minutes * interval '1 minute' END)`;
export const OVERDUE = `coalesce(${DUE_AT} < now(), false)`;

const FEATURE_COLUMNS = `
  i.id::text AS id, ST_X(i.location) AS lon, ST_Y(i.location) AS lat, i.category, i.priority, i.status,
  i.status_since, i.description, i.address, i.grid_id::text AS grid_id, g.code AS grid_code, g.name AS grid_name,
  c.name AS community_name, i.near_border,
  coalesce((SELECT json_agg(json_build_object('id', ng.id::text, 'code', ng.code, 'name', ng.name) ORDER BY ng.code)
              FROM grids ng WHERE ng.id = ANY (i.near_grid_ids)), '[]'::json) AS near_grids,
  i.reported_at, i.reported_by::text AS reported_by, coalesce(u.display_name, u.username) AS reported_by_name,
  i.assignee_responder_id::text AS assignee_id, r.name AS assignee_name, i.assignee_department, i.assigned_at,
  i.escalation_level, ${DUE_AT} AS due_at, ${OVERDUE} AS overdue, i.closed_at, i.version,
  (SELECT count(*)::int FROM incident_photos p WHERE p.incident_id = i.id) AS photo_count`;

const FEATURE_FROM = `
  incidents i
  LEFT JOIN grids g ON g.id = i.grid_id
  LEFT JOIN areas c ON c.id = g.community_id
  LEFT JOIN users u ON u.id = i.reported_by
  LEFT JOIN responders r ON r.id = i.assignee_responder_id
  LEFT JOIN incident_time_limits tl ON tl.category = i.category AND tl.status = i.status`;

/** Scope condition on `i`/`g` with the area code and the viewer's responder as parameters. */
export const scopeSql = (area: string, responder: string) =>
  `(${area}::text = '*' OR g.code LIKE ${area}::text || '%' OR (${responder}::uuid IS NOT NULL AND i.assignee_responder_id = ${responder}::uuid))`;

export interface IncidentRow {
  id: string;
  lon: number;
  lat: number;
  category: string;
  priority: string;
  status: IncidentStatus;
  status_since: Date;
  description: string;
  address: string | null;
  grid_id: string | null;
  grid_code: string | null;
  grid_name: string | null;
  community_name: string | null;
  near_border: boolean;
  near_grids: { id: string; code: string; name: string }[];
  reported_at: Date;
  reported_by: string | null;
  reported_by_name: string | null;
  assignee_id: string | null;
  assignee_name: string | null;
  assignee_department: string | null;
  assigned_at: Date | null;
  escalation_level: number;
  due_at: Date | null;
  overdue: boolean;
  closed_at: Date | null;
  version: number;
  photo_count: number;
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/** The actions this viewer may take on this incident now (lifecycle.ts). */
export function actionsFor(row: Pick<IncidentRow, 'status' | 'assignee_id' | 'assignee_department'>, v: Viewer) {
  return allowedActions(row.status, {
    role: v.role,
    isAssignee: v.responderId !== null && row.assignee_id === v.responderId,
    isAssignedDepartment: v.departmentCode !== null && row.assignee_department === v.departmentCode,
  });
}

export function toFeature(row: IncidentRow, v: Viewer) {
  return {
    type: 'Feature' as const,
    id: row.id,
    geometry: { type: 'Point' as const, coordinates: [row.lon, row.lat] },
    properties: {
      id: row.id,
      category: row.category,
      priority: row.priority,
      status: row.status,
      statusSince: row.status_since.toISOString(),
      description: row.description,
      address: row.address,
      gridId: row.grid_id,
      gridCode: row.grid_code,
      gridName: row.grid_name,
      communityName: row.community_name,
      nearBorder: row.near_border,
      nearGrids: row.near_grids,
      reportedAt: row.reported_at.toISOString(),
      reportedBy: row.reported_by ? { id: row.reported_by, name: row.reported_by_name ?? '' } : null,
      assignee: row.assignee_id ? { responderId: row.assignee_id, name: row.assignee_name ?? '' } : null,
      assigneeDepartment: row.assignee_department,
      assignedAt: iso(row.assigned_at),
      escalationLevel: row.escalation_level,
      overdue: row.overdue,
      dueAt: iso(row.due_at),
      closedAt: iso(row.closed_at),
      version: row.version,
      photoCount: row.photo_count,
      allowedActions: actionsFor(row, v) as string[],
    },
  };
}
export type IncidentFeatureValue = ReturnType<typeof toFeature> & {
  properties: ReturnType<typeof toFeature>['properties'] & Record<string, unknown>;
};

/** One incident in the viewer's scope (undefined otherwise, also for a malformed id). */
export async function getIncidentRow(db: Db, id: string, v: Viewer): Promise<IncidentRow | undefined> {
  if (!UUID_RE.test(id)) return undefined;
  const { rows } = await db.query<IncidentRow>(
    `SELECT ${FEATURE_COLUMNS} FROM ${FEATURE_FROM} WHERE i.id = $1::uuid AND ${scopeSql('$2', '$3')}`,
    [id, v.areaCode, v.responderId],
  );
  return rows[0];
}

export interface TimelineRow {
  id: string;
  action: string;
  fromStatus: string | null;
  toStatus: string;
  actor: { id: string; name: string } | null;
  note: string | null;
  responder: { id: string; name: string } | null;
  departmentCode: string | null;
  escalationLevel: number | null;
  at: string;
  photoIds: string[];
}

export async function timeline(db: Db, incidentId: string): Promise<TimelineRow[]> {
  const { rows } = await db.query<{
    id: string; action: string; from_status: string | null; to_status: string; actor_id: string | null; actor_name: string | null;
    note: string | null; responder_id: string | null; responder_name: string | null; department_code: string | null;
    escalation_level: number | null; at: Date; photo_ids: string[];
  }>(
    `SELECT t.id::text, t.action, t.from_status, t.to_status, t.actor_id::text, t.actor_name, t.note,
            t.responder_id::text, r.name AS responder_name, t.department_code, t.escalation_level, t.at,
            coalesce((SELECT array_agg(p.id::text ORDER BY p.created_at, p.id) FROM incident_photos p WHERE p.transition_id = t.id), '{}') AS photo_ids
       FROM incident_transitions t LEFT JOIN responders r ON r.id = t.responder_id
      WHERE t.incident_id = $1 ORDER BY t.id`,
    [incidentId],
  );
  return rows.map((t) => ({
    id: t.id,
    action: t.action,
    fromStatus: t.from_status,
    toStatus: t.to_status,
    actor: t.actor_id ? { id: t.actor_id, name: t.actor_name ?? '' } : null,
    note: t.note,
    responder: t.responder_id ? { id: t.responder_id, name: t.responder_name ?? '' } : null,
    departmentCode: t.department_code,
    escalationLevel: t.escalation_level,
    at: t.at.toISOString(),
    photoIds: t.photo_ids,
  }));
}

export async function photos(db: Db, incidentId: string) {
  const { rows } = await db.query<{ id: string; content_type: string; byte_size: number; transition_id: string | null; created_at: Date }>(
    `SELECT id::text, content_type, byte_size, transition_id::text, created_at FROM incident_photos
      WHERE incident_id = $1 ORDER BY created_at, id`,
    [incidentId],
  );
  return rows.map((p) => ({
    id: p.id,
    url: photoUrl(incidentId, p.id),
    contentType: p.content_type,
    byteSize: p.byte_size,
    transitionId: p.transition_id,
    createdAt: p.created_at.toISOString(),
  }));
}

export const photoUrl = (incidentId: string, photoId: string) => `/api/incidents/${incidentId}/photos/${photoId}`;

/** The incident Feature with its timeline and photos (GET /api/incidents/{id}, transition answers). */
export async function incidentDetail(db: Db, id: string, v: Viewer) {
  const row = await getIncidentRow(db, id, v);
  if (!row) return undefined;
  const [tl, ph] = await Promise.all([timeline(db, id), photos(db, id)]);
  const f = toFeature(row, v);
  return { ...f, properties: { ...f.properties, timeline: tl, photos: ph } };
}

// ---------------------------------------------------------------------------------------------
// Intake checks

/** Degrees that cover at least `metres` around a latitude (an index-friendly box before the geodesic test). */
export function degreeBox(metres: number, lat: number): { dx: number; dy: number } {
  const dy = (metres * 1.05) / 110_574;
  const dx = Math.min(180, (metres * 1.05) / (111_320 * Math.max(0.01, Math.cos((lat * Math.PI) / 180))));
  return { dx, dy };
}

export const NEAR_BORDER_METRES = 30;
export const DUPLICATE_METRES = 50;

export interface PlaceCheck {
  categoryKnown: boolean;
  gridId: string | null;
  gridCode: string | null;
  districtId: string | null;
  nearGridIds: string[];
}

/**
 * In one statement: is the category known, the grid holding the point (grid_at, as the insert
 * trigger), and the other grids within 30 geodesic metres of it.
 */
export async function checkPlace(db: Db, category: string, lon: number, lat: number): Promise<PlaceCheck> {
  const { dx, dy } = degreeBox(NEAR_BORDER_METRES, lat);
  const { rows } = await db.query<{ known: boolean; grid_id: string | null; grid_code: string | null; district_id: string | null; near: string[] }>(
    `WITH p AS (SELECT ST_SetSRID(ST_MakePoint($2::float8, $3::float8), 4326) AS geom),
          own AS (SELECT g.id, g.code, g.district_id FROM p, grids g WHERE g.id = grid_at(p.geom))
     SELECT EXISTS (SELECT 1 FROM incident_categories WHERE code = $1) AS known,
            (SELECT id::text FROM own) AS grid_id, (SELECT code FROM own) AS grid_code, (SELECT district_id::text FROM own) AS district_id,
            coalesce((SELECT array_agg(g.id::text ORDER BY g.code) FROM p, grids g
                       WHERE g.id IS DISTINCT FROM (SELECT id FROM own)
                         AND g.geom && ST_Expand(p.geom, $4::float8, $5::float8)
                         AND ST_DWithin(g.geom::geography, p.geom::geography, ${NEAR_BORDER_METRES})), '{}') AS near`,
    [category, lon, lat, dx, dy],
  );
  const r = rows[0];
  return { categoryKnown: r.known, gridId: r.grid_id, gridCode: r.grid_code, districtId: r.district_id, nearGridIds: r.near };
}

/** Same category, within 50 m and the last 24 h, open or closed, in the viewer's scope, nearest first, at most 10. */
export async function possibleDuplicates(db: Db, exceptId: string, category: string, lon: number, lat: number, v: Viewer) {
  const { dx, dy } = degreeBox(DUPLICATE_METRES, lat);
  const { rows } = await db.query<{ id: string; status: string; description: string; reported_at: Date; d: number }>(
    `WITH p AS (SELECT ST_SetSRID(ST_MakePoint($2::float8, $3::float8), 4326) AS geom)
     SELECT i.id::text, i.status, i.description, i.reported_at, ST_Distance(i.location::geography, p.geom::geography) AS d
       FROM p, incidents i LEFT JOIN grids g ON g.id = i.grid_id
      WHERE i.category = $1 AND i.id <> $4::uuid AND i.reported_at > now() - interval '24 hours'
        AND i.location && ST_Expand(p.geom, $5::float8, $6::float8)
        AND ST_DWithin(i.location::geography, p.geom::geography, ${DUPLICATE_METRES})
        AND ${scopeSql('$7', '$8')}
      ORDER BY d, i.reported_at DESC LIMIT 10`,
    [category, lon, lat, exceptId, dx, dy, v.areaCode, v.responderId],
  );
  return rows.map((r) => ({ id: r.id, status: r.status, description: r.description, reportedAt: r.reported_at.toISOString(), distanceMetres: Math.round(r.d * 10) / 10 }));
}

// ---------------------------------------------------------------------------------------------
// List and stats

export interface ListOptions {
  status?: string[];
  category?: string;
  priority?: string[];
  gridCode?: string;
  overdue?: boolean;
  escalated?: boolean;
  from?: Date;
  to?: Date;
  q?: string;
  assignedToMe?: boolean;
  department?: string;
  sort?: '-reportedAt' | 'reportedAt' | '-priority' | 'dueAt';
  limit: number;
  offset: number;
}

const SORTS: Record<NonNullable<ListOptions['sort']>, string> = {
  '-reportedAt': 'i.reported_at DESC, i.id DESC',
  reportedAt: 'i.reported_at ASC, i.id ASC',
  '-priority': `array_position(ARRAY['low','normal','high','urgent']::text[], i.priority) DESC, i.reported_at DESC, i.id DESC`,
  dueAt: `${DUE_AT} ASC NULLS LAST, i.reported_at ASC, i.id ASC`,
};

/** A literal ILIKE pattern: the text's own %, _ and \ are escaped. */
export const likeLiteral = (text: string) => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

export async function listIncidents(db: Db, v: Viewer, o: ListOptions) {
  const params: unknown[] = [v.areaCode, v.responderId];
  const where: string[] = [scopeSql('$1', '$2')];
  const bind = (value: unknown) => `$${params.push(value)}`;
  if (o.status?.length) where.push(`i.status = ANY (${bind(o.status)}::text[])`);
  if (o.category) where.push(`i.category = ${bind(o.category)}`);
  if (o.priority?.length) where.push(`i.priority = ANY (${bind(o.priority)}::text[])`);
  if (o.gridCode) where.push(`g.code LIKE ${bind(o.gridCode)} || '%'`);
  if (o.overdue === true) where.push(OVERDUE);
  if (o.overdue === false) where.push(`NOT ${OVERDUE}`);
  if (o.escalated === true) where.push('i.escalation_level >= 1');
  if (o.escalated === false) where.push('i.escalation_level = 0');
  if (o.from) where.push(`i.reported_at >= ${bind(o.from)}::timestamptz`);
  if (o.to) where.push(`i.reported_at < ${bind(o.to)}::timestamptz`);
  if (o.q) {
    const p = bind(likeLiteral(o.q));
    where.push(`(i.description ILIKE ${p} OR i.address ILIKE ${p})`);
  }
  if (o.assignedToMe) {
    if (v.responderId) where.push(`i.assignee_responder_id = ${bind(v.responderId)}::uuid`);
    else if (v.departmentCode) where.push(`i.assignee_department = ${bind(v.departmentCode)}`);
    else where.push('false');
  }
  if (o.department) where.push(`i.assignee_department = ${bind(o.department)}`);
  const whereSql = where.join(' AND ');
  const countParams = [...params];
  const pageSql = `SELECT ${FEATURE_COLUMNS} FROM ${FEATURE_FROM} WHERE ${whereSql}
                    ORDER BY ${SORTS[o.sort ?? '-reportedAt']} LIMIT ${bind(o.limit)} OFFSET ${bind(o.offset)}`;
  const [page, count] = await Promise.all([
    db.query<IncidentRow>(pageSql, params),
    db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${FEATURE_FROM} WHERE ${whereSql}`, countParams),
  ]);
  const features = page.rows.map((r) => toFeature(r, v));
  return { type: 'FeatureCollection' as const, features, numberMatched: count.rows[0].n, numberReturned: features.length };
}

export async function incidentStats(db: Db, v: Viewer) {
  const { rows } = await db.query<{ open: number; overdue: number; urgent_open: number; escalated: number; by_status: Record<string, number> | null }>(
    `SELECT count(*) FILTER (WHERE i.status <> 'closed')::int AS open,
            count(*) FILTER (WHERE ${OVERDUE})::int AS overdue,
            count(*) FILTER (WHERE i.status <> 'closed' AND i.priority = 'urgent')::int AS urgent_open,
            count(*) FILTER (WHERE i.status <> 'closed' AND i.escalation_level >= 1)::int AS escalated,
            (SELECT json_object_agg(s.status, s.n) FROM (
               SELECT i.status, count(*)::int AS n FROM incidents i LEFT JOIN grids g ON g.id = i.grid_id
                WHERE ${scopeSql('$1', '$2')} GROUP BY i.status) s) AS by_status
       FROM incidents i
       LEFT JOIN grids g ON g.id = i.grid_id
       LEFT JOIN incident_time_limits tl ON tl.category = i.category AND tl.status = i.status
      WHERE ${scopeSql('$1', '$2')}`,
    [v.areaCode, v.responderId],
  );
  const r = rows[0];
  const byStatus: Record<string, number> = Object.fromEntries(INCIDENT_STATUSES.map((s) => [s, 0]));
  Object.assign(byStatus, r.by_status ?? {});
  return { open: r.open, overdue: r.overdue, urgentOpen: r.urgent_open, escalated: r.escalated, byStatus };
}

export async function listCategories(db: Db) {
  const { rows } = await db.query<{ code: string; name_zh: string; name_en: string; department_code: string | null; limits: Record<string, number> | null }>(
    `SELECT c.code, c.name_zh, c.name_en, c.department_code,
            (SELECT json_object_agg(t.status, t.limit_minutes) FROM incident_time_limits t WHERE t.category = c.code) AS limits
       FROM incident_categories c ORDER BY c.sort, c.code`,
  );
  return rows.map((c) => ({ code: c.code, nameZh: c.name_zh, nameEn: c.name_en, departmentCode: c.department_code, timeLimits: c.limits ?? {} }));
}

export async function listDepartments(db: Db) {
  const { rows } = await db.query<{ code: string; nameZh: string; nameEn: string }>(
    'SELECT code, name_zh AS "nameZh", name_en AS "nameEn" FROM departments ORDER BY sort, code',
  );
  return rows;
}

export const isPriority = (p: string) => (PRIORITIES as readonly string[]).includes(p);
export const isStatus = (s: string): s is IncidentStatus => (INCIDENT_STATUSES as readonly string[]).includes(s);
