/** The SQL the demo seed needs: is the database empty, and where do the demo accounts go. */
import { sql } from 'kysely';
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

/**
 * Gives the generated timelines' named actors (geo-data histories.ts) the demo's command-centre
 * account (the first enabled commander): the command centre's own steps become that account's,
 * and a step by someone without an account (a generated responder, a grid worker reporting what
 * they found) becomes the command centre's record on their behalf (代<name>登记, before any note of
 * the step). Escalations stay the system's. Each generated incident's reporter is then its
 * report's account. Nothing happens without a commander.
 */
export async function bindGeneratedActors(db: Db, commandCentreName: string): Promise<void> {
  const commander = await db
    .selectFrom('users')
    .select(['id', (eb) => eb.fn.coalesce('display_name', 'username').as('name')])
    .where('role', '=', 'commander')
    .where('disabled', '=', false)
    .orderBy('username')
    .limit(1)
    .executeTakeFirst();
  if (!commander) return;
  // An sql template for the note: the builder has no string concatenation.
  await db
    .updateTable('incident_transitions')
    .set((eb) => ({
      actor_id: commander.id,
      actor_name: commander.name,
      note: sql<string | null>`CASE WHEN ${eb.ref('actor_name')} = ${commandCentreName} THEN ${eb.ref('note')}
                                    ELSE '代' || ${eb.ref('actor_name')} || '登记' || coalesce('：' || ${eb.ref('note')}, '') END`,
    }))
    .where('actor_id', 'is', null)
    .where('action', '<>', 'escalate')
    .execute();
  // The generated ratings are the commander's too (their steps were rebound above).
  await db.updateTable('incident_ratings').set({ rated_by: commander.id, rated_by_name: commander.name }).where('rated_by', 'is', null).execute();
  await db
    .updateTable('incidents as i')
    .from('incident_transitions as t')
    .set((eb) => ({ reported_by: eb.ref('t.actor_id') }))
    .whereRef('t.incident_id', '=', 'i.id')
    .where('t.action', '=', 'report')
    .where('i.reported_by', 'is', null)
    .execute();
}
