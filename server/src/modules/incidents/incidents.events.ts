/**
 * The live events of incidents: the only place their payloads are built (tests/live and the web
 * app read them; docs/command-centre-api.md lists their fields) — but `incident.created`, which
 * the one-statement intake builds in SQL (incidents.intake.query.ts incidentCreatedRows: SQL stays
 * in the repositories). Besides the grid's area, an event reaches the incident's assignee
 * (auth/scope.ts eventVisible), and on a step that takes the incident away from an assignee (a
 * reassignment) the previous one too, so it learns of it.
 */
import type { LiveEventInput } from '../../live/events.js';

/** Who an incident is assigned to (either, or neither). */
export interface Assignee {
  responderId: string | null;
  departmentCode: string | null;
}

/** What every incident event says about the incident, as it is after the change. */
export interface IncidentSubject {
  id: string;
  status: string;
  priority: string;
  category: string;
  gridCode: string | null;
  districtId: string | null;
  lon: number;
  lat: number;
  assignee: Assignee;
}

/** A changed field: its value before and after. */
export type Changes = Record<string, { from: unknown; to: unknown }>;

const distinct = (values: (string | null | undefined)[]) => [...new Set(values.filter((x): x is string => typeof x === 'string'))];

/** The responders and departments an event concerns: the current assignee and the previous one. */
export function audience(current: Assignee, previous?: Assignee): Pick<LiveEventInput, 'responderIds' | 'departmentCodes'> {
  return {
    responderIds: distinct([current.responderId, previous?.responderId]),
    departmentCodes: distinct([current.departmentCode, previous?.departmentCode]),
  };
}

const placement = (i: IncidentSubject) => ({ entityId: i.id, scopeCode: i.gridCode ?? '', districtId: i.districtId });

/**
 * A change of an incident: a lifecycle step, a photo, an escalation (`action`) with what it
 * changed. `previous` is the assignee before the change when the change replaced it.
 */
export function incidentUpdated(i: IncidentSubject, action: string, changes: Changes, previous?: Assignee): LiveEventInput {
  return {
    type: 'incident.updated',
    ...placement(i),
    ...audience(i.assignee, previous),
    data: { incidentId: i.id, status: i.status, priority: i.priority, category: i.category, gridCode: i.gridCode, lon: i.lon, lat: i.lat, action, changes },
  };
}
