/**
 * The writes of responders, each through runWrite (write/write.ts): one transaction that locks the
 * responder (its writes are serialised), writes, and publishes its events (responders.events.ts).
 */
import type { LiveEventInput } from '../../live/events.js';
import { ApiError } from '../../plugins/errors.js';
import { runWrite, type WriteDeps } from '../../write/write.js';
import { checkBatch, MAX_AGE_MS, MAX_FUTURE_MS, parseTime, type BatchVerdict, type PositionInput } from './positions.js';
import { responderMoved, responderStatus } from './responders.events.js';
import {
  getSelf, insertTrack, lockResponder, moveCurrentPosition, storedNeighbours, updateStatus,
  type Position, type PresenceConfig, type ResponderSelf, type ResponderStatus,
} from './responders.repository.js';

/** The account's responder record was deleted while the account kept its session. */
const gone = () => new ApiError(403, 'NO_RESPONDER', 'this account\'s responder record no longer exists');

/** The responder's own record; 403 NO_RESPONDER when it no longer exists. */
export async function responderSelf(deps: Pick<WriteDeps, 'db'>, responderId: string, presence: PresenceConfig): Promise<ResponderSelf> {
  const me = await getSelf(deps.db, responderId, presence);
  if (!me) throw gone();
  return me;
}

/** Sets the status (one responder.status event when it changed); answers the responder's record. */
export async function setStatus(deps: WriteDeps, responderId: string, status: ResponderStatus, presence: PresenceConfig): Promise<ResponderSelf> {
  const answer = await runWrite(deps, async (trx) => {
    const me = await lockResponder(trx, responderId);
    if (!me) throw gone();
    const events: LiveEventInput[] = [];
    if (me.status !== status) {
      await updateStatus(trx, responderId, status);
      events.push(responderStatus(me.placement, status, me.status));
    }
    const self = await getSelf(trx, responderId, presence);
    return { status: 200, body: self!, events };
  });
  return answer.body;
}

/** The answer to a batch of positions. */
export interface PositionsAnswer extends Omit<BatchVerdict, 'accepted'> {
  accepted: number;
  position: Position | null;
}

/**
 * Stores a batch of positions: checks each point against the stored track around the batch's times
 * and the current position (positions.ts, with the database's clock), appends the accepted points,
 * moves the current position only to a point newer than it, and publishes one responder.moved with
 * the newest position when it moved. `moved` tells the demo simulator.
 */
export async function recordPositions(
  deps: WriteDeps,
  responderId: string,
  points: PositionInput[],
): Promise<{ body: PositionsAnswer; moved: boolean }> {
  let moved = false;
  const answer = await runWrite(deps, async (trx) => {
    const me = await lockResponder(trx, responderId);
    if (!me) throw gone();
    // The stored neighbours of the times that may be accepted (a real time within the accepted window):
    // nothing implausible reaches the database.
    const nowMs = me.now.getTime();
    const times = [...new Set(points.map((p) => parseTime(p.recordedAt)))]
      .filter((t) => Number.isFinite(t) && t >= nowMs - MAX_AGE_MS && t <= nowMs + MAX_FUTURE_MS);
    const stored = await storedNeighbours(trx, responderId, times);
    // The current position counts as a stored point too (it may predate the track table).
    if (times.length && me.current && !stored.some((s) => s.t === me.current!.t)) stored.push(me.current);
    // Server time: the database's clock (now() is the transaction's start, good enough for 2 min).
    const verdict = checkBatch(points, stored, nowMs);
    const events: LiveEventInput[] = [];
    let movedTo: Position | null = null;
    if (verdict.accepted.length) {
      await insertTrack(trx, me.placement, verdict.accepted);
      const newest = verdict.accepted.reduce((a, b) => (b.t > a.t ? b : a));
      movedTo = await moveCurrentPosition(trx, responderId, newest);
      moved = movedTo !== null;
      if (moved) {
        // The event carries the fix as sent, as it always has; the answer the position as stored.
        events.push(responderMoved(me.placement, {
          lon: newest.lon, lat: newest.lat, recordedAt: new Date(newest.t).toISOString(), accuracyMetres: newest.accuracyMetres,
        }));
      }
    }
    // The current position after the write: the newest point as stored when it moved, else as locked.
    const body: PositionsAnswer = {
      accepted: verdict.accepted.length, duplicates: verdict.duplicates, rejected: verdict.rejected,
      position: movedTo ?? me.position,
    };
    return { status: 200, body, events };
  });
  return { body: answer.body, moved };
}
