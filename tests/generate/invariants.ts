import type pg from 'pg';

/**
 * The properties every generated data set must have, measured by PostGIS. Areas are in square
 * metres in UTM zone 51N (EPSG:32651, Shanghai's zone).
 */
export interface Invariants {
  /** Largest symmetric difference between a parent area and the union of its children (m²). */
  maxTilingGapM2: number;
  /** Parents (districts, 街道, 社区) without children. */
  childlessAreas: number;
  /** Largest overlap between two grids (m²). */
  maxGridOverlapM2: number;
  buildings: number;
  /** Buildings whose grid_id is null, or whose grid does not hold their point on surface. */
  buildingsNotInTheirGrid: number;
  /** Buildings whose point on surface lies in other than exactly one grid. */
  buildingsNotInExactlyOneGrid: number;
  /** Buildings not wholly inside their grid. */
  buildingsCrossingGridEdges: number;
  /** Incidents whose location is outside their grid (or who have none). */
  incidentsOutsideTheirGrid: number;
  /** Codes: malformed, not extending the parent's code, or disagreeing with parent_id. */
  badAreaCodes: number;
  badGridCodes: number;
  /** Rows that the generator wrote but did not mark as its own. */
  unmarkedRows: number;
}

const one = async <T>(pool: pg.Pool, sql: string): Promise<T> => (await pool.query(sql)).rows[0] as T;
const metric = (g: string) => `ST_Area(ST_Transform(${g}, 32651))`;

export async function measureInvariants(pool: pg.Pool): Promise<Invariants> {
  const tiling = await one<{ gap: number; childless: number }>(
    pool,
    `WITH children AS (
       SELECT parent_id AS id, ST_Union(geom) AS geom FROM areas WHERE parent_id IS NOT NULL GROUP BY parent_id
       UNION ALL
       SELECT community_id, ST_Union(geom) FROM grids GROUP BY community_id)
     SELECT coalesce(max(${metric('ST_SymDifference(a.geom, c.geom)')}), 0)::float8 AS gap,
            count(*) FILTER (WHERE c.id IS NULL)::int AS childless
       FROM areas a LEFT JOIN children c ON c.id = a.id`,
  );
  const overlap = await one<{ overlap: number }>(
    pool,
    `SELECT coalesce(max(${metric('ST_Intersection(g1.geom, g2.geom)')}), 0)::float8 AS overlap
       FROM grids g1 JOIN grids g2 ON g1.code < g2.code AND ST_Intersects(g1.geom, g2.geom)`,
  );
  const buildings = await one<{ n: number; not_theirs: number; not_one: number; crossing: number }>(
    pool,
    `SELECT count(*)::int AS n,
            count(*) FILTER (WHERE g.id IS NULL OR NOT ST_Intersects(g.geom, ST_PointOnSurface(b.geom)))::int AS not_theirs,
            count(*) FILTER (WHERE c.n <> 1)::int AS not_one,
            count(*) FILTER (WHERE g.id IS NOT NULL AND NOT ST_CoveredBy(b.geom, g.geom))::int AS crossing
       FROM buildings b
       LEFT JOIN grids g ON g.id = b.grid_id
       CROSS JOIN LATERAL (SELECT count(*) AS n FROM grids g2 WHERE ST_Intersects(g2.geom, ST_PointOnSurface(b.geom))) c`,
  );
  const incidents = await one<{ n: number }>(
    pool,
    `SELECT count(*)::int AS n FROM incidents i LEFT JOIN grids g ON g.id = i.grid_id
      WHERE g.id IS NULL OR NOT ST_Intersects(g.geom, i.location)`,
  );
  const codes = await one<{ areas: number; grids: number }>(
    pool,
    `SELECT (SELECT count(*) FROM areas a LEFT JOIN areas p ON p.id = a.parent_id
              WHERE NOT (a.code ~ '^[0-9]{6}$' AND a.level = 'district' AND a.parent_id IS NULL
                      OR a.code ~ '^[0-9]{9}$' AND a.level = 'street' AND p.level = 'district' AND left(a.code, 6) = p.code
                      OR a.code ~ '^[0-9]{12}$' AND a.level = 'community' AND p.level = 'street' AND left(a.code, 9) = p.code)
            )::int AS areas,
            (SELECT count(*) FROM grids g LEFT JOIN areas c ON c.id = g.community_id
              WHERE NOT (g.code ~ '^[0-9]{15}$' AND right(g.code, 3) <> '000' AND c.level = 'community'
                         AND left(g.code, 12) = c.code AND g.district_id = c.district_id)
            )::int AS grids`,
  );
  const unmarked = await one<{ n: number }>(
    pool,
    `SELECT ((SELECT count(*) FROM areas WHERE source IS DISTINCT FROM 'generator')
           + (SELECT count(*) FROM grids WHERE source IS DISTINCT FROM 'generator')
           + (SELECT count(*) FROM buildings WHERE source IS DISTINCT FROM 'generator')
           + (SELECT count(*) FROM roads WHERE source IS DISTINCT FROM 'generator'))::int AS n`,
  );
  return {
    maxTilingGapM2: tiling.gap,
    childlessAreas: tiling.childless,
    maxGridOverlapM2: overlap.overlap,
    buildings: buildings.n,
    buildingsNotInTheirGrid: buildings.not_theirs,
    buildingsNotInExactlyOneGrid: buildings.not_one,
    buildingsCrossingGridEdges: buildings.crossing,
    incidentsOutsideTheirGrid: incidents.n,
    badAreaCodes: codes.areas,
    badGridCodes: codes.grids,
    unmarkedRows: unmarked.n,
  };
}

/** A digest of the generated data that leaves out random ids and insert times. */
export async function fingerprint(pool: pg.Pool): Promise<Record<string, string>> {
  return one(
    pool,
    `SELECT (SELECT md5(string_agg(code || name || ST_AsEWKB(geom)::text, ',' ORDER BY code)) FROM areas) AS areas,
            (SELECT md5(string_agg(code || name || ST_AsEWKB(geom)::text, ',' ORDER BY code)) FROM grids) AS grids,
            (SELECT md5(string_agg(source_id || coalesce(name, '') || households || ST_AsEWKB(geom)::text, ',' ORDER BY source_id)) FROM buildings) AS buildings,
            (SELECT md5(string_agg(source_id || class || ST_AsEWKB(geom)::text, ',' ORDER BY source_id)) FROM roads) AS roads,
            (SELECT md5(string_agg(x, ',' ORDER BY x)) FROM (
               SELECT kind || name || status || coalesce(ST_AsText(position), '') || coalesce(position_at::text, '') AS x FROM responders) r) AS responders,
            (SELECT md5(string_agg(x, ',' ORDER BY x)) FROM (
               SELECT reported_at::text || category || status || description || ST_AsText(location) AS x FROM incidents) i) AS incidents`,
  );
}

/**
 * What a generated (or simulated) incident's history must be: the report, then each step the
 * lifecycle allows from the status before it, in time order, up to the incident's status; the
 * incident's columns agree with its timeline (status_since, closing, assignee, escalation,
 * version); a step longer than its limit was escalated in it, and each escalation came after a
 * whole limit; actors are plausible. `problems` names the first few violations.
 */
export interface HistoryReport {
  incidents: number;
  open: number;
  /** Open incidents past their step's limit at `now`. */
  overdue: number;
  /** Open incidents with an escalation level but not overdue. */
  escalatedNotOverdue: number;
  problems: string[];
  problemCount: number;
}

const TARGET: Record<string, string> = {
  report: 'reported', accept: 'accepted', dispatch: 'dispatched', start: 'in_progress', resolve: 'resolved', reject: 'rejected',
  verify: 'verified', close: 'closed', reopen: 'reopened',
};
const FROM: Record<string, string[]> = {
  accept: ['reported', 'reopened'],
  dispatch: ['reported', 'accepted', 'dispatched', 'rejected', 'reopened'],
  start: ['dispatched'],
  resolve: ['in_progress'],
  reject: ['dispatched', 'in_progress'],
  verify: ['resolved'],
  close: ['verified', 'reported', 'accepted', 'rejected', 'reopened'],
  reopen: ['resolved', 'verified', 'closed'],
};
const COMMAND_ACTIONS = new Set(['report', 'accept', 'dispatch', 'verify', 'close', 'reopen']);
const HANDLER_ACTIONS = new Set(['start', 'resolve', 'reject']);

/**
 * Actors: `generated` — names as the generator writes them (the command centre's name for its
 * steps, the assignee's name for a handler's, a grid worker of the grid or the command centre for
 * the report, 'system' for escalations); `accounts` — every step but escalations by an account:
 * command steps by a commander or admin, a handler's step by the assignee's own account, the
 * assigned department's account, or the command centre on its behalf (a note 代<name>登记…).
 */
export async function measureHistories(
  pool: pg.Pool,
  now: Date,
  opts: {
    actors: 'generated' | 'accounts';
    commandCentre?: string;
    since?: Date;
    /** How long a step may overrun its limit before the escalation timer must have escalated it (default 1 s). */
    escalationSlackMs?: number;
  } = { actors: 'generated' },
): Promise<HistoryReport> {
  const incidents = (await pool.query<{
    id: string; status: string; category: string; status_since: Date; reported_at: Date; closed_at: Date | null; assignee: string | null;
    department: string | null; assigned_at: Date | null; escalation_level: number; escalated_at: Date | null; version: number; grid_id: string | null;
  }>(`SELECT id::text, status, category, status_since, reported_at, closed_at, assignee_responder_id::text AS assignee,
             assignee_department AS department, assigned_at, escalation_level, escalated_at, version, grid_id::text
        FROM incidents ${opts.since ? 'WHERE reported_at >= $1' : ''} ORDER BY id`, opts.since ? [opts.since] : [])).rows;
  const steps = (await pool.query<{
    incident_id: string; action: string; from_status: string | null; to_status: string; actor_id: string | null; actor_name: string | null;
    note: string | null; responder_id: string | null; department_code: string | null; escalation_level: number | null; at: Date;
  }>(`SELECT incident_id::text, action, from_status, to_status, actor_id::text, actor_name, note, responder_id::text, department_code,
             escalation_level, at FROM incident_transitions ORDER BY incident_id, id`)).rows;
  const responders = new Map((await pool.query<{ id: string; name: string; kind: string; home: string | null; user_id: string | null; status: string }>(
    `SELECT id::text, name, kind, home_grid_id::text AS home, user_id::text, status FROM responders`)).rows.map((r) => [r.id, r]));
  const users = new Map((await pool.query<{ id: string; role: string; responder: string | null; department: string | null; name: string }>(
    `SELECT u.id::text, u.role, r.id::text AS responder, u.department_code AS department, coalesce(u.display_name, u.username) AS name
       FROM users u LEFT JOIN responders r ON r.user_id = u.id`)).rows.map((u) => [u.id, u]));
  const departments = new Map((await pool.query<{ code: string; name_zh: string }>(`SELECT code, name_zh FROM departments`)).rows.map((d) => [d.code, d.name_zh]));
  const limits = new Map((await pool.query<{ category: string; status: string; limit_minutes: number }>(
    `SELECT category, status, limit_minutes FROM incident_time_limits`)).rows.map((l) => [`${l.category}/${l.status}`, l.limit_minutes * 60_000]));
  const byIncident = new Map<string, typeof steps>();
  for (const s of steps) byIncident.set(s.incident_id, [...(byIncident.get(s.incident_id) ?? []), s]);

  const problems: string[] = [];
  let problemCount = 0;
  const bad = (id: string, what: string) => {
    problemCount++;
    if (problems.length < 12) problems.push(`${id}: ${what}`);
  };
  const commandCentre = opts.commandCentre ?? '指挥中心';
  let open = 0;
  let overdue = 0;
  let escalatedNotOverdue = 0;
  const activeOf = new Map<string, string>();
  for (const inc of incidents) {
    const rows = byIncident.get(inc.id) ?? [];
    const t = (d: Date) => d.getTime();
    if (!rows.length || rows[0].action !== 'report' || rows[0].from_status !== null || rows[0].to_status !== 'reported') {
      bad(inc.id, 'does not start with its report');
      continue;
    }
    if (Math.abs(t(rows[0].at) - t(inc.reported_at)) >= 1000) bad(inc.id, 'report time is not reported_at');
    let status = 'reported';
    let since = rows[0].at;
    let level = 0;
    let lastEscalation: Date | null = null;
    let assignee: { responder: string | null; department: string | null } | null = null;
    let assignedAt: Date | null = null;
    let closedAt: Date | null = null;
    for (let k = 0; k < rows.length; k++) {
      const s = rows[k];
      if (k > 0 && t(s.at) <= t(rows[k - 1].at)) bad(inc.id, `step ${k} (${s.action}) not after the one before`);
      if (t(s.at) > t(now)) bad(inc.id, `step ${k} (${s.action}) in the future`);
      if (k > 0) {
        // A step that overran its limit was escalated in it (up to the district level).
        const limit = limits.get(`${inc.category}/${status}`);
        if (s.action !== 'escalate' && limit !== undefined && t(s.at) - t(since) > limit + (opts.escalationSlackMs ?? 1000)) {
          const inStep = rows.slice(0, k).filter((r) => r.action === 'escalate' && t(r.at) >= t(since)).length;
          if (inStep === 0 && level < 2) bad(inc.id, `${status} overran its limit before ${s.action} without an escalation`);
        }
      }
      if (s.action === 'escalate') {
        const limit = limits.get(`${inc.category}/${status}`);
        if (s.from_status !== status || s.to_status !== status) bad(inc.id, 'escalation changes the status');
        if (limit === undefined || t(s.at) + 1000 < Math.max(t(since), t(lastEscalation ?? since)) + limit) bad(inc.id, 'escalation before a whole limit');
        level++;
        lastEscalation = s.at;
        if (s.escalation_level !== level) bad(inc.id, `escalation ${level} recorded as ${s.escalation_level}`);
        if (s.actor_name !== 'system' || s.actor_id !== null) bad(inc.id, 'escalation not by the system');
        continue;
      }
      if (k === 0) continue;
      // 评价: once, on a closed incident (the status and its time stay), by the grid's worker or the
      // command centre (generated), by a command or grid worker account (bound).
      if (s.action === 'rate') {
        if (status !== 'closed' || s.from_status !== 'closed' || s.to_status !== 'closed') bad(inc.id, `rate from ${status}`);
        if (rows.slice(0, k).some((r) => r.action === 'rate')) bad(inc.id, 'rated twice');
        if (opts.actors === 'generated') {
          const worker = [...responders.values()].some((r) => r.kind === 'grid_worker' && r.home === inc.grid_id && r.name === s.actor_name);
          if (s.actor_name !== commandCentre && !worker) bad(inc.id, `rated by ${s.actor_name}`);
        } else {
          const u = s.actor_id ? users.get(s.actor_id) : undefined;
          if (!u || !['admin', 'commander', 'grid_worker'].includes(u.role)) bad(inc.id, `rated by ${u?.role ?? 'no account'}`);
        }
        continue;
      }
      if (!(s.action in FROM) || !FROM[s.action].includes(status)) bad(inc.id, `${s.action} from ${status}`);
      if (s.from_status !== status) bad(inc.id, `step ${k} (${s.action}) from ${s.from_status}, status was ${status}`);
      if (s.to_status !== TARGET[s.action]) bad(inc.id, `${s.action} to ${s.to_status}`);
      if (s.escalation_level !== level) bad(inc.id, `${s.action} records level ${s.escalation_level}, was ${level}`);
      if ((s.action === 'reject' || (s.action === 'close' && status !== 'verified')) && !s.note) bad(inc.id, `${s.action} from ${status} without a note`);
      if (s.action === 'dispatch') {
        if ((s.responder_id === null) === (s.department_code === null)) bad(inc.id, 'dispatch without exactly one target');
        assignee = { responder: s.responder_id, department: s.department_code };
        assignedAt = s.at;
      }
      // The actor.
      const handlerName = assignee?.responder ? responders.get(assignee.responder)?.name : assignee?.department ? departments.get(assignee.department) : undefined;
      if (opts.actors === 'generated') {
        if (COMMAND_ACTIONS.has(s.action) && s.actor_name !== commandCentre) bad(inc.id, `${s.action} by ${s.actor_name}`);
        if (HANDLER_ACTIONS.has(s.action) && s.actor_name !== handlerName) bad(inc.id, `${s.action} by ${s.actor_name}, assignee ${handlerName}`);
      } else {
        const u = s.actor_id ? users.get(s.actor_id) : undefined;
        const command = u && (u.role === 'admin' || u.role === 'commander');
        if (!u) bad(inc.id, `${s.action} by no account (${s.actor_name})`);
        else if (COMMAND_ACTIONS.has(s.action) && !command) bad(inc.id, `${s.action} by a ${u.role}`);
        else if (HANDLER_ACTIONS.has(s.action)) {
          const own = (assignee?.responder && u.responder === assignee.responder) || (assignee?.department && u.role === 'department' && u.department === assignee.department);
          const onBehalf = command && s.note?.startsWith(`代${handlerName}登记`);
          if (!own && !onBehalf) bad(inc.id, `${s.action} by ${u.name} (${u.role}) for ${handlerName}: ${s.note}`);
        }
        if (u && s.actor_name !== u.name) bad(inc.id, `actor name ${s.actor_name} is not ${u.name}`);
      }
      if (s.action === 'close') closedAt = s.at;
      if (s.action === 'reopen') closedAt = null;
      status = s.to_status;
      since = s.at;
    }
    // The report's actor.
    const report = rows[0];
    if (opts.actors === 'generated') {
      const worker = [...responders.values()].some((r) => r.kind === 'grid_worker' && r.home === inc.grid_id && r.name === report.actor_name);
      if (report.actor_name !== commandCentre && !worker) bad(inc.id, `reported by ${report.actor_name}`);
    }
    // (A step's row takes the statement's time, the incident's columns the transaction's: a moment apart.)
    const same = (a: Date | null, b: Date | null) => (a === null) === (b === null) && (a === null || Math.abs(t(a) - t(b!)) < 1000);
    if (status !== inc.status) bad(inc.id, `timeline ends in ${status}, incident is ${inc.status}`);
    if (!same(since, inc.status_since)) bad(inc.id, 'status_since is not the last step');
    if (!same(closedAt, inc.closed_at)) bad(inc.id, 'closed_at is not the closing step');
    if ((assignee?.responder ?? null) !== inc.assignee || (assignee?.department ?? null) !== inc.department) bad(inc.id, 'assignee is not the last dispatch');
    if (!same(assignedAt, inc.assigned_at)) bad(inc.id, 'assigned_at is not the last dispatch');
    if (level !== inc.escalation_level) bad(inc.id, `escalation level ${inc.escalation_level}, timeline ${level}`);
    if (!same(lastEscalation, inc.escalated_at)) bad(inc.id, 'escalated_at is not the last escalation');
    if (opts.actors === 'generated' && inc.version !== rows.length) bad(inc.id, `version ${inc.version}, ${rows.length} steps`);
    if (inc.status === 'closed') continue;
    open++;
    const limit = limits.get(`${inc.category}/${inc.status}`);
    const late = limit !== undefined && t(now) > t(inc.status_since) + limit;
    if (late) overdue++;
    else if (inc.escalation_level > 0) escalatedNotOverdue++;
    if (['dispatched', 'in_progress'].includes(inc.status) && inc.assignee) {
      const r = responders.get(inc.assignee);
      if (r?.status !== 'busy') bad(inc.id, `assignee at work is ${r?.status}`);
      if (activeOf.has(inc.assignee)) bad(inc.id, `assignee also at work on ${activeOf.get(inc.assignee)}`);
      activeOf.set(inc.assignee, inc.id);
    }
  }
  return { incidents: incidents.length, open, overdue, escalatedNotOverdue, problems, problemCount };
}
