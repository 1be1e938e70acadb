/**
 * The one way a write goes through the server: `runWrite` opens a transaction, claims the
 * client's Idempotency-Key (or answers with the stored answer), runs the domain's write, then in one
 * statement stores its answer and appends its live events, commits, and wakes the live hub. Services
 * (`<domain>.service.ts`) supply the write as a function of the transaction returning its answer and
 * its events; routes call the service and send the answer. Round trips are what a write costs on
 * these machines (each is a context switch between Node and PostgreSQL): a write with a key and
 * events is BEGIN, claim, the domain's statements, answer + events, COMMIT.
 */
import type { Kysely, Transaction } from 'kysely';
import type { DB } from '../db/types.js';
import { inTransaction } from '../db/transaction.js';
import type { LiveBus } from '../live/bus.js';
import type { LiveEventInput } from '../live/events.js';
import { publishEvents } from '../live/live.repository.js';
import { ApiError } from '../plugins/errors.js';
import { answerUpdate, claimKey, findAnswer, requestHash, type KeyClaim } from './idempotency.repository.js';

export type { KeyClaim };

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

/** What a write that claims its key itself returns when the key was already answered. */
export const KEY_TAKEN = Symbol('KEY_TAKEN');

/**
 * Runs one write (see the file comment). With `claimInWork`, the write claims the key in its own
 * first statement (the intake: one round trip fewer): `work` receives the claim, embeds
 * `claimStatement` in that statement so that nothing is written unless it claimed the key, and
 * returns KEY_TAKEN when it did not; runWrite then answers as for any retry.
 */
export async function runWrite<T>(
  deps: WriteDeps,
  work: (trx: Transaction<DB>, claim: KeyClaim | undefined) => Promise<WriteResult<T> | typeof KEY_TAKEN>,
  idempotency?: IdempotencyRequest,
  opts: { claimInWork?: boolean } = {},
): Promise<Answer<T>> {
  let published = false;
  const answer = await inTransaction(deps.db, async (trx): Promise<Answer<T>> => {
    const claim: KeyClaim | undefined = idempotency && idempotency.key !== undefined
      ? { userId: idempotency.userId, key: idempotency.key, route: idempotency.route, hash: requestHash(idempotency.route, idempotency.body) }
      : undefined;
    if (claim && !opts.claimInWork && !(await claimKey(trx, claim))) return storedAnswer<T>(trx, claim);
    const result = await work(trx, opts.claimInWork ? claim : undefined);
    if (result === KEY_TAKEN) {
      if (!claim) throw new Error('runWrite: KEY_TAKEN from a write without an Idempotency-Key');
      return storedAnswer<T>(trx, claim);
    }
    // The answer and the events in one round trip, as the last statement before COMMIT.
    const answer = claim ? answerUpdate(trx, claim.userId, claim.key, result.status, result.body) : undefined;
    await publishEvents(trx, result.events, answer);
    published = result.events.length > 0;
    return { status: result.status, body: result.body, replayed: false };
  });
  if (published) deps.live.wake();
  return answer;
}

/** The committed answer of a key this request could not claim: a replay, or 422 for another request. */
async function storedAnswer<T>(trx: Transaction<DB>, claim: KeyClaim): Promise<Answer<T>> {
  const stored = await findAnswer(trx, claim.userId, claim.key);
  if (!stored) throw new Error('runWrite: an Idempotency-Key was neither claimed nor answered');
  if (stored.route !== claim.route || stored.requestHash !== claim.hash) {
    throw new ApiError(422, 'IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used for a different request; use a new key for a new request');
  }
  return { status: stored.status, body: stored.body as T, replayed: true };
}
