import type { Kysely, Transaction } from 'kysely';
import type { DB } from './types.js';

/** The database or an open transaction: what repository functions take first. */
export type Db = Kysely<DB> | Transaction<DB>;

/**
 * Runs `fn` in one transaction: COMMIT when it resolves, ROLLBACK when it throws, and the error
 * `fn` threw is the one rethrown (not a failure of the ROLLBACK after it). A connection on which a
 * statement failed is destroyed rather than returned to the pool (db/database.ts): with PGlite
 * behind pglite-socket a failed statement can leave the connection out of step (ARCHITECTURE.md,
 * sharp edges).
 */
export async function inTransaction<T>(db: Kysely<DB>, fn: (trx: Transaction<DB>) => Promise<T>): Promise<T> {
  let thrown: { error: unknown } | undefined;
  try {
    return await db.transaction().execute(async (trx) => {
      try {
        return await fn(trx);
      } catch (error) {
        thrown = { error };
        throw error;
      }
    });
  } catch (error) {
    throw thrown ? thrown.error : error;
  }
}

