/**
 * Who may do what: the one permission table of the API. Every route declares the permission it
 * needs in its route config (`config: { permission }`) or declares itself `'public'`; a route
 * without a declaration is refused at start-up (plugins/auth.ts).
 *
 * | permission            | admin | commander | planner | grid_worker | department | viewer |
 * |-----------------------|:-----:|:---------:|:-------:|:-----------:|:----------:|:------:|
 * | map.read              |   ✓   |     ✓     |    ✓    |      ✓      |     ✓      |   ✓    |
 * | incident.sensitive    |   ✓   |     ✓     |         |             |            |        |
 * | user.manage           |   ✓   |           |         |             |            |        |
 * | audit.read            |   ✓   |           |         |             |            |        |
 * | category.manage       |   ✓   |           |         |             |            |        |
 * | incident.report       |   ✓   |     ✓     |         |      ✓      |     ✓      |        |
 * | incident.handle       |   ✓   |     ✓     |         |      ✓      |     ✓      |        |
 * | incident.dispatch     |   ✓   |     ✓     |         |             |            |        |
 * | responder.self        |   ✓   |     ✓     |         |      ✓      |            |        |
 * | kpi.read              |   ✓   |     ✓     |         |             |            |   ✓    |
 * | kpi.manage            |   ✓   |           |         |             |            |        |
 * | grid.plan.read        |   ✓   |     ✓     |    ✓    |             |            |   ✓    |
 * | grid.plan.write       |   ✓   |           |    ✓    |             |            |        |
 *
 * incident.handle lets a user reach the transitions endpoint; which action they may take on which
 * incident is decided by the lifecycle table (modules/incidents/lifecycle.ts: command centre, or
 * the assigned grid worker / department). category.manage changes the installation's categories: only
 * an admin of the whole installation ('*'; modules/incidents/categories.service.ts). responder.self acts on the responder linked to the
 * signed-in account (403 NO_RESPONDER without one). kpi.read reads the department scores over the
 * user's area; kpi.manage sets the score's weights. grid.plan.read/write read and publish the grid
 * plans of the communities in the user's area (writing not from a single grid's scope).
 *
 * Reads and writes are further limited to the user's area (scope), in SQL (auth/scope.ts).
 */
export const ROLES = ['admin', 'commander', 'planner', 'grid_worker', 'department', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

export const PERMISSIONS = [
  'map.read', 'incident.sensitive', 'user.manage', 'audit.read', 'category.manage',
  'incident.report', 'incident.handle', 'incident.dispatch', 'responder.self', 'kpi.read', 'kpi.manage',
  'grid.plan.read', 'grid.plan.write',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

const GRANTS: Record<Role, readonly Permission[]> = {
  admin: PERMISSIONS,
  commander: ['map.read', 'incident.sensitive', 'incident.report', 'incident.handle', 'incident.dispatch', 'responder.self', 'kpi.read', 'grid.plan.read'],
  planner: ['map.read', 'grid.plan.read', 'grid.plan.write'],
  grid_worker: ['map.read', 'incident.report', 'incident.handle', 'responder.self'],
  department: ['map.read', 'incident.report', 'incident.handle'],
  viewer: ['map.read', 'kpi.read', 'grid.plan.read'],
};

export function can(role: Role, permission: Permission): boolean {
  return GRANTS[role]?.includes(permission) ?? false;
}

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

export function isPermission(value: unknown): value is Permission {
  return typeof value === 'string' && (PERMISSIONS as readonly string[]).includes(value);
}

/** An area scope: '*' (everything, admins only) or a 6/9/12/15-digit area or grid code. */
export function isAreaCode(value: string): boolean {
  return value === '*' || /^[0-9]{6}([0-9]{3}){0,3}$/.test(value);
}
