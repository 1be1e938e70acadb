/**
 * Stored answers of idempotent writes (`Idempotency-Key`, per user, kept 24 h). Used by runWrite
 * (write.ts) inside the write's own transaction: the key's row is inserted first (the claim), which
 * makes concurrent retries of one key wait on its primary key; the answer is stored in the same
 * transaction as the write, so a retry sees either nothing (the first failed and wrote nothing) or
 * the committed answer. Nothing here relies on a caught database error (the PGlite sharp edge in
 * ARCHITECTURE.md).
 */
import crypto from 'node:crypto';
import { sql, type Expression, type SqlBool } from 'kysely';
import type { Db } from '../db/transaction.js';
import { compiledOnce } from '../db/compiled.js';

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

/** An Idempotency-Key a write claims: whose, which, and the request it was sent with. */
export interface KeyClaim {
  userId: string;
  key: string;
  route: string;
  /** requestHash(route, body). */
  hash: string;
}

export interface StoredAnswer {
  route: string;
  requestHash: string;
  status: number;
  body: unknown;
}

/**
 * Claims (user, key) for this transaction: inserts the key's row (its answer is filled in by
 * `answerUpdate` before COMMIT). True when this request owns the key and runs the write; false
 * when an answer is already stored — `findAnswer` then reads it. A concurrent request with the same
 * key waits here on the primary key until the first commits (then false) or rolls back (then true):
 * ON CONFLICT waits for the other transaction instead of raising, so no caught error is needed. A
 * row older than 24 h (not yet purged) is taken over.
 */
export async function claimKey(trx: Db, c: KeyClaim): Promise<boolean> {
  return (await claim(trx, c.userId, c.key, c.route, c.hash)).length > 0;
}

/**
 * The claim as a statement (one row `claimed` when this request owns the key), for a write that
 * embeds it in its own statement (runStatementWrite). `opts.when`: claim only when this holds (the
 * write goes ahead; nothing else is written otherwise, and the key stays free); `opts.answer`: the
 * answer stored with the claim, for a write that commits with its statement (its body is usually a
 * reference that the write's replay resolves).
 */
export function claimStatement(db: Db, c: KeyClaim, opts: { when?: Expression<SqlBool>; answer?: { status: number; body: Expression<unknown> } } = {}) {
  // status_code 0 and a null response mark a claim not yet answered (runWrite answers it before COMMIT).
  const status = opts.answer?.status ?? 0;
  const response = opts.answer?.body ?? sql`'null'::jsonb`;
  return db
    .insertInto('idempotency_keys')
    .columns(['user_id', 'key', 'route', 'request_hash', 'status_code', 'response'])
    .expression(db.selectNoFrom([
      sql`${c.userId}::uuid`.as('user_id'), sql`${c.key}::text`.as('key'), sql`${c.route}::text`.as('route'),
      sql`${c.hash}::text`.as('request_hash'), sql`${status}::int`.as('status_code'), sql`${response}::jsonb`.as('response'),
    ]).where(opts.when ?? sql<SqlBool>`true`))
    .onConflict((oc) => oc.columns(['user_id', 'key'])
      .doUpdateSet((eb) => ({
        route: eb.ref('excluded.route'), request_hash: eb.ref('excluded.request_hash'),
        status_code: eb.ref('excluded.status_code'), response: eb.ref('excluded.response'), created_at: sql`now()`,
      }))
      .where('idempotency_keys.created_at', '<=', sql<Date>`now() - make_interval(hours => ${IDEMPOTENCY_TTL_HOURS})`))
    .returning(sql<number>`1`.as('claimed'));
}

/** The claim on its own, compiled once (db/compiled.ts: run on every idempotent write). */
const claim = compiledOnce((db: Db, [userId, key, route, hash]: [string, string, string, string]) =>
  claimStatement(db, { userId, key, route, hash }));

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

/**
 * The statement that stores the answer of a claimed key (run by publishEvents in the same round
 * trip as the write's live events; on its own when there are none).
 */
export function answerUpdate(trx: Db, userId: string, key: string, status: number, body: unknown) {
  return trx
    .updateTable('idempotency_keys')
    // As JSON text: pg would send a JS array as a PostgreSQL array.
    .set({ status_code: status, response: JSON.stringify(body) })
    .where('user_id', '=', userId)
    .where('key', '=', key);
}

/** Deletes keys older than 24 h (the system's timer; not scoped); returns how many. */
export async function purgeExpiredKeys(db: Db): Promise<number> {
  const result = await db
    .deleteFrom('idempotency_keys')
    .where('created_at', '<=', sql<Date>`now() - make_interval(hours => ${IDEMPOTENCY_TTL_HOURS})`)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
