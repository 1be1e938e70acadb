import crypto from 'node:crypto';
import type pg from 'pg';
import { Kysely, PostgresDialect } from 'kysely';
import type { FastifyInstance } from 'fastify';
import type { DB } from '../../server/src/db/types.js';
import type { Role } from '../../server/src/auth/permissions.js';
import { createUser } from '../../server/src/modules/users/users.service.js';

// Tests hand over the pool of their database; the service speaks Kysely. Never destroyed: that would end the pool.
const kyselyOf = new WeakMap<pg.Pool, Kysely<DB>>();
function kysely(pool: pg.Pool): Kysely<DB> {
  let db = kyselyOf.get(pool);
  if (!db) kyselyOf.set(pool, (db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) })));
  return db;
}

/**
 * A test account with a random password; a department account works for `department`
 * (default urban_management: the product makes no department account without one).
 */
export async function addUser(
  pool: pg.Pool,
  role: Role,
  areaCode: string,
  opts: { username?: string; department?: string } = {},
) {
  const username = opts.username ?? `${role.replace('_', '')}${crypto.randomBytes(3).toString('hex')}`;
  const password = crypto.randomBytes(12).toString('base64url');
  const departmentCode = role === 'department' ? opts.department ?? 'urban_management' : undefined;
  const { id, responderId } = await createUser(kysely(pool), { username, password, role, areaCode, departmentCode });
  return { id, responderId, username, password };
}

/** Signs in through the API and returns the Cookie header value of the session. */
export async function signIn(app: FastifyInstance, username: string, password: string): Promise<string> {
  // No cookie of its own: a sign-in ends whatever session the request presents.
  const res = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { username, password }, headers: { cookie: '' } });
  if (res.statusCode !== 200) throw new Error(`sign-in of ${username} failed: ${res.statusCode} ${res.body}`);
  const cookie = res.cookies.find((c) => c.name === 'wangge_session');
  return `wangge_session=${cookie!.value}`;
}

/** A new account of `role` on `areaCode`, signed in: the Cookie header to send. */
export async function sessionFor(app: FastifyInstance, pool: pg.Pool, role: Role, areaCode: string): Promise<string> {
  const u = await addUser(pool, role, areaCode);
  return signIn(app, u.username, u.password);
}
