import type pg from 'pg';
import type { SessionUser } from './sessions.js';

export interface AuditContext {
  user?: Pick<SessionUser, 'id' | 'username' | 'role'>;
  ip?: string;
  requestId?: string;
}

export interface AuditEntry {
  action: string;
  entity: string;
  entityId?: string;
  before?: unknown;
  after?: unknown;
}

/** Appends one row to the audit log; pass the transaction's client for writes so both commit together. */
export async function appendAudit(db: Pick<pg.Pool, 'query'>, ctx: AuditContext, entry: AuditEntry): Promise<void> {
  await db.query(
    `INSERT INTO audit_log (actor_id, actor_username, actor_role, action, entity, entity_id, before, after, ip, request_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
    [
      ctx.user?.id ?? null,
      ctx.user?.username ?? null,
      ctx.user?.role ?? null,
      entry.action,
      entry.entity,
      entry.entityId ?? null,
      entry.before === undefined ? null : JSON.stringify(entry.before),
      entry.after === undefined ? null : JSON.stringify(entry.after),
      ctx.ip ?? null,
      ctx.requestId ?? null,
    ],
  );
}
