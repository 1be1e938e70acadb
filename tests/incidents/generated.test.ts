import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generate } from '@wangge/geo-data';
import { createTestDatabase, tempDir, type TestDatabase } from '../support/database.js';
import { seedDemoIfEmpty } from '../../server/src/seed.js';
import { escalateOverdue } from './support.js';

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

  it('handled incidents are assigned to a responder of their grid where there is one; assignees at work are busy', async () => {
    const r = await one<{ handled: number; assigned: number; unassignable: number; foreign: number; unhandled_assigned: number; idle_assignees: number }>(
      `SELECT count(*) FILTER (WHERE i.status IN ('dispatched', 'in_progress', 'resolved'))::int AS handled,
              count(*) FILTER (WHERE i.status IN ('dispatched', 'in_progress', 'resolved') AND i.assignee_responder_id IS NOT NULL)::int AS assigned,
              count(*) FILTER (WHERE i.status IN ('dispatched', 'in_progress', 'resolved') AND i.assignee_responder_id IS NULL
                                 AND EXISTS (SELECT 1 FROM responders r WHERE r.home_grid_id = i.grid_id))::int AS unassignable,
              count(*) FILTER (WHERE r.home_grid_id IS DISTINCT FROM i.grid_id AND i.assignee_responder_id IS NOT NULL)::int AS foreign,
              count(*) FILTER (WHERE i.status NOT IN ('dispatched', 'in_progress', 'resolved') AND i.assignee_responder_id IS NOT NULL)::int AS unhandled_assigned,
              count(*) FILTER (WHERE i.status IN ('dispatched', 'in_progress') AND r.status <> 'busy')::int AS idle_assignees
         FROM incidents i LEFT JOIN responders r ON r.id = i.assignee_responder_id`,
    );
    expect(r.handled).toBeGreaterThan(0);
    expect(r.assigned).toBe(r.handled);
    expect(r).toMatchObject({ unassignable: 0, foreign: 0, unhandled_assigned: 0, idle_assignees: 0 });
    const at = await one<{ bad: number }>(
      `SELECT count(*) FILTER (WHERE assigned_at < reported_at OR assigned_at > status_since)::int AS bad FROM incidents WHERE assignee_responder_id IS NOT NULL`,
    );
    expect(at.bad).toBe(0);
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

  it('past escalations are already made: an escalation round right after generation has (almost) nothing to do', async () => {
    const r = await one<{ escalated: number; overdue: number }>(
      `SELECT count(*) FILTER (WHERE i.escalation_level > 0)::int AS escalated,
              count(*) FILTER (WHERE i.status <> 'closed' AND $1::timestamptz > i.status_since + tl.limit_minutes * interval '1 minute')::int AS overdue
         FROM incidents i JOIN incident_time_limits tl ON tl.category = i.category AND tl.status = i.status`,
      [NOW.toISOString()],
    );
    expect(r.escalated).toBe(r.overdue);
    // Only incidents whose next limit elapsed between generation and now can be escalated, each justified.
    const round = await escalateOverdue(db);
    if (round.escalated.length) {
      const justified = await one<{ n: number }>(
        `SELECT count(*)::int AS n FROM incidents i JOIN incident_time_limits tl ON tl.category = i.category AND tl.status = i.status
          WHERE i.id = ANY ($1::uuid[]) AND now() >= i.status_since + i.escalation_level * tl.limit_minutes * interval '1 minute'`,
        [round.escalated.map((e) => e.id)],
      );
      expect(justified.n).toBe(round.escalated.length);
    }
    expect(round.escalated.length).toBeLessThan(5);
  });
});

describe('the embedded demo', () => {
  it('gives the demo department account the urban-management queue', async () => {
    await db.pool.query('TRUNCATE incidents, responders, road_edges, road_nodes, roads, buildings, grids, areas, sessions, users CASCADE');
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
});
