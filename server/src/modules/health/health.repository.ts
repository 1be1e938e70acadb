import { sql } from 'kysely';
import type { Db } from '../../db/transaction.js';

/** Whether the database answers a trivial statement now (any failure counts as not answering). */
export async function databaseReachable(db: Db): Promise<boolean> {
  try {
    await sql`SELECT 1`.execute(db);
    return true;
  } catch {
    return false;
  }
}
