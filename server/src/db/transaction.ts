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
