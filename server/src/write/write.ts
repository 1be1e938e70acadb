/**
 * The one way a write goes through the server: `runWrite` opens a transaction, claims the
 * client's Idempotency-Key (or answers with the stored answer), runs the domain's write, then in one
 * statement stores its answer and appends its live events, commits, and wakes the live hub. Services
 * (`<domain>.service.ts`) supply the write as a function of the transaction returning its answer and
 * its events; routes call the service and send the answer. Round trips are what a write costs on
 * these machines (each is a context switch between Node and PostgreSQL): a write with a key and
 * events is BEGIN, claim, the domain's statements, answer + events, COMMIT. The hottest write, the
 * intake, is one autocommitted statement instead (`runStatementWrite`): the same claim, answer and
 * events, spelled inside that statement.
 */
import type { Kysely, Transaction } from 'kysely';
import type { DB } from '../db/types.js';
import { inTransaction, type Db } from '../db/transaction.js';
import type { LiveBus } from '../live/bus.js';
import type { LiveEventInput } from '../live/events.js';
import { publishEvents } from '../live/live.repository.js';
import { ApiError } from '../plugins/errors.js';
import { answerUpdate, claimKey, findAnswer, requestHash, type KeyClaim, type StoredAnswer } from './idempotency.repository.js';

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

/** What a statement write returns when its key was already answered (nothing was written). */
export const KEY_TAKEN = Symbol('KEY_TAKEN');

/** The claim of a request's Idempotency-Key, when it sent one. */
function keyClaim(idempotency: IdempotencyRequest | undefined): KeyClaim | undefined {
  return idempotency && idempotency.key !== undefined
    ? { userId: idempotency.userId, key: idempotency.key, route: idempotency.route, hash: requestHash(idempotency.route, idempotency.body) }
    : undefined;
}

/** Runs one write (see the file comment). */
export async function runWrite<T>(
  deps: WriteDeps,
  work: (trx: Transaction<DB>) => Promise<WriteResult<T>>,
  idempotency?: IdempotencyRequest,
): Promise<Answer<T>> {
  let published = false;
  const claim = keyClaim(idempotency);
  const answer = await inTransaction(deps.db, async (trx): Promise<Answer<T>> => {
    if (claim && !(await claimKey(trx, claim))) return storedAnswer<T>(trx, claim);
    const result = await work(trx);
    // The answer and the events in one round trip, as the last statement before COMMIT.
    const answer = claim ? answerUpdate(trx, claim.userId, claim.key, result.status, result.body) : undefined;
    await publishEvents(trx, result.events, answer);
    published = result.events.length > 0;
    return { status: result.status, body: result.body, replayed: false };
  });
  if (published) deps.live.wake();
  return answer;
}

/** What a statement write did: its answer, and whether it appended live events. */
export interface StatementResult<T> {
  status: number;
  body: T;
  published: boolean;
}

/**
 * A write that is one autocommitted statement — no BEGIN, no COMMIT, one round trip (the intake:
 * 4 round trips were most of its cost). The statement must do in SQL what runWrite does around a
 * transaction: embed claimStatement with `when` (the write goes ahead: a refused write writes
 * nothing and leaves the key free) and `answer` (status and a body, usually a reference to what it
 * created), so that nothing is written unless it claimed the key; append its live events (the
 * table's trigger gives their ids, as for publishEvents). It returns KEY_TAKEN when the
 * key was answered before: the stored answer, checked against this request (422
 * IDEMPOTENCY_KEY_REUSED for another one), goes to `replay`, which turns the stored body into the
 * answer (a reference resolved as the resource is now). A refused write (an ApiError) with a key
 * already answered answers as a retry too, as runWrite does by claiming first.
 */
export async function runStatementWrite<T>(
  deps: WriteDeps,
  statement: (db: Kysely<DB>, claim: KeyClaim | undefined) => Promise<StatementResult<T> | typeof KEY_TAKEN>,
  idempotency: IdempotencyRequest,
  replay: (storedBody: unknown) => Promise<T>,
): Promise<Answer<T>> {
  const claim = keyClaim(idempotency);
  let result: StatementResult<T> | typeof KEY_TAKEN;
  /** The stored answer, when the refusal path has read it already. */
  let stored: StoredAnswer | undefined;
  try {
    result = await statement(deps.db, claim);
  } catch (error) {
    stored = claim && error instanceof ApiError ? await findAnswer(deps.db, claim.userId, claim.key) : undefined;
    if (!stored) throw error;
    result = KEY_TAKEN;
  }
  if (result === KEY_TAKEN) {
    if (!claim) throw new Error('runStatementWrite: KEY_TAKEN from a write without an Idempotency-Key');
    const answer = checkedAnswer<unknown>(claim, stored ?? (await findAnswer(deps.db, claim.userId, claim.key)));
    return { status: answer.status, body: await replay(answer.body), replayed: true };
  }
  if (result.published) deps.live.wake();
  return { status: result.status, body: result.body, replayed: false };
}

/** The committed answer of a key this request could not claim: a replay, or 422 for another request. */
async function storedAnswer<T>(trx: Db, claim: KeyClaim): Promise<Answer<T>> {
  return checkedAnswer<T>(claim, await findAnswer(trx, claim.userId, claim.key));
}

/** A key's stored answer checked against this request: the same route and body, or 422. */
function checkedAnswer<T>(claim: KeyClaim, stored: StoredAnswer | undefined): Answer<T> {
  if (!stored) throw new Error('runWrite: an Idempotency-Key was neither claimed nor answered');
  if (stored.route !== claim.route || stored.requestHash !== claim.hash) {
    throw new ApiError(422, 'IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used for a different request; use a new key for a new request');
  }
  return { status: stored.status, body: stored.body as T, replayed: true };
}
