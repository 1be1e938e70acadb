/**
 * Stored answers of idempotent writes (`Idempotency-Key`, per user, kept 24 h). Used by runWrite
 * (write.ts) inside the write's own transaction: a transaction-scoped advisory lock on (user, key)
 * makes concurrent retries of one key wait for each other; the first stores its answer in the same
 * transaction as the write, so a retry sees either nothing (the first failed and wrote nothing) or
 * the committed answer. Nothing here relies on a caught database error (the PGlite sharp edge in
 * ARCHITECTURE.md).
 */
import crypto from 'node:crypto';
import { sql } from 'kysely';
import type { Db } from '../db/transaction.js';

export const IDEMPOTENCY_TTL_HOURS = 24;

/** JSON with object keys sorted, so equal requests hash equally whatever the key order. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

export function requestHash(route: string, body: unknown): string {
  return crypto.createHash('sha256').update(`${route}\n${canonicalJson(body)}`).digest('hex');
}

export interface StoredAnswer {
  route: string;
  requestHash: string;
  status: number;
  body: unknown;
}

/** Waits for other requests with the same (user, key) to commit or roll back. */
export async function lockKey(trx: Db, userId: string, key: string): Promise<void> {
  await sql`SELECT pg_advisory_xact_lock(hashtext(${`idempotency:${userId}:${key}`}))`.execute(trx);
}

/** The answer stored for (user, key) within the last 24 h, if any. */
export async function findAnswer(trx: Db, userId: string, key: string): Promise<StoredAnswer | undefined> {
  const row = await trx
    .selectFrom('idempotency_keys')
    .select(['route', 'request_hash', 'status_code', 'response'])
    .where('user_id', '=', userId)
    .where('key', '=', key)
    .where('created_at', '>', sql<Date>`now() - make_interval(hours => ${IDEMPOTENCY_TTL_HOURS})`)
    .executeTakeFirst();
  return row && { route: row.route, requestHash: row.request_hash, status: row.status_code, body: row.response };
}

/** Stores the answer for (user, key); an expired row for the key (not yet purged) is replaced. */
export async function storeAnswer(trx: Db, userId: string, key: string, answer: StoredAnswer): Promise<void> {
  await trx
    .insertInto('idempotency_keys')
    .values({
      user_id: userId, key, route: answer.route, request_hash: answer.requestHash, status_code: answer.status,
      // As JSON text: pg would send a JS array as a PostgreSQL array.
      response: JSON.stringify(answer.body),
    })
    .onConflict((oc) => oc.columns(['user_id', 'key']).doUpdateSet((eb) => ({
      route: eb.ref('excluded.route'),
      request_hash: eb.ref('excluded.request_hash'),
      status_code: eb.ref('excluded.status_code'),
      response: eb.ref('excluded.response'),
      created_at: sql`now()`,
    })))
    .execute();
}

/** Deletes keys older than 24 h (the system's timer; not scoped); returns how many. */
export async function purgeExpiredKeys(db: Db): Promise<number> {
  const result = await db
    .deleteFrom('idempotency_keys')
    .where('created_at', '<=', sql<Date>`now() - make_interval(hours => ${IDEMPOTENCY_TTL_HOURS})`)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
