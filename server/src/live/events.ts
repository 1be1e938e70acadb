/** The event types of the live stream (`/api/live`); the live_events table allows exactly these. */
export const LIVE_EVENT_TYPES = ['incident.created', 'incident.updated', 'responder.moved', 'responder.status', 'grids.changed'] as const;
export type LiveEventType = (typeof LIVE_EVENT_TYPES)[number];

/** PostgreSQL NOTIFY channel: the payload is the id of a committed live_events row. */
export const LIVE_CHANNEL = 'wangge_live';
/**
 * An event's id is its writer's transaction id times this, plus its place in the transaction (1..999;
 * migrations 0007 and 0010): ids are in transaction-id order, which is what lets the hub deliver without a lock
 * (live.repository.ts). Ids stay below 2^53 (exact as JS numbers) until transaction ids reach 9e12.
 */
export const LIVE_EVENT_IDS_PER_XACT = 1000;

/**
 * A live event before it is stored. Built by one builder per event type (the domain's
 * `*.events.ts`), never inline; stored by `publishEvents` (live.repository.ts).
 */
export interface LiveEventInput {
  type: LiveEventType;
  /** The incident's or responder's id. */
  entityId: string;
  /**
   * Code of the grid (or area) the entity belongs to: a user sees the event when this code
   * starts with their area code ('*' sees everything; auth/scope.ts).
   */
  scopeCode: string;
  /** Responders (current and previous assignee) that see the event whatever their area (auth/scope.ts). */
  responderIds?: readonly string[];
  /** Departments (current and previous assignee) that see the event whatever their area. */
  departmentCodes?: readonly string[];
  districtId?: string | null;
  /** What changed: small, JSON, no sensitive fields (reporter contact never goes here). */
  data: Record<string, unknown>;
}

