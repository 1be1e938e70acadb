import crypto from 'node:crypto';
import type pg from 'pg';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import type { Database } from '../../server/src/db/database.js';
import { escalateOverdueForSystem } from '../../server/src/modules/incidents/incidents.service.js';
import { createTestDatabase, usesExternalDatabase, type TestDatabase } from '../support/database.js';
import { buildTestApp } from '../support/app.js';
import { insertSmallDistrict } from '../support/fixtures.js';
import { addUser, signIn } from '../support/auth.js';
import type { Role } from '../../server/src/auth/permissions.js';

/** Community 310101002001: grids …001 (121.480–121.485) and …002 (121.485–121.490), lat 31.230–31.240. */
export const GRID1 = '310101002001001';
export const GRID2 = '310101002001002';
/** A second community beside it: grid 310101002002001 covers 121.490–121.495. */
export const COMMUNITY2 = '310101002002';
export const GRID3 = '310101002002001';
export const COMMUNITY1 = '310101002001';
/** A point well inside grid 1, 2 and 3. */
export const IN1: [number, number] = [121.482, 31.235];
export const IN2: [number, number] = [121.4875, 31.235];
export const IN3: [number, number] = [121.4925, 31.235];

export interface Env {
  db: TestDatabase;
  app: FastifyInstance;
  close(): Promise<void>;
}

/** A fresh database with the small district and a second community, and the app over it (inject = admin '*'). */
export async function setupEnv(): Promise<Env> {
  const db = await createTestDatabase();
  await insertSmallDistrict(db.pool);
  await db.pool.query(`
    INSERT INTO areas (code, name, geom) VALUES ('${COMMUNITY2}', '第二社区', ST_Multi(ST_MakeEnvelope(121.49, 31.23, 121.495, 31.24, 4326)));
    INSERT INTO grids (code, name, community_id, geom)
      SELECT '${GRID3}', '第3网格', id, ST_Multi(ST_MakeEnvelope(121.49, 31.23, 121.495, 31.24, 4326)) FROM areas WHERE code = '${COMMUNITY2}';`);
  const app = await buildTestApp(db);
  return {
    db,
    app,
    async close() {
      await app.close();
      await db.drop();
    },
  };
}

export interface Session {
  id: string;
  username: string;
  responderId: string | null;
  cookie: string;
  role: Role;
  areaCode: string;
}

/** A signed-in account; a department user gets `department`, a grid worker's responder is made available at `at`. */
export async function session(env: Env, role: Role, areaCode: string, opts: { department?: string; at?: [number, number] } = {}): Promise<Session> {
  const u = await addUser(env.db.pool, role, areaCode, { department: opts.department });
  if (u.responderId && opts.at) {
    await env.db.pool.query(
      `UPDATE responders SET status = 'available', position = ST_SetSRID(ST_MakePoint($2, $3), 4326), position_at = now() WHERE id = $1`,
      [u.responderId, opts.at[0], opts.at[1]],
    );
  }
  const cookie = await signIn(env.app, u.username, u.password);
  return { id: u.id, username: u.username, responderId: u.responderId, cookie, role, areaCode };
}

export function call(env: Env, method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, opts: { cookie?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<LightMyRequestResponse> {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  if (opts.cookie) headers.cookie = opts.cookie;
  return env.app.inject({ method, url, headers, ...(opts.body === undefined ? {} : { payload: opts.body as object }) });
}

export function report(env: Env, at: [number, number], opts: { cookie?: string; key?: string; category?: string; description?: string; priority?: string; reporterContact?: string } = {}) {
  return call(env, 'POST', '/api/incidents', {
    cookie: opts.cookie,
    headers: opts.key ? { 'idempotency-key': opts.key } : {},
    body: {
      category: opts.category ?? 'sanitation',
      description: opts.description ?? '垃圾堆放',
      priority: opts.priority,
      location: { type: 'Point', coordinates: at },
      ...(opts.reporterContact ? { reporterContact: opts.reporterContact } : {}),
    },
  });
}

/** Reports an incident and returns its id (fails the test otherwise). */
export async function newIncident(env: Env, at: [number, number] = IN1, opts: Parameters<typeof report>[2] = {}): Promise<string> {
  const res = await report(env, at, opts);
  if (res.statusCode !== 201) throw new Error(`report failed: ${res.statusCode} ${res.body}`);
  return res.json().id;
}

export function act(env: Env, id: string, body: Record<string, unknown>, cookie?: string, key?: string) {
  return call(env, 'POST', `/api/incidents/${id}/transitions`, { cookie, body, headers: key ? { 'idempotency-key': key } : {} });
}

/** An available responder with a fresh position in grid `gridCode`. */
export async function responder(pool: pg.Pool, gridCode: string, at: [number, number], name = `r${Math.random().toString(36).slice(2, 8)}`): Promise<string> {
  const { rows } = await pool.query<{ id: string }>(
    `INSERT INTO responders (kind, name, status, position, position_at, home_grid_id)
     SELECT 'patrol', $1, 'available', ST_SetSRID(ST_MakePoint($2, $3), 4326), now(), id FROM grids WHERE code = $4 RETURNING id::text`,
    [name, at[0], at[1], gridCode],
  );
  return rows[0].id;
}

/** Moves an incident straight to a status (for tests of a step from that status). */
export async function forceStatus(pool: pg.Pool, id: string, status: string, assignee: string | null = null, department: string | null = null) {
  await pool.query(
    'UPDATE incidents SET status = $2, assignee_responder_id = $3, assignee_department = $4, status_since = now() WHERE id = $1',
    [id, status, assignee, department],
  );
}

/** One escalation round (督办) as the system's timer runs it, without a live hub to wake. */
export function escalateOverdue(database: Pick<Database, 'db'>) {
  return escalateOverdueForSystem({ db: database.db, live: { wake() {} } });
}

/** A small body the photo endpoint takes for a JPEG (its magic bytes, then noise). */
export const jpegBytes = (n = 64) => Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), crypto.randomBytes(n)]);
