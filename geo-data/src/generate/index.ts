import type pg from 'pg';
import { noProgress, type Progress } from '../progress.js';
import { rebuildRoadNetwork } from '../roads/noding.js';
import { placeBuildings } from './buildings.js';
import { placeIncidents } from './incidents.js';
import { planHistories } from './histories.js';
import * as sql from './insert.js';
import { layoutCity, type AreaPlan } from './layout.js';
import { PRESET_SPECS, PRESETS, type Preset } from './presets.js';
import { Random } from './random.js';
import { buildRoads } from './roads.js';
import { GridLand, placeResponders } from './responders.js';

export { PRESETS, type Preset };

export interface GenerateOptions {
  preset: Preset;
  /** Same seed, same preset: the same district, geometry for geometry. */
  seed: number;
  onProgress?: Progress;
  /** Time base of incident and position timestamps (default: now). */
  now?: Date;
}

export interface GenerateResult {
  counts: { areas: number; grids: number; buildings: number; roads: number; responders: number; incidents: number };
}

// The grids' table (`grids` is the view of those in force: migration 0018).
const DATA_TABLES = 'incidents, responders, road_edges, road_nodes, roads, buildings, grid_records, areas';

/**
 * Replaces all data with a synthetic city around central Shanghai: districts → 街道 → 社区 →
 * grids that tile their parents exactly, blocks of buildings with households, a road network
 * (crossings, T-junctions, diagonals, a flyover, estate roads, park paths), responders and
 * 90 days of incidents with their whole timelines (histories.ts). Deterministic for a seed.
 * Everything is inserted in one transaction, then the routable network is rebuilt from the roads.
 */
export async function generate(pool: pg.Pool, opts: GenerateOptions): Promise<GenerateResult> {
  const spec = PRESET_SPECS[opts.preset];
  if (!spec) throw new Error(`unknown preset ${opts.preset}; expected one of ${PRESETS.join(', ')}`);
  const progress = opts.onProgress ?? noProgress;
  const now = opts.now ?? new Date();
  // Independent streams per part, so that changing one part leaves the others as they were.
  const root = new Random(opts.seed);
  const rngLayout = root.fork(1);
  const rngBuildings = root.fork(2);
  const rngRoads = root.fork(3);
  const rngResponders = root.fork(4);
  const rngIncidents = root.fork(5);
  const rngHistories = root.fork(6);
  const rngIds = root.fork(7);
  const rngDepartments = root.fork(8);

  // The histories follow the time limits of the database's incident steps.
  const limits = new Map(
    (await pool.query<{ category: string; status: string; limit_minutes: number }>(sql.SELECT_TIME_LIMITS)).rows.map((l) => [`${l.category}/${l.status}`, l.limit_minutes]),
  );

  const departments = new Map((await pool.query<{ code: string; name_zh: string }>(sql.SELECT_DEPARTMENTS)).rows.map((d) => [d.code, d.name_zh]));
  const categoryDepartments = new Map(
    (await pool.query<{ code: string; department_code: string }>(sql.SELECT_CATEGORY_DEPARTMENTS)).rows.map((c) => [c.code, c.department_code]),
  );

  progress('layout', 0, 1);
  const layout = layoutCity(spec, rngLayout);
  const sites = placeBuildings(layout, rngBuildings);
  const roads = buildRoads(layout, rngRoads);
  const land = new GridLand(layout.grids, sites);
  const responders = placeResponders(layout, land, spec.responders, now, rngResponders).map((r) => ({ ...r, id: rngIds.uuid() }));
  const reports = placeIncidents(layout, sites, land, spec.incidents, rngIncidents);
  const incidents = planHistories(reports, {
    now, days: spec.incidentDays, open: spec.openIncidents, limits, responders, rng: rngHistories, ids: rngIds,
    departments, categoryDepartments, departmentRng: rngDepartments,
  });
  progress('layout', 1, 1);

  const { frame } = layout;
  const districtCode = (i: number) => layout.districts[i]?.code ?? null;
  const areaRow = (a: AreaPlan) => ({ code: a.code, name: a.name, wkt: frame.polygonWkt(layout.topo.ring(a.cell)) });
  const buildings = sites.flatMap((s) => s.buildings);

  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(`TRUNCATE ${DATA_TABLES} RESTART IDENTITY CASCADE`);
    const levels = [layout.districts, layout.streets, layout.communities];
    const areaCount = levels.reduce((n, l) => n + l.length, 0);
    let areasDone = 0;
    for (const level of levels) {
      // One statement per level: the trigger finds each area's parent by code, so parents go first.
      await sql.insertBatches(client, sql.INSERT_AREAS, level.map(areaRow), (done) => progress('areas', areasDone + done, areaCount));
      areasDone += level.length;
    }
    await sql.insertBatches(client, sql.INSERT_GRIDS, layout.grids.map(areaRow), (d, t) => progress('grids', d, t));
    await sql.insertBatches(
      client,
      sql.INSERT_BUILDINGS,
      buildings.map((b) => ({ name: b.name, address: b.address, floors: b.floors, height_m: b.heightM, households: b.households, wkt: frame.polygonWkt(b.ring), sid: b.sourceId })),
      (d, t) => progress('buildings', d, t),
    );
    await sql.insertBatches(
      client,
      sql.INSERT_ROADS,
      roads.map((r) => ({ district: districtCode(r.district), name: r.name, class: r.roadClass, bridge: r.bridge, layer: r.layer, oneway: r.oneway, wkt: frame.lineWkt(r.points), sid: r.sourceId })),
      (d, t) => progress('roads', d, t),
    );
    await sql.insertBatches(
      client,
      sql.INSERT_RESPONDERS,
      responders.map((r) => ({
        id: r.id,
        kind: r.kind,
        name: r.name,
        phone: r.phone,
        status: r.status,
        wkt: r.position ? frame.pointWkt(r.position) : null,
        position_at: r.positionAt?.toISOString() ?? null,
        grid: r.homeGrid.code,
      })),
      (d, t) => progress('responders', d, t),
    );
    await sql.insertBatches(
      client,
      sql.INSERT_INCIDENTS,
      incidents.map((i) => ({
        id: i.id,
        grid: i.grid.code,
        category: i.category,
        priority: i.priority,
        status: i.status,
        wkt: frame.pointWkt(i.location),
        address: i.address,
        description: i.description,
        contact: i.reporterContact,
        near_border: i.nearBorder,
        reported_at: i.reportedAt.toISOString(),
        status_since: i.statusSince.toISOString(),
        closed_at: i.closedAt?.toISOString() ?? null,
        assignee: i.assignee === null ? null : responders[i.assignee].id,
        department: i.assigneeDepartment,
        rated: i.rated,
        assigned_at: i.assignedAt?.toISOString() ?? null,
        escalation_level: i.escalationLevel,
        escalated_at: i.escalatedAt?.toISOString() ?? null,
        version: i.version,
      })),
      (d, t) => progress('incidents', d, t),
    );
    // The timelines, oldest report first (so that ids also follow time across incidents).
    const byReport = [...incidents].sort((a, b) => a.reportedAt.getTime() - b.reportedAt.getTime() || a.id.localeCompare(b.id));
    let n = 0;
    await sql.insertBatches(
      client,
      sql.INSERT_TRANSITIONS,
      byReport.flatMap((i) => i.steps.map((s) => ({
        n: n++,
        incident: i.id,
        action: s.action,
        from_status: s.from,
        to_status: s.to,
        actor: s.actor,
        note: s.note,
        responder: s.responder === null ? null : responders[s.responder].id,
        department: s.department ?? null,
        level: s.escalationLevel,
        at: s.at.toISOString(),
      }))),
      (d, t) => progress('timelines', d, t),
    );
    // 评价: the ratings of the rated closures (each names its closing and its rating step).
    await sql.insertBatches(
      client,
      sql.INSERT_RATINGS,
      incidents.flatMap((i) => i.steps.filter((s) => s.action === 'rate').map((s) => ({
        incident: i.id, score: s.score, comment: s.note, actor: s.actor, department: i.assigneeDepartment,
        responder: i.assignee === null ? null : responders[i.assignee].id,
      }))),
      (d, t) => progress('ratings', d, t),
    );
    for (const statement of sql.FINISH_INCIDENTS) await client.query(statement, [now.toISOString()]);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
  // Fresh statistics, so that the first queries on the new data get sensible plans.
  await pool.query('ANALYZE areas, grid_records, buildings, roads, responders, incidents, incident_transitions');
  await rebuildRoadNetwork(pool, progress);
  return {
    counts: {
      areas: layout.districts.length + layout.streets.length + layout.communities.length,
      grids: layout.grids.length,
      buildings: buildings.length,
      roads: roads.length,
      responders: responders.length,
      incidents: incidents.length,
    },
  };
}
