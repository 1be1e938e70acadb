import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generate } from '@wangge/geo-data';
import { createTestDatabase, tempDir, type TestDatabase } from '../support/database.js';
import { seedDemoIfEmpty } from '../../server/src/seed.js';
import { escalateOverdue } from './support.js';
import { measureHistories } from '../generate/invariants.js';

let db: TestDatabase;
const NOW = new Date();

beforeAll(async () => {
  db = await createTestDatabase();
  await generate(db.pool, { preset: 'demo', seed: 4, now: NOW });
});
afterAll(async () => {
  await db?.drop();
});

const one = async <T>(sql: string, params: unknown[] = []) => (await db.pool.query(sql, params)).rows[0] as T;

describe('generated incidents follow the lifecycle semantics', () => {
  it('only closed incidents have a closing time; rejected ones are open', async () => {
    const r = await one<{ bad: number; rejected: number }>(
      `SELECT count(*) FILTER (WHERE (status = 'closed') <> (closed_at IS NOT NULL))::int AS bad,
              count(*) FILTER (WHERE status = 'rejected')::int AS rejected FROM incidents`,
    );
    expect(r.bad).toBe(0);
    expect(r.rejected).toBeGreaterThan(0);
  });

  it('status_since lies between the report and now, is the report for reported ones and the closing for closed ones', async () => {
    const r = await one<{ bad: number }>(
      `SELECT count(*) FILTER (WHERE status_since < reported_at OR status_since > $1::timestamptz
                                 OR (status = 'reported' AND status_since <> reported_at)
                                 OR (status = 'closed' AND status_since <> closed_at))::int AS bad FROM incidents`,
      [NOW.toISOString()],
    );
    expect(r.bad).toBe(0);
  });

  it('dispatched incidents are assigned to a responder of their grid (else its community) where there is one, or to their category\'s department; assignees at work are busy', async () => {
    const r = await one<{ dispatched: number; assigned: number; to_departments: number; wrong_department: number; undispatched_assigned: number; far: number; idle_assignees: number }>(
      `SELECT count(*) FILTER (WHERE d.n > 0)::int AS dispatched,
              count(*) FILTER (WHERE d.n > 0 AND (i.assignee_responder_id IS NOT NULL) <> (i.assignee_department IS NOT NULL))::int AS assigned,
              count(*) FILTER (WHERE i.assignee_department IS NOT NULL)::int AS to_departments,
              count(*) FILTER (WHERE i.assignee_department IS NOT NULL
                                 AND (i.assignee_department IS DISTINCT FROM c.department_code OR i.status <> 'closed'))::int AS wrong_department,
              count(*) FILTER (WHERE d.n = 0 AND i.assignee_responder_id IS NOT NULL)::int AS undispatched_assigned,
              count(*) FILTER (WHERE i.assignee_responder_id IS NOT NULL AND r.home_grid_id IS DISTINCT FROM i.grid_id
                                 AND left(g.code, 12) <> (SELECT left(code, 12) FROM grids WHERE id = i.grid_id)
                                 AND EXISTS (SELECT 1 FROM responders o WHERE o.home_grid_id = i.grid_id))::int AS far,
              count(*) FILTER (WHERE i.status IN ('dispatched', 'in_progress') AND r.status <> 'busy')::int AS idle_assignees
         FROM incidents i
         CROSS JOIN LATERAL (SELECT count(*) AS n FROM incident_transitions t WHERE t.incident_id = i.id AND t.action = 'dispatch') d
         LEFT JOIN responders r ON r.id = i.assignee_responder_id
         LEFT JOIN grids g ON g.id = r.home_grid_id
         JOIN incident_categories c ON c.code = i.category`,
    );
    expect(r.dispatched).toBeGreaterThan(0);
    expect(r.assigned).toBe(r.dispatched);
    // A share of the closed ones went to their category's department (the department scores rank them).
    expect(r.to_departments).toBeGreaterThan(0);
    expect(r).toMatchObject({ wrong_department: 0, undispatched_assigned: 0, far: 0, idle_assignees: 0 });
    const at = await one<{ bad: number }>(
      `SELECT count(*) FILTER (WHERE assigned_at < reported_at OR assigned_at > status_since)::int AS bad FROM incidents WHERE assignee_responder_id IS NOT NULL`,
    );
    expect(at.bad).toBe(0);
  });

  it('评价: most handled closures are rated once, on the timeline and in the ratings, naming the closure and the handler', async () => {
    const r = await one<{ handled: number; rated: number; rows: number; steps: number; flagged: number; bad_closure: number; bad_score: number; dept_ratings: number }>(
      `SELECT (SELECT count(*)::int FROM incidents i WHERE status = 'closed' AND EXISTS (SELECT 1 FROM incident_transitions t WHERE t.incident_id = i.id AND t.action = 'verify')) AS handled,
              (SELECT count(DISTINCT incident_id)::int FROM incident_ratings) AS rated,
              (SELECT count(*)::int FROM incident_ratings) AS rows,
              (SELECT count(*)::int FROM incident_transitions WHERE action = 'rate') AS steps,
              (SELECT count(*)::int FROM incidents WHERE closure_rated) AS flagged,
              (SELECT count(*)::int FROM incident_ratings ra JOIN incident_transitions c ON c.id = ra.closure_id
                 JOIN incident_transitions rt ON rt.id = ra.transition_id
                WHERE c.action <> 'close' OR rt.action <> 'rate' OR rt.at <= c.at OR c.incident_id <> ra.incident_id) AS bad_closure,
              (SELECT count(*)::int FROM incident_ratings ra JOIN incident_transitions rt ON rt.id = ra.transition_id
                 JOIN incidents i ON i.id = ra.incident_id
                WHERE ra.score NOT BETWEEN 1 AND 5 OR ra.department_code IS DISTINCT FROM i.assignee_department) AS bad_score,
              (SELECT count(*)::int FROM incident_ratings WHERE department_code IS NOT NULL) AS dept_ratings`,
    );
    expect(r.rated / r.handled).toBeGreaterThan(0.4);
    expect(r.rated / r.handled).toBeLessThan(0.8);
    expect(r).toMatchObject({ rows: r.rated, steps: r.rated, flagged: r.rated, bad_closure: 0, bad_score: 0 });
    expect(r.dept_ratings).toBeGreaterThan(0);
  });

  it('each incident has its report on the timeline', async () => {
    const r = await one<{ incidents: number; reports: number; missing: number }>(
      `SELECT (SELECT count(*)::int FROM incidents) AS incidents,
              (SELECT count(*)::int FROM incident_transitions WHERE action = 'report') AS reports,
              (SELECT count(*)::int FROM incidents i WHERE NOT EXISTS (
                 SELECT 1 FROM incident_transitions t WHERE t.incident_id = i.id AND t.action = 'report' AND t.at = i.reported_at)) AS missing`,
    );
    expect(r.reports).toBe(r.incidents);
    expect(r.missing).toBe(0);
  });

  it('has whole timelines, 5–15 % of the open incidents overdue, and escalations (督办) only on those', async () => {
    const h = await measureHistories(db.pool, NOW);
    expect(h.problems).toEqual([]);
    expect(h.overdue / h.open).toBeGreaterThanOrEqual(0.05);
    expect(h.overdue / h.open).toBeLessThanOrEqual(0.15);
    expect(h.escalatedNotOverdue).toBe(0);
    console.log(`[generated demo] ${h.open} open, ${h.overdue} overdue (${((100 * h.overdue) / h.open).toFixed(1)} %)`);
  });

  it('past escalations are already made: the escalation round right after generation escalates nothing but overdue incidents', async () => {
    const overdueSql = `SELECT i.id::text FROM incidents i JOIN incident_time_limits tl ON tl.category = i.category AND tl.status = i.status
                         WHERE i.status <> 'closed' AND now() > i.status_since + tl.limit_minutes * interval '1 minute'`;
    const before = new Set((await db.pool.query<{ id: string }>(overdueSql)).rows.map((r) => r.id));
    const r = await one<{ escalated: number; overdue: number }>(
      `SELECT count(*) FILTER (WHERE i.escalation_level > 0)::int AS escalated,
              count(*) FILTER (WHERE $1::timestamptz > i.status_since + tl.limit_minutes * interval '1 minute')::int AS overdue
         FROM incidents i JOIN incident_time_limits tl ON tl.category = i.category AND tl.status = i.status
        WHERE i.status <> 'closed'`,
      [NOW.toISOString()],
    );
    expect(r.escalated).toBe(r.overdue);
    const round = await escalateOverdue(db);
    const after = new Set((await db.pool.query<{ id: string }>(overdueSql)).rows.map((r) => r.id));
    // Only overdue ones, each justified by a whole limit since its step began or its last escalation.
    for (const e of round.escalated) expect(after.has(e.id) || before.has(e.id), e.id).toBe(true);
    expect(round.escalated.length).toBeLessThanOrEqual(after.size);
    const levels = await one<{ escalated_not_overdue: number }>(
      `SELECT count(*)::int AS escalated_not_overdue FROM incidents i JOIN incident_time_limits tl ON tl.category = i.category AND tl.status = i.status
        WHERE i.status <> 'closed' AND i.escalation_level > 0 AND now() <= i.status_since + tl.limit_minutes * interval '1 minute'`,
    );
    expect(levels.escalated_not_overdue).toBe(0);
  });
});

describe('the embedded demo', () => {
  it('gives the demo department account the urban-management queue', async () => {
    await db.pool.query('TRUNCATE incidents, responders, road_edges, road_nodes, roads, buildings, grid_records, areas, sessions, users CASCADE');
    const dir = tempDir('demo-users');
    try {
      expect(await seedDemoIfEmpty(db, { demoUsersFile: path.join(dir, 'demo-users.txt') })).toBe(true);
      const { rows } = await db.pool.query('SELECT username, role, department_code FROM users WHERE department_code IS NOT NULL');
      expect(rows).toEqual([{ username: 'department', role: 'department', department_code: 'urban_management' }]);
      // Every demo account has a person's (or office's) name where others see it (issue 10 item 9), the
      // grid worker's responder record too — not its username.
      const named = await db.pool.query<{ username: string; display_name: string | null; responder: string | null }>(
        'SELECT u.username, u.display_name, r.name AS responder FROM users u LEFT JOIN responders r ON r.user_id = u.id ORDER BY u.username');
      expect(named.rows).toHaveLength(6);
      for (const u of named.rows) {
        expect(u.display_name, u.username).toMatch(/[\u4e00-\u9fff]{2,}/);
        if (u.responder !== null) expect(u.responder).toBe(u.display_name);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('(after the seed above) gives the timelines to the demo accounts: the commander, on a handler’s behalf where the handler has none', async () => {
    const commander = await one<{ id: string; name: string }>(`SELECT id::text, coalesce(display_name, username) AS name FROM users WHERE username = 'commander'`);
    const h = await measureHistories(db.pool, new Date(), { actors: 'accounts' });
    expect(h.problems).toEqual([]);
    expect(h.overdue / h.open).toBeGreaterThanOrEqual(0.05);
    expect(h.overdue / h.open).toBeLessThanOrEqual(0.15);
    expect(h.escalatedNotOverdue).toBe(0);
    // The reporter is the account that recorded the report; a field step is the commander's record for the responder.
    const r = await one<{ unreported: number; on_behalf: number; escalations_by_system: number; escalations: number }>(
      `SELECT (SELECT count(*) FROM incidents WHERE reported_by IS DISTINCT FROM $1::uuid)::int AS unreported,
              (SELECT count(*) FROM incident_transitions WHERE action = 'start' AND actor_id = $1::uuid AND note LIKE '代%登记%')::int AS on_behalf,
              (SELECT count(*) FROM incident_transitions WHERE action = 'escalate' AND actor_id IS NULL AND actor_name = 'system')::int AS escalations_by_system,
              (SELECT count(*) FROM incident_transitions WHERE action = 'escalate')::int AS escalations`,
      [commander.id],
    );
    expect(r.unreported).toBe(0);
    expect(r.on_behalf).toBeGreaterThan(0);
    expect(r.escalations_by_system).toBe(r.escalations);
  });
});
