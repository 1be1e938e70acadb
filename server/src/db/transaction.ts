import type { Kysely, Transaction } from 'kysely';
import type { DB } from './types.js';

/** The database or an open transaction: what repository functions take first. */
export type Db = Kysely<DB> | Transaction<DB>;

/**
 * Runs `fn` in one transaction: COMMIT when it resolves, ROLLBACK when it throws, and the error
 * `fn` threw is the one rethrown (not a failure of the ROLLBACK after it). A connection whose
 * ROLLBACK fails is discarded rather than returned to the pool (db/database.ts): with PGlite
 * behind pglite-socket a failed statement inside a transaction can leave the connection out of
 * step (ARCHITECTURE.md, sharp edges).
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

// TEMPORARY: the pg-client transaction of the old modules, deleted when none imports it.
import type pg from 'pg';
/**
 * Runs `fn` in one transaction on a dedicated connection: COMMIT when it resolves, ROLLBACK when
 * it throws (the error is rethrown). A connection that cannot roll back is discarded rather than
 * returned to the pool (with PGlite behind pglite-socket a failed statement inside a transaction
 * can leave the connection out of step; see ARCHITECTURE.md, sharp edges).
 */
export async function withTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let discard: Error | undefined;
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch((rollbackError: Error) => {
      discard = rollbackError;
    });
    throw err;
  } finally {
    client.release(discard);
  }
}
