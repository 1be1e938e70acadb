/**
 * The live events of responders: the only place their payloads are built (the web app's map and
 * field view read them; docs/command-centre-api.md lists their fields).
 */
import type { LiveEventInput } from '../../live/events.js';

/** Where a responder's events belong: its home grid's code, else its district's (responders.repository.ts). */
export interface ResponderPlacement {
  responderId: string;
  scopeCode: string;
  districtId: string | null;
}

/** The responder's current position moved to `position` (the newest point of a batch). */
export function responderMoved(
  r: ResponderPlacement,
  position: { lon: number; lat: number; recordedAt: string; accuracyMetres: number | null },
): LiveEventInput {
  return {
    type: 'responder.moved', entityId: r.responderId, scopeCode: r.scopeCode, districtId: r.districtId,
    data: { responderId: r.responderId, lon: position.lon, lat: position.lat, recordedAt: position.recordedAt, accuracyMetres: position.accuracyMetres },
  };
}

/** The responder's status changed from `from` to `status`. */
export function responderStatus(r: ResponderPlacement, status: string, from: string): LiveEventInput {
  return {
    type: 'responder.status', entityId: r.responderId, scopeCode: r.scopeCode, districtId: r.districtId,
    data: { responderId: r.responderId, status, from },
  };
}
