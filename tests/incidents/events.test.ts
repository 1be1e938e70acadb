import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { audience, incidentUpdated, type IncidentSubject } from '../../server/src/modules/incidents/incidents.events.js';
import { act, call, GRID1, IN1, newIncident, responder, session, setupEnv, type Env, type Session } from './support.js';

const R1 = '11111111-1111-4111-8111-111111111111';
const R2 = '22222222-2222-4222-8222-222222222222';
const nobody = { responderId: null, departmentCode: null };
const subject = (assignee: IncidentSubject['assignee'], status = 'dispatched'): IncidentSubject => ({
  id: '33333333-3333-4333-8333-333333333333', status, priority: 'normal', category: 'dispute', gridCode: GRID1, districtId: null, lon: IN1[0], lat: IN1[1], assignee,
});

describe('the audience of incident events (builders)', () => {
  it('a reassignment names the old and the new responder', () => {
    const e = incidentUpdated(subject({ responderId: R2, departmentCode: null }), 'dispatch', {}, { responderId: R1, departmentCode: null });
    expect([...e.responderIds!].sort()).toEqual([R1, R2]);
    expect(e.departmentCodes).toEqual([]);
  });

  it('a rejection names the rejecting responder (still the incident\'s assignee)', () => {
    const r1 = { responderId: R1, departmentCode: null };
    expect(incidentUpdated(subject(r1, 'rejected'), 'reject', {}, r1).responderIds).toEqual([R1]);
  });

  it('moving an incident from a department to a responder names both', () => {
    const e = incidentUpdated(subject({ responderId: R1, departmentCode: null }), 'dispatch', {}, { responderId: null, departmentCode: 'housing' });
    expect(e).toMatchObject({ responderIds: [R1], departmentCodes: ['housing'] });
  });

  it('an unassigned incident concerns no responder or department (its area sees it)', () => {
    expect(audience(nobody)).toEqual({ responderIds: [], departmentCodes: [] });
  });
});

describe('the audience stored with the events of real steps', () => {
  let env: Env;
  let worker: Session;
  beforeAll(async () => {
    env = await setupEnv();
    worker = await session(env, 'grid_worker', GRID1, { at: IN1 });
  });
  afterAll(async () => {
    await env?.close();
  });

  const lastUpdate = async (id: string) =>
    (await env.db.pool.query<{ responder_ids: string[]; department_codes: string[]; action: string }>(
      `SELECT responder_ids::text[] AS responder_ids, department_codes, data->>'action' AS action
         FROM live_events WHERE entity_id = $1 AND type = 'incident.updated' ORDER BY id DESC LIMIT 1`,
      [id],
    )).rows[0];

  it('a new report: incident.created, built by the intake statement, for its grid and nobody else', async () => {
    const res = await call(env, 'POST', '/api/incidents', {
      body: { category: 'sanitation', priority: 'urgent', description: 'created event', location: { type: 'Point', coordinates: IN1 } },
    });
    expect(res.statusCode).toBe(201);
    const f = res.json();
    const { rows } = await env.db.pool.query(
      `SELECT type, scope_code, district_id, responder_ids::text[] AS responder_ids, department_codes, data FROM live_events WHERE entity_id = $1`,
      [f.id],
    );
    expect(rows).toHaveLength(1);
    const district = (await env.db.pool.query(`SELECT district_id FROM incidents WHERE id = $1`, [f.id])).rows[0].district_id;
    expect(rows[0]).toEqual({
      type: 'incident.created', scope_code: GRID1, district_id: district, responder_ids: [], department_codes: [],
      data: {
        incidentId: f.id, status: 'reported', priority: 'urgent', category: 'sanitation', gridCode: GRID1,
        lon: IN1[0], lat: IN1[1], reportedAt: f.properties.reportedAt,
      },
    });
  });

  it('a reassignment reaches the previous responder; a rejection reaches the rejecting one', async () => {
    const other = await responder(env.db.pool, GRID1, IN1);
    const id = await newIncident(env);
    expect((await call(env, 'POST', `/api/incidents/${id}/dispatch`, { body: { responderId: other } })).statusCode).toBe(200);
    expect((await call(env, 'POST', `/api/incidents/${id}/dispatch`, { body: { responderId: worker.responderId, reassign: true, note: '改派' } })).statusCode).toBe(200);
    const reassigned = await lastUpdate(id);
    expect(reassigned.action).toBe('dispatch');
    expect([...reassigned.responder_ids].sort()).toEqual([other, worker.responderId].sort());

    expect((await act(env, id, { action: 'reject', note: '不在我的网格' }, worker.cookie)).statusCode).toBe(200);
    expect(await lastUpdate(id)).toMatchObject({ action: 'reject', responder_ids: [worker.responderId], department_codes: [] });
  });
});
