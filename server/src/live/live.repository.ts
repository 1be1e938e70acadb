/**
 * All SQL of the live stream: appending events (writers, inside their transaction), and reading,
 * replaying and pruning them (the hub).
 */
import { sql } from 'kysely';
import type { Db } from '../db/transaction.js';
import { LIVE_CHANNEL, LIVE_EVENT_LOCK, type LiveEventInput } from './events.js';

/**
 * Appends live events inside the caller's transaction and announces them with NOTIFY (delivered
 * by PostgreSQL on commit, to every API process). Called by `runWrite` (write/write.ts) as the
 * last statement before COMMIT: it takes a transaction-scoped advisory lock so that event ids are
 * handed out in commit order and a reader that has seen id N never later sees a smaller id appear.
 * After the commit the local hub is woken, which is how the embedded database (one process, no
 * cross-process NOTIFY) delivers.
 */
export async function publishEvents(trx: Db, events: readonly LiveEventInput[]): Promise<string[]> {
  if (events.length === 0) return [];
  await sql`SELECT pg_advisory_xact_lock(${LIVE_EVENT_LOCK})`.execute(trx);
  // One INSERT for the batch, with the values as one JSON parameter.
  const rows = JSON.stringify(events.map((e) => ({
    type: e.type, entity_id: e.entityId, scope_code: e.scopeCode, district_id: e.districtId ?? null, data: e.data,
    responder_ids: e.responderIds ?? [], department_codes: e.departmentCodes ?? [],
  })));
  const { rows: ids } = await sql<{ id: string }>`
    INSERT INTO live_events (type, entity_id, scope_code, district_id, data, responder_ids, department_codes)
    SELECT e.type, e.entity_id::uuid, e.scope_code, e.district_id::uuid, e.data, e.responder_ids, e.department_codes
      FROM jsonb_to_recordset(${rows}::jsonb)
           AS e (type text, entity_id text, scope_code text, district_id text, data jsonb, responder_ids uuid[], department_codes text[])
    RETURNING id::text`.execute(trx);
  await sql`SELECT pg_notify(${LIVE_CHANNEL}, ${ids[ids.length - 1].id})`.execute(trx);
  return ids.map((r) => r.id);
}
