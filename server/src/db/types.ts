import type { ColumnType, Generated } from 'kysely';

/**
 * Table types for Kysely. Geometry columns are opaque on the TypeScript side: they are written
 * and read through PostGIS functions (ST_GeomFromGeoJSON, ST_AsGeoJSON), never as raw values.
 */
export type Geometry = ColumnType<unknown, unknown, unknown>;
type GeneratedGeometry = ColumnType<unknown, never, never>;
type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;

export interface AreasTable {
  id: Generated<string>;
  code: string;
  level: Generated<'district' | 'street' | 'community'>;
  name: string;
  parent_id: Generated<string | null>;
  district_id: Generated<string | null>;
  geom: Geometry | null;
  geom_3857: GeneratedGeometry;
  source: string | null;
  source_id: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface GridsTable {
  id: Generated<string>;
  code: string;
  name: string;
  community_id: string;
  district_id: Generated<string>;
  geom: Geometry;
  geom_3857: GeneratedGeometry;
  source: string | null;
  source_id: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface BuildingsTable {
  id: Generated<string>;
  district_id: Generated<string | null>;
  grid_id: Generated<string | null>;
  name: string | null;
  address: string | null;
  floors: number | null;
  height_m: number | null;
  households: Generated<number>;
  geom: Geometry;
  geom_3857: GeneratedGeometry;
  source: string | null;
  source_id: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface RoadsTable {
  id: Generated<string>;
  district_id: string | null;
  name: string | null;
  class: string;
  bridge: Generated<boolean>;
  tunnel: Generated<boolean>;
  layer: Generated<number>;
  oneway: Generated<boolean>;
  geom: Geometry;
  geom_3857: GeneratedGeometry;
  source: string | null;
  source_id: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface RoadNodesTable {
  id: number;
  geom: Geometry;
}

export interface RoadEdgesTable {
  id: Generated<number>;
  road_id: string;
  source: number;
  target: number;
  length_m: number;
  geom: Geometry;
}

export interface RoadNetworkStateTable {
  singleton: Generated<boolean>;
  version: Generated<number>;
  noded_version: Generated<number>;
  changed_at: Timestamp;
}

export interface RespondersTable {
  id: Generated<string>;
  district_id: string | null;
  kind: 'grid_worker' | 'patrol' | 'volunteer' | 'police';
  name: string;
  phone: string | null;
  status: Generated<'available' | 'busy' | 'off_duty'>;
  position: Geometry | null;
  position_at: Timestamp | null;
  home_grid_id: string | null;
  user_id: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
  status_at: Generated<Date>;
  position_accuracy_m: number | null;
}

export interface ResponderPositionsTable {
  responder_id: string;
  recorded_at: Timestamp;
  district_id: string | null;
  position: Geometry;
  accuracy_m: number | null;
  received_at: Generated<Date>;
}

export interface IncidentCategoriesTable {
  code: string;
  name_zh: string;
  name_en: string;
  sort: Generated<number>;
  department_code: string | null;
}

export interface DepartmentsTable {
  code: string;
  name_zh: string;
  name_en: string;
  sort: Generated<number>;
}

export interface IncidentTimeLimitsTable {
  category: string;
  status: IncidentStatus;
  limit_minutes: number;
}

export type { IncidentStatus } from '../modules/incidents/lifecycle.js';
import type { IncidentStatus } from '../modules/incidents/lifecycle.js';
export type IncidentPriority = 'low' | 'normal' | 'high' | 'urgent';

export interface IncidentsTable {
  id: Generated<string>;
  district_id: Generated<string | null>;
  grid_id: Generated<string | null>;
  category: string;
  priority: Generated<IncidentPriority>;
  status: Generated<IncidentStatus>;
  location: Geometry;
  address: string | null;
  description: string;
  reporter_contact: string | null;
  near_border: Generated<boolean>;
  reported_at: Timestamp;
  closed_at: Timestamp | null;
  created_at: Timestamp;
  updated_at: Timestamp;
  reported_by: string | null;
  status_since: Generated<Date>;
  assignee_responder_id: string | null;
  assignee_department: string | null;
  assigned_at: Timestamp | null;
  near_grid_ids: Generated<string[]>;
  escalation_level: Generated<number>;
  escalated_at: Timestamp | null;
  version: Generated<number>;
}

export interface IncidentTransitionsTable {
  id: Generated<string>;
  incident_id: string;
  district_id: string | null;
  action: string;
  from_status: IncidentStatus | null;
  to_status: IncidentStatus;
  actor_id: string | null;
  actor_name: string | null;
  note: string | null;
  responder_id: string | null;
  department_code: string | null;
  escalation_level: number | null;
  at: Generated<Date>;
}

export interface IncidentPhotosTable {
  id: Generated<string>;
  incident_id: string;
  district_id: string | null;
  transition_id: string | null;
  content_type: 'image/jpeg' | 'image/png' | 'image/webp';
  byte_size: number;
  sha256: string;
  data: Buffer | null;
  uploaded_by: string | null;
  created_at: Generated<Date>;
}

export interface IdempotencyKeysTable {
  user_id: string;
  key: string;
  route: string;
  request_hash: string;
  status_code: number;
  response: unknown;
  created_at: Generated<Date>;
}

export interface LiveEventsTable {
  id: Generated<string>;
  type: 'incident.created' | 'incident.updated' | 'responder.moved' | 'responder.status';
  entity_id: string;
  scope_code: string;
  district_id: string | null;
  data: unknown;
  created_at: Generated<Date>;
}

export interface DataSourcesTable {
  name: string;
  layer: 'areas' | 'grids' | 'buildings' | 'roads';
  attribution: string | null;
  imported_at: Timestamp;
  imported_count: Generated<number>;
  rejected_count: Generated<number>;
}

export interface UsersTable {
  id: Generated<string>;
  username: string;
  display_name: string | null;
  password_hash: string;
  role: 'admin' | 'commander' | 'planner' | 'grid_worker' | 'department' | 'viewer';
  /** '*' or a 6/9/12/15-digit area or grid code. */
  area_code: string;
  disabled: Generated<boolean>;
  created_at: Timestamp;
  updated_at: Timestamp;
  password_changed_at: Timestamp;
  department_code: string | null;
}

export interface SessionsTable {
  /** SHA-256 (hex) of the cookie token. */
  id: string;
  user_id: string;
  created_at: Timestamp;
  last_seen_at: Timestamp;
  expires_at: Timestamp;
  ip: string | null;
  user_agent: string | null;
}

export interface LoginThrottleTable {
  key: string;
  failures: Generated<number>;
  window_started_at: Timestamp;
}

export interface AuditLogTable {
  id: Generated<number>;
  at: Timestamp;
  actor_id: string | null;
  actor_username: string | null;
  actor_role: string | null;
  action: string;
  entity: string;
  entity_id: string | null;
  before: unknown;
  after: unknown;
  ip: string | null;
  request_id: string | null;
}

export interface DB {
  areas: AreasTable;
  grids: GridsTable;
  buildings: BuildingsTable;
  roads: RoadsTable;
  road_nodes: RoadNodesTable;
  road_edges: RoadEdgesTable;
  road_network_state: RoadNetworkStateTable;
  responders: RespondersTable;
  incident_categories: IncidentCategoriesTable;
  incidents: IncidentsTable;
  data_sources: DataSourcesTable;
  users: UsersTable;
  sessions: SessionsTable;
  login_throttle: LoginThrottleTable;
  audit_log: AuditLogTable;
  departments: DepartmentsTable;
  incident_time_limits: IncidentTimeLimitsTable;
  incident_transitions: IncidentTransitionsTable;
  incident_photos: IncidentPhotosTable;
  idempotency_keys: IdempotencyKeysTable;
  responder_positions: ResponderPositionsTable;
  live_events: LiveEventsTable;
}
