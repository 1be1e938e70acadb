/** All SQL of the append-only audit log: appending a row, counting a repeated contact read, and the filtered, paged list. */
import { sql } from 'kysely';
import type { FastifyRequest } from 'fastify';
import type { Db } from '../../db/transaction.js';
import type { SessionUser } from '../../auth/sessions.js';
import { seesEverything, type AreaCode } from '../../auth/scope.js';
import { codeInScope } from '../../auth/scope.repository.js';
import type { Static } from 'typebox';
import type { Entry } from './audit.schemas.js';

/** Who acted, from where: a signed-in user, or nobody (the CLI, the system). */
export interface AuditContext {
  user?: Pick<SessionUser, 'id' | 'username' | 'role'>;
  ip?: string;
  requestId?: string;
}

/** The audit context of a request: who is signed in, from which address, which request. */
export const auditOf = (request: FastifyRequest): AuditContext => ({ user: request.user, ip: request.ip, requestId: request.id });

/** What was done to which entity, with its state before and after where that matters. */
export interface AuditEntry {
  action: string;
  entity: string;
  entityId?: string;
  before?: unknown;
  after?: unknown;
}

/** Appends one row to the audit log; pass the write's transaction so that both commit together. */
export async function appendAudit(db: Db, ctx: AuditContext, entry: AuditEntry): Promise<void> {
  await db
    .insertInto('audit_log')
    .values({
      actor_id: ctx.user?.id ?? null,
      actor_username: ctx.user?.username ?? null,
      actor_role: ctx.user?.role ?? null,
      action: entry.action,
      entity: entry.entity,
      entity_id: entry.entityId ?? null,
      // As JSON text: pg would send a JS array as a PostgreSQL array.
      before: entry.before === undefined ? null : JSON.stringify(entry.before),
      after: entry.after === undefined ? null : JSON.stringify(entry.after),
      ip: ctx.ip ?? null,
      request_id: ctx.requestId ?? null,
    })
    .execute();
}

/**
 * Records one read of an incident's reporter contact: added to the reader's row for that incident
 * (same address) begun less than 15 minutes ago — its count grows by one and its last time moves —
 * else a new row. Hand-written: it calls the database function of migration 0011, which takes the
 * per-user-and-incident lock and then looks up the row in one round trip (concurrent reads neither
 * make two rows nor lose a count).
 */
export async function appendContactRead(db: Db, ctx: AuditContext, incidentId: string): Promise<void> {
  await sql`SELECT audit_contact_read(${incidentId}, ${ctx.user?.id ?? null}, ${ctx.user?.username ?? null}, ${ctx.user?.role ?? null}, ${ctx.ip ?? null}, ${ctx.requestId ?? null})`.execute(db);
}

/** One audit row as the API answers it (the API's schema, audit.schemas.ts). */
export type AuditRecord = Static<typeof Entry>;

/** Filters of the audit list; each one given narrows it. */
export interface AuditFilter {
  action?: string;
  entity?: string;
  entityId?: string;
  /** The actor's username. */
  actor?: string;
  /** Inclusive lower and exclusive upper bound of `at` (date-time strings). */
  from?: string;
  to?: string;
}

/**
 * The audit rows matching `filter`, newest first, and how many match in all. An admin of an area
 * sees what the accounts of that area did; '*' sees every row, those of no account included.
 */
export async function listAudit(
  db: Db,
  scope: AreaCode,
  filter: AuditFilter,
  page: { limit: number; offset: number },
): Promise<{ entries: AuditRecord[]; numberMatched: number }> {
  let matching = db.selectFrom('audit_log');
  if (filter.action !== undefined) matching = matching.where('action', '=', filter.action);
  if (filter.entity !== undefined) matching = matching.where('entity', '=', filter.entity);
  if (filter.entityId !== undefined) matching = matching.where('entity_id', '=', filter.entityId);
  if (filter.actor !== undefined) matching = matching.where('actor_username', '=', filter.actor);
  // Bounds are read by PostgreSQL (microseconds, any offset), not by JS Date.
  if (filter.from !== undefined) matching = matching.where((eb) => eb('at', '>=', eb.cast<Date>(eb.val(filter.from), 'timestamptz')));
  if (filter.to !== undefined) matching = matching.where((eb) => eb('at', '<', eb.cast<Date>(eb.val(filter.to), 'timestamptz')));
  if (!seesEverything(scope)) {
    matching = matching.where('actor_id', 'in', (eb) =>
      eb.selectFrom('users').select('users.id').where((u) => codeInScope(u.ref('users.area_code'), scope)),
    );
  }
  const [rows, count] = await Promise.all([
    matching
      .select(['id', 'at', 'last_at', 'count', 'actor_id', 'actor_username', 'actor_role', 'action', 'entity', 'entity_id', 'before', 'after', 'ip'])
      .orderBy('id', 'desc')
      .limit(page.limit)
      .offset(page.offset)
      .execute(),
    matching.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
  ]);
  const entries = rows.map((r) => ({
    id: r.id,
    at: r.at.toISOString(),
    count: r.count,
    lastAt: (r.last_at ?? r.at).toISOString(),
    actorId: r.actor_id,
    actorUsername: r.actor_username,
    actorRole: r.actor_role,
    action: r.action,
    entity: r.entity,
    entityId: r.entity_id,
    before: r.before,
    after: r.after,
    ip: r.ip,
  }));
  return { entries, numberMatched: count.n };
}
