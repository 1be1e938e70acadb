/**
 * The SQL of the sign-in throttle (auth/throttle.ts): counters in `login_throttle`, shared by every
 * API process, each a number of attempts in a window that started at `window_started_at`.
 */
import { sql } from 'kysely';
import type { Db } from '../db/transaction.js';

const windowOpen = (windowSeconds: number) => sql<boolean>`login_throttle.window_started_at > now() - make_interval(secs => ${windowSeconds})`;

/** A counter as the throttle judges it: attempts in the open window (0 when it has ended). */
export interface Counter {
  key: string;
  attempts: number;
  /** Seconds (rounded up) until the counter's window ends. */
  windowLeftSeconds: number;
  /** Seconds since the last counted attempt. */
  sinceLastSeconds: number;
}

/**
 * Creates the counters of `keys` that do not exist yet, then locks all of them until the end of
 * the caller's transaction and reads them: concurrent sign-ins for the same keys queue here, in
 * the same (sorted) order, so they cannot deadlock and each sees the counts of the one before.
 */
export async function lockCounters(trx: Db, keys: readonly string[], windowSeconds: number): Promise<Counter[]> {
  const sorted = [...keys].sort();
  await trx
    .insertInto('login_throttle')
    .values(sorted.map((key) => ({ key, failures: 0 })))
    .onConflict((oc) => oc.column('key').doNothing())
    .execute();
  return trx
    .selectFrom('login_throttle')
    .select([
      'key',
      sql<number>`CASE WHEN ${windowOpen(windowSeconds)} THEN failures ELSE 0 END`.as('attempts'),
      // Epoch arithmetic the builder cannot say.
      sql<number>`greatest(0, ceil(extract(epoch FROM window_started_at + make_interval(secs => ${windowSeconds}) - now())))::int`.as('windowLeftSeconds'),
      sql<number>`extract(epoch FROM now() - last_attempt_at)::float8`.as('sinceLastSeconds'),
    ])
    .where('key', 'in', sorted)
    .orderBy('key')
    .forUpdate()
    .execute();
}

/** Counts one attempt under each key (locked by lockCounters); a key whose window has ended starts a new one. */
export async function countAttempt(trx: Db, keys: readonly string[], windowSeconds: number): Promise<void> {
  await trx
    .updateTable('login_throttle')
    .set((eb) => ({
      failures: eb.case().when(windowOpen(windowSeconds)).then(eb('failures', '+', 1)).else(1).end(),
      window_started_at: eb.case().when(windowOpen(windowSeconds)).then(eb.ref('window_started_at')).else(eb.fn<Date>('now')).end(),
      last_attempt_at: eb.fn<Date>('now'),
    }))
    .where('key', 'in', [...keys])
    .execute();
}

/** Takes one counted attempt back from each key (it turned out not to be a failure). */
export async function uncountAttempt(db: Db, keys: readonly string[]): Promise<void> {
  await db
    .updateTable('login_throttle')
    .set((eb) => ({ failures: eb.fn<number>('greatest', [eb('failures', '-', 1), eb.lit(0)]) }))
    .where('key', 'in', [...keys])
    .execute();
}

/** Deletes the counters whose window has ended (they count nothing any more); returns how many. */
export async function purgeEndedCounters(db: Db, windowSeconds: number): Promise<number> {
  const result = await db
    .deleteFrom('login_throttle')
    .where(sql<boolean>`NOT ${windowOpen(windowSeconds)}`)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
