/**
 * The one way a write goes through the server: `runWrite` opens a transaction, honours the
 * client's Idempotency-Key, runs the domain's write, stores its answer, appends its live events as
 * the last statements, commits, and wakes the live hub. Services (`<domain>.service.ts`) supply
 * the write as a function of the transaction returning its answer and its events; routes call the
 * service and send the answer.
 */
import type { Kysely, Transaction } from 'kysely';
import type { DB } from '../db/types.js';
import { inTransaction } from '../db/transaction.js';
import type { LiveBus } from '../live/bus.js';
import type { LiveEventInput } from '../live/events.js';
import { publishEvents } from '../live/live.repository.js';
import { ApiError } from '../plugins/errors.js';
import { findAnswer, lockKey, requestHash, storeAnswer } from './idempotency.repository.js';

/** What a write produces: the HTTP answer and the live events it publishes. */
export interface WriteResult<T> {
  status: number;
  body: T;
  events: LiveEventInput[];
}

/** The answer of a write, and whether it is the stored answer of an earlier request with the same key. */
export interface Answer<T> {
  status: number;
  body: T;
  replayed: boolean;
}

/** Identifies a request for Idempotency-Key: the same key with another route or body is refused. */
export interface IdempotencyRequest {
  userId: string;
  /** The client's key; undefined: the write is not idempotent (it just runs). */
  key: string | undefined;
  route: string;
  body: unknown;
}

/** What runWrite needs of the application. */
export interface WriteDeps {
  db: Kysely<DB>;
  live: LiveBus;
}

/** Runs one write (see the file comment). */
export async function runWrite<T>(
  deps: WriteDeps,
  work: (trx: Transaction<DB>) => Promise<WriteResult<T>>,
  idempotency?: IdempotencyRequest,
): Promise<Answer<T>> {
  let published = false;
  const answer = await inTransaction(deps.db, async (trx): Promise<Answer<T>> => {
    const key = idempotency?.key;
    let hash = '';
    if (idempotency && key !== undefined) {
      hash = requestHash(idempotency.route, idempotency.body);
      await lockKey(trx, idempotency.userId, key);
      const stored = await findAnswer(trx, idempotency.userId, key);
      if (stored) {
        if (stored.route !== idempotency.route || stored.requestHash !== hash) {
          throw new ApiError(422, 'IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used for a different request; use a new key for a new request');
        }
        return { status: stored.status, body: stored.body as T, replayed: true };
      }
    }
    const result = await work(trx);
    if (idempotency && key !== undefined) {
      await storeAnswer(trx, idempotency.userId, key, { route: idempotency.route, requestHash: hash, status: result.status, body: result.body });
    }
    await publishEvents(trx, result.events);
    published = result.events.length > 0;
    return { status: result.status, body: result.body, replayed: false };
  });
  if (published) deps.live.wake();
  return answer;
}
