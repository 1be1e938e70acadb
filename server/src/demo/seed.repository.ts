/** The SQL the demo seed needs: is the database empty, and where do the demo accounts go. */
import type { Db } from '../db/transaction.js';

/** True when the database holds no areas yet (nothing imported or generated). */
export async function hasNoAreas(db: Db): Promise<boolean> {
  const row = await db.selectFrom('areas').select('id').limit(1).executeTakeFirst();
  return row === undefined;
}

/** The lowest grid code, whose prefixes are its community, street and district codes. */
export async function firstGridCode(db: Db): Promise<string | undefined> {
  const row = await db.selectFrom('grids').select('code').orderBy('code').limit(1).executeTakeFirst();
  return row?.code;
}
