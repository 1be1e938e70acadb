/**
 * Idempotent writes (`Idempotency-Key`, per user, kept 24 h). Inside the write's own transaction:
 * a transaction-scoped advisory lock on (user, key) makes concurrent retries of one key wait for
 * each other; the first stores its answer in idempotency_keys in the same transaction as the
 * write, so a retry sees either nothing (the first failed and wrote nothing) or the committed
 * answer, which it returns with the same status. The same key with a different request is 422.
 * Nothing here relies on a caught database error (see the PGlite sharp edge in ARCHITECTURE.md).
 */
import crypto from 'node:crypto';
import type pg from 'pg';
import { incidentError } from './incidents.errors.js';

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

export interface Answer<T> {
  status: number;
  body: T;
  /** True when this is the stored answer of an earlier request with the same key. */
  replayed: boolean;
}

/**
 * Runs `work` (which writes through `client`) once per (user, key): with no key it just runs.
 * Call it first thing inside the transaction.
 */
export async function idempotent<T>(
  client: pg.ClientBase,
  userId: string,
  key: string | undefined,
  route: string,
  body: unknown,
  work: () => Promise<{ status: number; body: T }>,
): Promise<Answer<T>> {
  if (key === undefined) return { ...(await work()), replayed: false };
  const hash = requestHash(route, body);
  await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`idempotency:${userId}:${key}`]);
  const { rows } = await client.query<{ route: string; request_hash: string; status_code: number; response: T }>(
    `SELECT route, request_hash, status_code, response FROM idempotency_keys
      WHERE user_id = $1 AND key = $2 AND created_at > now() - make_interval(hours => $3)`,
    [userId, key, IDEMPOTENCY_TTL_HOURS],
  );
  const stored = rows[0];
  if (stored) {
    if (stored.route !== route || stored.request_hash !== hash) {
      throw incidentError(422, 'IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used for a different request; use a new key for a new request');
    }
    return { status: stored.status_code, body: stored.response, replayed: true };
  }
  const answer = await work();
  // An expired row for the key (not yet purged) is replaced.
  await client.query(
    `INSERT INTO idempotency_keys (user_id, key, route, request_hash, status_code, response)
     VALUES ($1, $2, $3, $4, $5, $6::jsonb)
     ON CONFLICT (user_id, key) DO UPDATE SET route = EXCLUDED.route, request_hash = EXCLUDED.request_hash,
       status_code = EXCLUDED.status_code, response = EXCLUDED.response, created_at = now()`,
    [userId, key, route, hash, answer.status, JSON.stringify(answer.body)],
  );
  return { ...answer, replayed: false };
}

/** Deletes keys older than 24 h; returns how many. */
export async function purgeExpiredKeys(db: Pick<pg.Pool, 'query'>): Promise<number> {
  const { rowCount } = await db.query(`DELETE FROM idempotency_keys WHERE created_at <= now() - make_interval(hours => $1)`, [IDEMPOTENCY_TTL_HOURS]);
  return rowCount ?? 0;
}
