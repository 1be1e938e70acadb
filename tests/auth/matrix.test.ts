import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { createTestDatabase, tempDir, type TestDatabase } from '../support/database.js';
import { buildTestApp } from '../support/app.js';
import { addUser, signIn } from '../support/auth.js';
import { insertSmallDistrict } from '../support/fixtures.js';
import { decodeTile, tileAt } from '../api/tiles-fixtures.js';

/**
 * The authorisation matrix: every registered route × every principal × in-scope and out-of-scope
 * targets, with the expected status written by hand below (not derived from permissions.ts). A
 * route registered without a row here fails the test.
 */

// The principals, in the column order of the table. Every account but the first admin is bound to
// the first community (310101002001); the second community (310101002002) is out of their scope.
const PRINCIPALS = ['anonymous', 'admin', 'admin_c', 'commander', 'planner', 'grid_worker', 'department', 'viewer'] as const;
type Principal = (typeof PRINCIPALS)[number];
const COMMUNITY = '310101002001';
const OTHER_COMMUNITY = '310101002002';
const OTHER_GRID = '310101002002001';
const AREA: Record<Exclude<Principal, 'anonymous'>, string> = {
  admin: '*', admin_c: COMMUNITY, commander: COMMUNITY, planner: COMMUNITY, grid_worker: COMMUNITY, department: COMMUNITY, viewer: COMMUNITY,
};

/** Routes left out of the matrix, each for a stated reason. */
const IGNORED = new Set([
  // The web app's static files and its client-side routes (public by design, tests/api/web.test.ts).
  'GET /', 'HEAD /', 'GET /index.html', 'HEAD /index.html', 'GET /assets/app.js', 'HEAD /assets/app.js', 'GET /*', 'HEAD /*',
  // The live stream never ends, so inject() cannot read it: its authorisation and scope are tested in
  // tests/live (anonymous 401, events filtered by the user's area).
  'GET /api/live', 'HEAD /api/live',
  // swagger-ui's own assets under /api/docs.
  'GET /api/docs/static/index.html', 'HEAD /api/docs/static/index.html',
  'GET /api/docs/static/swagger-initializer.js', 'HEAD /api/docs/static/swagger-initializer.js',
  'GET /api/docs/*', 'HEAD /api/docs/*',
]);

/** What a case checks beyond the status, for a principal whose answer was 200. */
type Check = (res: Awaited<ReturnType<FastifyInstance['inject']>>, who: Principal) => Promise<void> | void;
interface Case {
  request: (who: Principal) => Promise<InjectOptions> | InjectOptions;
  check?: Check;
  /** The problem code of a 4xx answer when not the usual one for its status (CODE_OF). */
  problem?: string;
  /** The problem code of a 403 for principals that hold the permission but are refused for another reason. */
  forbidden?: Partial<Record<Principal, string>>;
}

let database: TestDatabase;
let app: FastifyInstance;
const accounts = {} as Record<Exclude<Principal, 'anonymous'>, { id: string; username: string; password: string; cookie: string }>;
/** Features of the first community (in scope) and of the second (out of scope). */
const ids = {} as Record<'gridIn' | 'gridOut' | 'buildingIn' | 'buildingOut' | 'incidentIn' | 'incidentOut' | 'responderIn' | 'responderOut' | 'areaIn' | 'areaOut' | 'road' | 'photoIn' | 'photoOut', string>;
/** Accounts the user-management routes act on: one under each community. */
const targets = {} as Record<'in' | 'out', string>;
let userSeq = 0;

// The z16 tiles over a point of each community.
const TILE_IN = tileAt(121.4855, 31.235, 16);
const TILE_OUT = tileAt(121.5055, 31.235, 16);

const scopeOf = (who: Principal) => (who === 'anonymous' ? '' : AREA[who]);

/** An independent count of the rows of a collection a principal may see. */
async function countInScope(collection: string, who: Principal, where = 'true'): Promise<number> {
  const code = {
    areas: 't.code', grids: 't.code', roads: null,
    buildings: '(SELECT code FROM grids g WHERE g.id = t.grid_id)',
    incidents: '(SELECT code FROM grids g WHERE g.id = t.grid_id)',
    responders: '(SELECT code FROM grids g WHERE g.id = t.home_grid_id)',
  }[collection];
  const scope = scopeOf(who);
  const inScope = scope === '*' || code === null ? 'true' : `${code} LIKE '${scope}%'`;
  const { rows } = await database.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${collection} t WHERE ${inScope} AND ${where}`);
  return rows[0].n;
}

/** Ids a principal may see in a tile layer (areas and grids by code, the rest by their grid's code). */
async function visibleIds(layer: string, who: Principal): Promise<Set<string>> {
  const code = {
    areas: 't.code', grids: 't.code', roads: `'${scopeOf(who)}'`,
    buildings: '(SELECT code FROM grids g WHERE g.id = t.grid_id)',
    incidents: '(SELECT code FROM grids g WHERE g.id = t.grid_id)',
    responders: '(SELECT code FROM grids g WHERE g.id = t.home_grid_id)',
  }[layer]!;
  const scope = scopeOf(who);
  const { rows } = await database.pool.query<{ id: string }>(
    `SELECT t.id::text AS id FROM ${layer} t WHERE $1 = '*' OR ${code} LIKE $1 || '%'`,
    [scope],
  );
  return new Set(rows.map((r) => r.id));
}

const get = (url: string): Case['request'] => () => ({ method: 'GET', url });

const itemsCase = (collection: string, bbox?: string): Case => ({
  request: get(`/api/collections/${collection}/items?limit=10000${bbox ? `&bbox=${bbox}` : ''}`),
  async check(res, who) {
    const body = res.json();
    const where = bbox ? `ST_Intersects(${collection === 'incidents' ? 't.location' : collection === 'responders' ? 't.position' : 't.geom'}, ST_MakeEnvelope(${bbox}, 4326))` : 'true';
    const expected = await countInScope(collection, who, where);
    expect(body.numberMatched, `${collection} numberMatched for ${who}`).toBe(expected);
    expect(body.numberReturned).toBe(expected);
    const visible = await visibleIds(collection, who);
    for (const f of body.features) expect(visible.has(f.id), `${collection} ${f.id} visible to ${who}`).toBe(true);
  },
});

const tileCase = (layer: string, t: { z: number; x: number; y: number }): Case => ({
  request: get(`/tiles/${layer}/${t.z}/${t.x}/${t.y}`),
  async check(res, who) {
    const features = decodeTile(res.rawPayload)[layer] ?? [];
    expect(features.length).toBeGreaterThan(0);
    if (layer === 'roads') return; // basemap geography: not scoped
    const visible = await visibleIds(layer, who);
    for (const f of features) {
      if (f.properties.clustered) continue;
      expect(visible.has(String(f.properties.id)), `${layer} ${f.properties.id} visible to ${who}`).toBe(true);
    }
  },
});

const featureCase = (collection: string, id: keyof typeof ids): Case => ({
  request: () => get(`/api/collections/${collection}/items/${ids[id]}`)('anonymous'),
  check: (res) => expect(res.json().id).toBe(ids[id]),
});

/** A fresh sign-in of the principal's account (its matrix session stays alive). */
async function spareCookie(who: Principal): Promise<string> {
  if (who === 'anonymous') return '';
  return signIn(app, accounts[who].username, accounts[who].password);
}

/** Principals that may act as a responder but whose account has none. */
const NO_RESPONDER: Case['forbidden'] = { admin: 'NO_RESPONDER', admin_c: 'NO_RESPONDER', commander: 'NO_RESPONDER' };
let positionSeq = 0;
let incidentSeq = 0;
const report = (lon: number, lat: number): InjectOptions => ({
  method: 'POST', url: '/api/incidents',
  payload: { category: 'dispute', priority: 'normal', description: `matrix report ${++incidentSeq}`, location: { type: 'Point', coordinates: [lon, lat] } },
});
// A 1×1 PNG.
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGD4DwABBAEAwS2OUAAAAABJRU5ErkJggg==', 'base64');
const photoUpload = (incidentId: string): InjectOptions => ({
  method: 'POST', url: `/api/incidents/${incidentId}/photos`, headers: { 'content-type': 'image/png' }, payload: PNG,
});
const transition = (incidentId: string, action: string): InjectOptions => ({
  method: 'POST', url: `/api/incidents/${incidentId}/transitions`, payload: { action },
});
const rate = (incidentId: string): InjectOptions => ({
  method: 'POST', url: `/api/incidents/${incidentId}/transitions`, payload: { action: 'rate', score: 4 },
});
/** A new closed incident (written as the owner) waiting for its rating. */
async function closedIncident(lon: number, lat: number): Promise<string> {
  const id = await freshIncident(lon, lat);
  await database.pool.query(`UPDATE incidents SET status = 'closed', closed_at = now() WHERE id = $1`, [id]);
  return id;
}
const dispatch = (incidentId: string, responderId: string): InjectOptions => ({
  method: 'POST', url: `/api/incidents/${incidentId}/dispatch`, payload: { responderId },
});
/** A new reported incident (written as the owner), so that each principal acts on its own. */
async function freshIncident(lon: number, lat: number): Promise<string> {
  const { rows } = await database.pool.query<{ id: string }>(
    `INSERT INTO incidents (category, priority, status, location, description) VALUES ('dispute', 'normal', 'reported', ST_Point($1, $2, 4326), $3) RETURNING id::text`,
    [lon, lat, `matrix incident ${++incidentSeq}`],
  );
  return rows[0].id;
}
/** A new draft of a community's grids (written as the owner, with no author), so that each principal acts on its own. */
/** POST …/drafts/{id}/import with a GeoJSON of one grid of the community (multipart, made by the platform's FormData). */
async function draftImport(draftId: string, communityCode: string): Promise<InjectOptions> {
  const grid = {
    type: 'Feature', properties: { code: `${communityCode}001`, name: '矩阵' },
    geometry: { type: 'Polygon', coordinates: [[[121.48, 31.23], [121.485, 31.23], [121.485, 31.24], [121.48, 31.24], [121.48, 31.23]]] },
  };
  const form = new FormData();
  form.append('file', new Blob([JSON.stringify({ type: 'FeatureCollection', features: [grid] })]), 'grids.geojson');
  const body = new Request('http://localhost/', { method: 'POST', body: form });
  return { method: 'POST', url: `/api/planner/drafts/${draftId}/import`, headers: { 'content-type': body.headers.get('content-type')! }, payload: Buffer.from(await body.arrayBuffer()) };
}

async function freshDraft(communityCode: string): Promise<string> {
  const { rows } = await database.pool.query<{ id: string }>(
    `INSERT INTO grid_plan_drafts (community_id, base_version, grids) SELECT id, 0, '{"type":"FeatureCollection","features":[]}' FROM areas WHERE code = $1 RETURNING id::text`,
    [communityCode],
  );
  return rows[0].id;
}
/** A new available responder, online, in a grid. */
async function freshResponder(lon: number, lat: number, gridCode: string): Promise<string> {
  const { rows } = await database.pool.query<{ id: string }>(
    `INSERT INTO responders (kind, name, status, position, position_at, home_grid_id)
     SELECT 'patrol', $3, 'available', ST_Point($1, $2, 4326), now(), id FROM grids WHERE code = $4 RETURNING id::text`,
    [lon, lat, `matrix responder ${++incidentSeq}`, gridCode],
  );
  return rows[0].id;
}

/**
 * The assignee rule (auth/scope.ts): one incident outside the first community, dispatched to the
 * principal's responder (grid worker) or department (department user), to nobody for the others.
 * Each case reassigns it before its request; the last principal (viewer) leaves it unassigned, so
 * the grid-only counts of the other cases hold.
 */
let assignedIncident = '';
const ASSIGNED_DEPARTMENT = 'urban_management';
async function assignedOutside(who: Principal): Promise<string> {
  await database.pool.query(
    `UPDATE incidents SET status = 'dispatched', status_since = now(), suspended_since = NULL, suspended_by = NULL,
            extension_pending_minutes = NULL, extension_pending_by = NULL, extension_pending_at = NULL,
            assignee_responder_id = (SELECT id FROM responders WHERE user_id = $2), assignee_department = $3 WHERE id = $1`,
    [assignedIncident, who === 'grid_worker' ? accounts.grid_worker.id : null, who === 'department' ? ASSIGNED_DEPARTMENT : null],
  );
  return assignedIncident;
}
/** Whether the assigned incident is among the Features of a list answer. */
const listsAssigned = (res: Awaited<ReturnType<FastifyInstance['inject']>>) =>
  res.json().features.some((f: { id: string }) => f.id === assignedIncident);

const CASES: Record<string, Record<string, Case>> = {
  'GET /api/health': { none: { request: get('/api/health'), check: (res) => expect(res.json().status).toBe('ok') } },
  'GET /api/docs': { none: { request: get('/api/docs') } },
  'GET /api/docs/': { none: { request: get('/api/docs/') } },
  'GET /api/docs/json': { none: { request: get('/api/docs/json'), check: (res) => expect(res.json().openapi).toMatch(/^3\./) } },
  'GET /api/docs/yaml': { none: { request: get('/api/docs/yaml') } },
  'GET /api': { none: { request: get('/api'), check: (res) => expect(res.json().links.map((l: { rel: string }) => l.rel)).toContain('data') } },
  'GET /api/conformance': { none: { request: get('/api/conformance'), check: (res) => expect(res.json().conformsTo.length).toBeGreaterThan(0) } },
  'POST /api/auth/login': {
    'wrong password': { request: (who) => ({ method: 'POST', url: '/api/auth/login', payload: { username: `nobody-${who.replace('_', '-')}`, password: 'not the password' } }) },
  },
  'POST /api/auth/logout': {
    'own session': {
      request: async (who) => ({ method: 'POST', url: '/api/auth/logout', headers: { cookie: await spareCookie(who) } }),
    },
  },
  'GET /api/auth/session': {
    none: {
      request: get('/api/auth/session'),
      check: (res, who) => expect(res.json().user === null, who).toBe(who === 'anonymous'),
    },
  },
  'GET /api/auth/me': {
    none: {
      request: get('/api/auth/me'),
      check: (res, who) => {
        const me = res.json();
        expect(me).toMatchObject({ username: accounts[who as 'admin'].username, role: who === 'admin_c' ? 'admin' : who, areaCode: scopeOf(who) });
      },
    },
  },
  'GET /api/users': {
    none: {
      request: get('/api/users?limit=1000'),
      async check(res, who) {
        const scope = scopeOf(who);
        const { rows } = await database.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM users WHERE $1 = '*' OR area_code LIKE $1 || '%'`, [scope]);
        expect(res.json().numberMatched).toBe(rows[0].n);
      },
    },
  },
  'POST /api/users': {
    'in scope': {
      request: () => ({ method: 'POST', url: '/api/users', payload: { username: `m-in-${++userSeq}`, password: 'a long enough password', role: 'viewer', areaCode: COMMUNITY } }),
    },
    'out of scope': {
      request: () => ({ method: 'POST', url: '/api/users', payload: { username: `m-out-${++userSeq}`, password: 'a long enough password', role: 'viewer', areaCode: OTHER_COMMUNITY } }),
    },
  },
  'PATCH /api/users/:id': {
    'in scope': { request: () => ({ method: 'PATCH', url: `/api/users/${targets.in}`, payload: { displayName: `renamed ${++userSeq}` } }) },
    'out of scope': { request: () => ({ method: 'PATCH', url: `/api/users/${targets.out}`, payload: { displayName: `renamed ${++userSeq}` } }) },
  },
  'POST /api/users/:id/password': {
    'in scope': { request: () => ({ method: 'POST', url: `/api/users/${targets.in}/password`, payload: { password: 'another long password' } }) },
    'out of scope': { request: () => ({ method: 'POST', url: `/api/users/${targets.out}/password`, payload: { password: 'another long password' } }) },
  },
  'GET /api/audit': { none: { request: get('/api/audit'), check: (res) => expect(res.json().numberMatched).toBeGreaterThan(0) } },
  'GET /api/collections': { none: { request: get('/api/collections'), check: (res) => expect(res.json().collections).toHaveLength(6) } },
  'GET /api/collections/:collectionId': {
    grids: { request: get('/api/collections/grids'), check: (res) => expect(res.json().id).toBe('grids') },
    unknown: { request: get('/api/collections/parcels'), problem: 'UNKNOWN_COLLECTION' },
  },
  'GET /api/collections/:collectionId/items': {
    areas: itemsCase('areas'),
    grids: itemsCase('grids'),
    buildings: itemsCase('buildings'),
    roads: itemsCase('roads'),
    responders: itemsCase('responders'),
    incidents: itemsCase('incidents'),
    'grids in a bbox over the second community': itemsCase('grids', '121.501,31.231,121.509,31.239'),
    'incidents in a bbox over the second community': itemsCase('incidents', '121.501,31.231,121.509,31.239'),
  },
  'GET /api/collections/:collectionId/items/:featureId': {
    'area in scope': featureCase('areas', 'areaIn'),
    'area out of scope': featureCase('areas', 'areaOut'),
    'grid in scope': featureCase('grids', 'gridIn'),
    'grid out of scope': featureCase('grids', 'gridOut'),
    'building in scope': featureCase('buildings', 'buildingIn'),
    'building out of scope': featureCase('buildings', 'buildingOut'),
    'incident in scope': featureCase('incidents', 'incidentIn'),
    'incident out of scope': featureCase('incidents', 'incidentOut'),
    'responder in scope': featureCase('responders', 'responderIn'),
    'responder out of scope': featureCase('responders', 'responderOut'),
    'road (not scoped)': featureCase('roads', 'road'),
    'incident assigned to me outside my area': {
      request: async (who) => get(`/api/collections/incidents/items/${await assignedOutside(who)}`)('anonymous'),
      check: (res) => expect(res.json().id).toBe(assignedIncident),
    },
  },
  'GET /api/grids/:id/summary': {
    'in scope': { request: () => get(`/api/grids/${ids.gridIn}/summary`)('anonymous'), check: (res) => expect(res.json().id).toBe(ids.gridIn) },
    'out of scope': { request: () => get(`/api/grids/${ids.gridOut}/summary`)('anonymous'), check: (res) => expect(res.json().id).toBe(ids.gridOut) },
  },
  'GET /tiles/:layer.json': { grids: { request: get('/tiles/grids.json') } },
  'GET /tiles/:layer/:z/:x/:y': {
    'areas, first community': tileCase('areas', TILE_IN),
    'areas, second community': tileCase('areas', TILE_OUT),
    'grids, first community': tileCase('grids', TILE_IN),
    'grids, second community': tileCase('grids', TILE_OUT),
    'buildings, first community': tileCase('buildings', TILE_IN),
    'buildings, second community': tileCase('buildings', TILE_OUT),
    'incidents, first community': tileCase('incidents', TILE_IN),
    'incidents, second community': tileCase('incidents', TILE_OUT),
    'responders, first community': tileCase('responders', TILE_IN),
    'responders, second community': tileCase('responders', TILE_OUT),
    'roads, first community': tileCase('roads', TILE_IN),
    'roads, second community': tileCase('roads', TILE_OUT),
  },
  'GET /api/incident-categories': { none: { request: get('/api/incident-categories'), check: (res) => expect(res.json().categories).toHaveLength(8) } },
  // The grid planner: reading plans (planner, admin, commander, viewer) of communities in the area; an
  // empty proposal validates (its gap is an issue) and has an impact; a publish from a stale base is 409.
  'POST /api/planner/validate': {
    'in scope': { request: () => ({ method: 'POST', url: '/api/planner/validate', payload: { communityCode: COMMUNITY, grids: { type: 'FeatureCollection', features: [] } } }),
      check: (res) => expect(res.json().issues.map((i: { kind: string }) => i.kind)).toContain('gap') },
    'out of scope': { request: () => ({ method: 'POST', url: '/api/planner/validate', payload: { communityCode: OTHER_COMMUNITY, grids: { type: 'FeatureCollection', features: [] } } }) },
  },
  'POST /api/planner/impact': {
    'in scope': { request: () => ({ method: 'POST', url: '/api/planner/impact', payload: { communityCode: COMMUNITY, grids: { type: 'FeatureCollection', features: [] } } }) },
    'out of scope': { request: () => ({ method: 'POST', url: '/api/planner/impact', payload: { communityCode: OTHER_COMMUNITY, grids: { type: 'FeatureCollection', features: [] } } }) },
  },
  'POST /api/planner/rebalance': {
    'in scope': { request: () => ({ method: 'POST', url: '/api/planner/rebalance', payload: { communityCode: COMMUNITY, grids: { type: 'FeatureCollection', features: [] } } }) },
    'out of scope': { request: () => ({ method: 'POST', url: '/api/planner/rebalance', payload: { communityCode: OTHER_COMMUNITY, grids: { type: 'FeatureCollection', features: [] } } }) },
  },
  // The planner's screen: the communities of the area (an admin of '*' all), whether the caller may change each plan.
  'GET /api/planner/communities': {
    none: {
      request: get('/api/planner/communities'),
      check: (res, who) => {
        const codes = who === 'admin' ? [COMMUNITY, OTHER_COMMUNITY] : [COMMUNITY];
        const writable = ['admin', 'admin_c', 'planner'].includes(who);
        expect(res.json().communities.map((c: { code: string; writable: boolean }) => [c.code, c.writable])).toEqual(codes.map((c) => [c, writable]));
      },
    },
  },
  'GET /api/planner/communities/:code': {
    'in scope': {
      request: get(`/api/planner/communities/${COMMUNITY}`),
      check: (res, who) => expect([res.json().code, res.json().writable, res.json().grids.features.length > 0]).toEqual([COMMUNITY, ['admin', 'admin_c', 'planner'].includes(who), true]),
    },
    'out of scope': { request: get(`/api/planner/communities/${OTHER_COMMUNITY}`) },
  },
  'GET /api/planner/communities/:code/versions': {
    'in scope': { request: get(`/api/planner/communities/${COMMUNITY}/versions`), check: (res) => expect(res.json().latestVersion).toBe(0) },
    'out of scope': { request: get(`/api/planner/communities/${OTHER_COMMUNITY}/versions`) },
  },
  'GET /api/planner/communities/:code/versions/:version': {
    'in scope': { request: get(`/api/planner/communities/${COMMUNITY}/versions/0`), check: (res) => expect(res.json().features.length).toBeGreaterThan(0) },
    'out of scope': { request: get(`/api/planner/communities/${OTHER_COMMUNITY}/versions/0`) },
  },
  'GET /api/planner/communities/:code/versions/:version/diff/:other': {
    'in scope': { request: get(`/api/planner/communities/${COMMUNITY}/versions/0/diff/0`), check: (res) => expect(res.json().grids.every((g: { change: string }) => g.change === 'unchanged')).toBe(true) },
    'out of scope': { request: get(`/api/planner/communities/${OTHER_COMMUNITY}/versions/0/diff/0`) },
  },
  'POST /api/planner/communities/:code/versions': {
    'stale base, in scope': {
      request: () => ({ method: 'POST', url: `/api/planner/communities/${COMMUNITY}/versions`, payload: { grids: { type: 'FeatureCollection', features: [] }, baseVersion: 99, note: '矩阵' } }),
      problem: 'VERSION_CONFLICT',
    },
  },
  'GET /api/planner/settings': { none: { request: get('/api/planner/settings'), check: (res) => expect(res.json().sliverRadiusMetres).toBe(2) } },
  'PUT /api/planner/settings': {
    // The defaults each time: the matrix leaves the bounds as it found them.
    defaults: { request: () => ({ method: 'PUT', url: '/api/planner/settings', payload: {
      tooSmallSquareMetres: 5000, tooLargeSquareMetres: 1_000_000, minHouseholds: 50, maxHouseholds: 600, sliverRadiusMetres: 2, gapOverlapToleranceSquareMetres: 1,
    } }) },
  },
  // Drafts: planners and admins of the area; deleted by their author (none here) or an admin.
  'POST /api/planner/drafts': {
    'in scope': { request: () => ({ method: 'POST', url: '/api/planner/drafts', payload: { communityCode: COMMUNITY } }) },
    'out of scope': { request: () => ({ method: 'POST', url: '/api/planner/drafts', payload: { communityCode: OTHER_COMMUNITY } }) },
  },
  'GET /api/planner/drafts': { none: { request: get('/api/planner/drafts'), check: (res) => expect(Array.isArray(res.json().drafts)).toBe(true) } },
  'GET /api/planner/drafts/:id': {
    'in scope': { request: async () => get(`/api/planner/drafts/${await freshDraft(COMMUNITY)}`)('anonymous') },
    'out of scope': { request: async () => get(`/api/planner/drafts/${await freshDraft(OTHER_COMMUNITY)}`)('anonymous') },
  },
  'PUT /api/planner/drafts/:id': {
    'in scope': {
      request: async () => ({ method: 'PUT', url: `/api/planner/drafts/${await freshDraft(COMMUNITY)}`,
        payload: { expectedRevision: 1, grids: { type: 'FeatureCollection', features: [] }, history: { undo: [], redo: [] } } }),
    },
  },
  'DELETE /api/planner/drafts/:id': {
    'in scope': { request: async () => ({ method: 'DELETE', url: `/api/planner/drafts/${await freshDraft(COMMUNITY)}` }) },
  },
  // A file into a draft (multipart): as PUT, and a draft out of the area is 404.
  'POST /api/planner/drafts/:id/import': {
    'in scope': {
      request: async () => draftImport(await freshDraft(COMMUNITY), COMMUNITY),
      check: (res) => expect([res.json().imported, res.json().draft.revision]).toEqual([{ format: 'geojson', crs: 'EPSG:4326', grids: 1 }, 2]),
    },
    'out of scope': { request: async () => draftImport(await freshDraft(OTHER_COMMUNITY), OTHER_COMMUNITY) },
  },
  // 考评: the department scores over the caller's area; the weights (the installation's) by an admin of '*'.
  'GET /api/kpis/departments': {
    none: { request: get('/api/kpis/departments'), check: (res) => expect(res.json().rows.length).toBeGreaterThan(0) },
    'area out of scope': { request: get(`/api/kpis/departments?area=${OTHER_COMMUNITY}`) },
  },
  'GET /api/kpis/departments/:code/incidents': {
    none: { request: get('/api/kpis/departments/housing/incidents?figure=received'), check: (res) => expect(res.json().type).toBe('FeatureCollection') },
  },
  'GET /api/kpis/department-weights': { none: { request: get('/api/kpis/department-weights'), check: (res) => expect(res.json().weights.onTime).toBeGreaterThan(0) } },
  'PUT /api/kpis/department-weights': {
    // The defaults each time: the matrix leaves the weights as it found them.
    defaults: { request: () => ({ method: 'PUT', url: '/api/kpis/department-weights', payload: { weights: { startedOnTime: 20, onTime: 30, notRejected: 15, notReopened: 15, rating: 20 } } }) },
  },
  'PATCH /api/incident-categories/:code': {
    // The same value each time (off): the matrix leaves the categories as it found them.
    known: { request: () => ({ method: 'PATCH', url: '/api/incident-categories/dispute', payload: { photoRequired: false } }) },
    unknown: { request: () => ({ method: 'PATCH', url: '/api/incident-categories/parking', payload: { photoRequired: false } }), problem: 'NOT_FOUND' },
  },
  'GET /api/departments': { none: { request: get('/api/departments'), check: (res) => expect(res.json().departments.length).toBeGreaterThan(0) } },
  'GET /api/meta': { none: { request: get('/api/meta'), check: (res) => expect(res.json().lifecycle.actions.length).toBeGreaterThan(0) } },
  'POST /api/incidents': {
    'in scope': { request: () => report(121.4855, 31.2352), check: (res) => expect(res.json().properties.gridCode).toMatch(new RegExp(`^${COMMUNITY}`)) },
    'out of scope': { request: () => report(121.5052, 31.2348), forbidden: { admin_c: 'OUT_OF_SCOPE', commander: 'OUT_OF_SCOPE', grid_worker: 'OUT_OF_SCOPE', department: 'OUT_OF_SCOPE' } },
  },
  'GET /api/incidents': {
    none: {
      request: get('/api/incidents?limit=500'),
      async check(res, who) {
        expect(res.json().numberMatched).toBe(await countInScope('incidents', who));
        const visible = await visibleIds('incidents', who);
        for (const f of res.json().features) expect(visible.has(f.id), `incident ${f.id} visible to ${who}`).toBe(true);
      },
    },
    'assigned to me outside my area': {
      request: async (who) => { await assignedOutside(who); return get('/api/incidents?limit=500')(who); },
      check: (res, who) => expect(listsAssigned(res), `assigned incident listed for ${who}`).toBe(['admin', 'grid_worker', 'department'].includes(who)),
    },
    'assignedToMe, outside my area': {
      request: async (who) => { await assignedOutside(who); return get('/api/incidents?assignedToMe=true&limit=500')(who); },
      check: (res, who) => expect(listsAssigned(res), `assigned incident listed for ${who}`).toBe(['grid_worker', 'department'].includes(who)),
    },
  },
  'GET /api/incidents/stats': {
    none: { request: get('/api/incidents/stats'), check: async (res, who) => expect(res.json().open).toBe(await countInScope('incidents', who, "t.status <> 'closed'")) },
    // Stats describe an area: an assignment outside it is not counted.
    'with one assigned to me outside my area': {
      request: async (who) => { await assignedOutside(who); return get('/api/incidents/stats')(who); },
      check: async (res, who) => expect(res.json().open).toBe(await countInScope('incidents', who, "t.status <> 'closed'")),
    },
  },
  'GET /api/incidents/:id': {
    'in scope': { request: () => get(`/api/incidents/${ids.incidentIn}`)('anonymous'), check: (res) => expect(res.json().id).toBe(ids.incidentIn) },
    'out of scope': { request: () => get(`/api/incidents/${ids.incidentOut}`)('anonymous'), check: (res) => expect(res.json().id).toBe(ids.incidentOut) },
    'assigned to me outside my area': {
      request: async (who) => get(`/api/incidents/${await assignedOutside(who)}`)(who),
      check: (res) => expect(res.json().id).toBe(assignedIncident),
    },
  },
  'POST /api/incidents/:id/photos': {
    // Photos of an open incident; only the command centre, its reporter or its assignee may add them.
    'in scope': { request: async () => photoUpload(await freshIncident(121.4856, 31.2353)) },
    'out of scope': { request: async () => photoUpload(await freshIncident(121.5053, 31.2347)) },
    'assigned to me outside my area': { request: async (who) => photoUpload(await assignedOutside(who)) },
  },
  'GET /api/incidents/:id/photos/:photoId': {
    'in scope': { request: () => get(`/api/incidents/${ids.incidentIn}/photos/${ids.photoIn}`)('anonymous') },
    'out of scope': { request: () => get(`/api/incidents/${ids.incidentOut}/photos/${ids.photoOut}`)('anonymous') },
  },
  'POST /api/incidents/:id/transitions': {
    'accept, in scope': { request: async () => transition(await freshIncident(121.4856, 31.2353), 'accept') },
    'accept, out of scope': { request: async () => transition(await freshIncident(121.5053, 31.2347), 'accept') },
    // A handler's action; the command centre may take it on the handler's behalf.
    'start, assigned to me outside my area': { request: async (who) => transition(await assignedOutside(who), 'start') },
    // 评价 of a closed incident: the command centre of its area, or the grid worker whose area holds its grid.
    'rate, in scope': { request: async () => rate(await closedIncident(121.4856, 31.2353)) },
    'rate, out of scope': { request: async () => rate(await closedIncident(121.5053, 31.2347)) },
    // 延期 and 挂起 by the handler (or the command centre for it), each from a fresh state.
    'request_extension, assigned to me outside my area': {
      request: async (who) => ({ ...transition(await assignedOutside(who), 'request_extension'), payload: { action: 'request_extension', note: '等待材料', minutes: 60 } }),
    },
    'suspend, assigned to me outside my area': {
      request: async (who) => ({ ...transition(await assignedOutside(who), 'suspend'), payload: { action: 'suspend', note: '等待业主' } }),
    },
    // Resumed by whoever suspended it (or the command centre).
    'resume, suspended by me outside my area': {
      request: async (who) => {
        const id = await assignedOutside(who);
        const by = who === 'anonymous' ? null : accounts[who].id;
        await database.pool.query('UPDATE incidents SET suspended_since = now(), suspended_by = $2 WHERE id = $1', [id, by]);
        return transition(id, 'resume');
      },
    },
    // An extension is granted by the command centre only.
    'approve_extension, in scope': {
      request: async () => {
        const id = await freshIncident(121.4856, 31.2353);
        await database.pool.query(`UPDATE incidents SET extension_pending_minutes = 30, extension_pending_at = now() WHERE id = $1`, [id]);
        return { ...transition(id, 'approve_extension'), payload: { action: 'approve_extension', minutes: 30 } };
      },
    },
  },
  'POST /api/incidents/:id/dispatch': {
    'in scope': { request: async () => dispatch(await freshIncident(121.4856, 31.2353), await freshResponder(121.4857, 31.2354, `${COMMUNITY}001`)) },
    'out of scope': { request: async () => dispatch(await freshIncident(121.5053, 31.2347), await freshResponder(121.5057, 31.2346, OTHER_GRID)) },
  },
  'GET /api/incidents/:id/candidates': {
    'in scope': { request: () => get(`/api/incidents/${ids.incidentIn}/candidates?k=5`)('anonymous'), check: (res) => expect(Array.isArray(res.json().candidates)).toBe(true) },
    'out of scope': { request: () => get(`/api/incidents/${ids.incidentOut}/candidates?k=5`)('anonymous'), check: (res) => expect(Array.isArray(res.json().candidates)).toBe(true) },
  },
  'GET /api/responders': {
    none: {
      request: get('/api/responders?limit=2000'),
      async check(res, who) {
        const visible = await visibleIds('responders', who);
        expect(res.json().features.length).toBe(visible.size);
        for (const f of res.json().features) expect(visible.has(f.id), `responder ${f.id} visible to ${who}`).toBe(true);
      },
    },
  },
  'GET /api/responders/me': { none: { request: get('/api/responders/me'), forbidden: NO_RESPONDER } },
  'PUT /api/responders/me/status': {
    none: { request: () => ({ method: 'PUT', url: '/api/responders/me/status', payload: { status: 'available' } }), forbidden: NO_RESPONDER },
  },
  'POST /api/responders/me/positions': {
    none: {
      request: () => ({ method: 'POST', url: '/api/responders/me/positions', payload: { positions: [{ lon: 121.4855, lat: 31.2352, recordedAt: new Date(Date.now() - 1000 * ++positionSeq).toISOString() }] } }),
      forbidden: NO_RESPONDER,
    },
  },
};

/**
 * THE MATRIX, by hand. Columns: anonymous admin(*) admin(first community) commander planner
 * grid_worker department viewer. HEAD of a GET route is expected to answer as the GET does.
 */
const EXPECTED: Record<string, Record<string, string>> = {
  //                                          anon admin admin_c cmdr plnr gridw dept view
  'GET /api/health': { none: '                 200  200   200    200  200  200   200  200' },
  'GET /api/docs': { none: '                   200  200   200    200  200  200   200  200' },
  'GET /api/docs/': { none: '                  200  200   200    200  200  200   200  200' },
  'GET /api/docs/json': { none: '              200  200   200    200  200  200   200  200' },
  'GET /api/docs/yaml': { none: '              200  200   200    200  200  200   200  200' },
  'GET /api': { none: '                        200  200   200    200  200  200   200  200' },
  'GET /api/conformance': { none: '             200  200   200    200  200  200   200  200' },
  'POST /api/auth/login': { 'wrong password': '401  401   401    401  401  401   401  401' },
  'POST /api/auth/logout': { 'own session': '  204  204   204    204  204  204   204  204' },
  // The session probe answers everyone 200 (user null without a session).
  'GET /api/auth/session': { none: '           200  200   200    200  200  200   200  200' },
  'GET /api/auth/me': { none: '                401  200   200    200  200  200   200  200' },
  'GET /api/users': { none: '                  401  200   200    403  403  403   403  403' },
  'POST /api/users': {
    'in scope': '                             401  201   201    403  403  403   403  403',
    'out of scope': '                         401  201   403    403  403  403   403  403',
  },
  'PATCH /api/users/:id': {
    'in scope': '                             401  200   200    403  403  403   403  403',
    'out of scope': '                         401  200   404    403  403  403   403  403',
  },
  'POST /api/users/:id/password': {
    'in scope': '                             401  204   204    403  403  403   403  403',
    'out of scope': '                         401  204   404    403  403  403   403  403',
  },
  'GET /api/audit': { none: '                  401  200   200    403  403  403   403  403' },
  'GET /api/collections': { none: '            401  200   200    200  200  200   200  200' },
  'GET /api/collections/:collectionId': {
    grids: '                                  401  200   200    200  200  200   200  200',
    unknown: '                                401  404   404    404  404  404   404  404',
  },
  'GET /api/collections/:collectionId/items': {
    areas: '                                  401  200   200    200  200  200   200  200',
    grids: '                                  401  200   200    200  200  200   200  200',
    buildings: '                              401  200   200    200  200  200   200  200',
    roads: '                                  401  200   200    200  200  200   200  200',
    responders: '                             401  200   200    200  200  200   200  200',
    incidents: '                              401  200   200    200  200  200   200  200',
    'grids in a bbox over the second community': '     401  200   200    200  200  200   200  200',
    'incidents in a bbox over the second community': ' 401  200   200    200  200  200   200  200',
  },
  'GET /api/collections/:collectionId/items/:featureId': {
    'area in scope': '                        401  200   200    200  200  200   200  200',
    'area out of scope': '                    401  200   404    404  404  404   404  404',
    'grid in scope': '                        401  200   200    200  200  200   200  200',
    'grid out of scope': '                    401  200   404    404  404  404   404  404',
    'building in scope': '                    401  200   200    200  200  200   200  200',
    'building out of scope': '                401  200   404    404  404  404   404  404',
    'incident in scope': '                    401  200   200    200  200  200   200  200',
    'incident out of scope': '                401  200   404    404  404  404   404  404',
    'responder in scope': '                   401  200   200    200  200  200   200  200',
    'responder out of scope': '               401  200   404    404  404  404   404  404',
    'road (not scoped)': '                    401  200   200    200  200  200   200  200',
    'incident assigned to me outside my area': '  401  200   404    404  404  404   404  404',
  },
  'GET /api/grids/:id/summary': {
    'in scope': '                             401  200   200    200  200  200   200  200',
    'out of scope': '                         401  200   404    404  404  404   404  404',
  },
  'GET /tiles/:layer.json': { grids: '          401  200   200    200  200  200   200  200' },
  'GET /tiles/:layer/:z/:x/:y': {
    'areas, first community': '               401  200   200    200  200  200   200  200',
    'areas, second community': '              401  200   204    204  204  204   204  204',
    'grids, first community': '               401  200   200    200  200  200   200  200',
    'grids, second community': '              401  200   204    204  204  204   204  204',
    'buildings, first community': '           401  200   200    200  200  200   200  200',
    'buildings, second community': '          401  200   204    204  204  204   204  204',
    'incidents, first community': '           401  200   200    200  200  200   200  200',
    'incidents, second community': '          401  200   204    204  204  204   204  204',
    'responders, first community': '          401  200   200    200  200  200   200  200',
    'responders, second community': '         401  200   204    204  204  204   204  204',
    'roads, first community': '               401  200   200    200  200  200   200  200',
    'roads, second community': '              401  200   200    200  200  200   200  200',
  },
  //                                                 anon admin admin_c cmdr plan  gw   dept view
  'GET /api/incident-categories': { none: '        401  200   200    200  200  200   200  200' },
  // An admin of one community (admin_c) may not change the installation's categories.
  'POST /api/planner/validate': {
    'in scope': '                                  401  200   200    200  200  403   403  200',
    'out of scope': '                              401  200   404    404  404  403   403  404',
  },
  'POST /api/planner/impact': {
    'in scope': '                                  401  200   200    200  200  403   403  200',
    'out of scope': '                              401  200   404    404  404  403   403  404',
  },
  'POST /api/planner/rebalance': {
    'in scope': '                                  401  200   200    200  200  403   403  200',
    'out of scope': '                              401  200   404    404  404  403   403  404',
  },
  'GET /api/planner/communities': { none: '      401  200   200    200  200  403   403  200' },
  'GET /api/planner/communities/:code': {
    'in scope': '                                  401  200   200    200  200  403   403  200',
    'out of scope': '                              401  200   404    404  404  403   403  404',
  },
  'GET /api/planner/communities/:code/versions': {
    'in scope': '                                  401  200   200    200  200  403   403  200',
    'out of scope': '                              401  200   404    404  404  403   403  404',
  },
  'GET /api/planner/communities/:code/versions/:version': {
    'in scope': '                                  401  200   200    200  200  403   403  200',
    'out of scope': '                              401  200   404    404  404  403   403  404',
  },
  'GET /api/planner/communities/:code/versions/:version/diff/:other': {
    'in scope': '                                  401  200   200    200  200  403   403  200',
    'out of scope': '                              401  200   404    404  404  403   403  404',
  },
  'POST /api/planner/communities/:code/versions': {
    'stale base, in scope': '                      401  409   409    403  409  403   403  403',
  },
  'GET /api/planner/settings': { none: '          401  200   200    200  200  403   403  200' },
  'PUT /api/planner/settings': { defaults: '       401  200   403    403  403  403   403  403' },
  'POST /api/planner/drafts': {
    'in scope': '                                  401  201   201    403  201  403   403  403',
    'out of scope': '                              401  201   404    403  404  403   403  403',
  },
  'GET /api/planner/drafts': { none: '             401  200   200    403  200  403   403  403' },
  'GET /api/planner/drafts/:id': {
    'in scope': '                                  401  200   200    403  200  403   403  403',
    'out of scope': '                              401  200   404    403  404  403   403  403',
  },
  'PUT /api/planner/drafts/:id': { 'in scope': '   401  200   200    403  200  403   403  403' },
  'DELETE /api/planner/drafts/:id': { 'in scope': '401  204   204    403  403  403   403  403' },
  'POST /api/planner/drafts/:id/import': {
    'in scope': '                                  401  200   200    403  200  403   403  403',
    'out of scope': '                              401  200   404    403  404  403   403  403',
  },
  'GET /api/kpis/departments': {
    none: '                                        401  200   200    200  403  403   403  200',
    'area out of scope': '                     401  200   404    404  403  403   403  404',
  },
  'GET /api/kpis/departments/:code/incidents': { none: '401 200 200  200  403  403   403  200' },
  'GET /api/kpis/department-weights': { none: '      401  200   200    200  403  403   403  200' },
  'PUT /api/kpis/department-weights': { defaults: '401 200  403    403  403  403   403  403' },
  'PATCH /api/incident-categories/:code': {
    known: '                                 401  200   403    403  403  403   403  403',
    unknown: '                               401  404   403    403  403  403   403  403',
  },
  'GET /api/departments': { none: '                401  200   200    200  200  200   200  200' },
  'GET /api/meta': { none: '                       401  200   200    200  200  200   200  200' },
  'POST /api/incidents': {
    'in scope': '                                  401  201   201    201  403  201   201  403',
    'out of scope': '                              401  201   403    403  403  403   403  403',
  },
  'GET /api/incidents': {
    none: '                                        401  200   200    200  200  200   200  200',
    'assigned to me outside my area': '        401  200   200    200  200  200   200  200',
    'assignedToMe, outside my area': '         401  200   200    200  200  200   200  200',
  },
  'GET /api/incidents/stats': {
    none: '                                        401  200   200    200  200  200   200  200',
    'with one assigned to me outside my area': '401 200   200    200  200  200   200  200',
  },
  'GET /api/incidents/:id': {
    'in scope': '                                  401  200   200    200  200  200   200  200',
    'out of scope': '                              401  200   404    404  404  404   404  404',
    'assigned to me outside my area': '            401  200   404    404  404  200   200  404',
  },
  'POST /api/incidents/:id/photos': {
    'in scope': '                                  401  201   201    201  403  403   403  403',
    'out of scope': '                              401  201   404    404  403  404   404  403',
    'assigned to me outside my area': '            401  201   404    404  403  201   201  403',
  },
  'GET /api/incidents/:id/photos/:photoId': {
    'in scope': '                                  401  200   200    200  200  200   200  200',
    'out of scope': '                              401  200   404    404  404  404   404  404',
  },
  'POST /api/incidents/:id/transitions': {
    'accept, in scope': '                          401  200   200    200  403  403   403  403',
    'accept, out of scope': '                      401  200   404    404  403  404   404  403',
    'start, assigned to me outside my area': '     401  200   404    404  403  200   200  403',
    'rate, in scope': '                            401  200   200    200  403  200   403  403',
    'rate, out of scope': '                        401  200   404    404  403  404   404  403',
    'request_extension, assigned to me outside my area': '401 200 404  404  403  200   200  403',
    'suspend, assigned to me outside my area': '   401  200   404    404  403  200   200  403',
    'resume, suspended by me outside my area': '   401  200   404    404  403  200   200  403',
    'approve_extension, in scope': '               401  200   200    200  403  403   403  403',
  },
  'POST /api/incidents/:id/dispatch': {
    'in scope': '                                  401  200   200    200  403  403   403  403',
    'out of scope': '                              401  200   404    404  403  403   403  403',
  },
  'GET /api/incidents/:id/candidates': {
    'in scope': '                                  401  200   200    200  403  403   403  403',
    'out of scope': '                              401  200   404    404  403  403   403  403',
  },
  'GET /api/responders': { none: '                 401  200   200    200  200  200   200  200' },
  'GET /api/responders/me': { none: '              401  403   403    403  403  200   403  403' },
  'PUT /api/responders/me/status': { none: '       401  403   403    403  403  200   403  403' },
  'POST /api/responders/me/positions': { none: '   401  403   403    403  403  200   403  403' },
};

/** Problem codes that go with a status in this matrix. */
const CODE_OF: Record<number, string> = { 401: 'UNAUTHENTICATED', 403: 'FORBIDDEN', 404: 'NOT_FOUND' };

let registered: string[] = [];
let webDist = '';

beforeAll(async () => {
  database = await createTestDatabase();
  await insertSmallDistrict(database.pool);
  // The second community, east of the first (outside its street's outline, under its street's code),
  // with a grid, a building, a road, a responder and an incident.
  await database.pool.query(`
    INSERT INTO areas (code, name, geom) VALUES ('${OTHER_COMMUNITY}', '第二社区', ST_Multi(ST_MakeEnvelope(121.50, 31.23, 121.51, 31.24, 4326)));
    INSERT INTO grids (code, name, community_id, geom)
      SELECT '${OTHER_GRID}', '第二社区第1网格', id, ST_Multi(ST_MakeEnvelope(121.50, 31.23, 121.51, 31.24, 4326)) FROM areas WHERE code = '${OTHER_COMMUNITY}';
    INSERT INTO buildings (name, floors, households, geom, source, source_id)
      VALUES ('第二社区楼', 6, 24, ST_Multi(ST_Buffer(ST_Point(121.5055, 31.235, 4326), 0.0001, 2)), 'fixture', 'other');
    INSERT INTO roads (name, class, geom) VALUES ('第二社区路', 'residential', ST_GeomFromText('LINESTRING(121.501 31.2352, 121.509 31.2352)', 4326));
    INSERT INTO responders (kind, name, status, position, position_at, home_grid_id)
      SELECT 'patrol', '第二社区巡逻', 'available', ST_Point(121.5056, 31.2351, 4326), now(), id FROM grids WHERE code = '${OTHER_GRID}';
    INSERT INTO incidents (category, priority, status, location, description, reported_at)
      VALUES ('dispute', 'normal', 'reported', ST_Point(121.5054, 31.2349, 4326), '第二社区事件', now());
  `);
  const one = async (q: string) => (await database.pool.query<{ id: string }>(q)).rows[0].id;
  const inGridOf = (code: string) => `(SELECT id FROM grids WHERE code LIKE '${code}%')`;
  ids.gridIn = await one(`SELECT id::text FROM grids WHERE code = '${COMMUNITY}001'`);
  ids.gridOut = await one(`SELECT id::text FROM grids WHERE code = '${OTHER_GRID}'`);
  ids.buildingIn = await one(`SELECT id::text FROM buildings WHERE grid_id IN ${inGridOf(COMMUNITY)} LIMIT 1`);
  ids.buildingOut = await one(`SELECT id::text FROM buildings WHERE grid_id IN ${inGridOf(OTHER_COMMUNITY)}`);
  ids.incidentIn = await one(`SELECT id::text FROM incidents WHERE grid_id IN ${inGridOf(COMMUNITY)} LIMIT 1`);
  ids.incidentOut = await one(`SELECT id::text FROM incidents WHERE grid_id IN ${inGridOf(OTHER_COMMUNITY)}`);
  ids.responderIn = await one(`SELECT id::text FROM responders WHERE home_grid_id IN ${inGridOf(COMMUNITY)} LIMIT 1`);
  ids.responderOut = await one(`SELECT id::text FROM responders WHERE home_grid_id IN ${inGridOf(OTHER_COMMUNITY)}`);
  ids.areaIn = await one(`SELECT id::text FROM areas WHERE code = '${COMMUNITY}'`);
  ids.areaOut = await one(`SELECT id::text FROM areas WHERE code = '${OTHER_COMMUNITY}'`);
  ids.road = await one(`SELECT id::text FROM roads WHERE name = '金陵东路'`);
  const photo = (incident: string) =>
    one(`INSERT INTO incident_photos (incident_id, content_type, byte_size, sha256, data)
         VALUES ('${incident}', 'image/png', ${PNG.length}, '${crypto.createHash('sha256').update(PNG).digest('hex')}', decode('${PNG.toString('hex')}', 'hex'))
         RETURNING id::text`);
  ids.photoIn = await photo(ids.incidentIn);
  ids.photoOut = await photo(ids.incidentOut);

  // A built web app, so that its routes are registered too (and listed in IGNORED).
  webDist = tempDir('matrix-web');
  fs.mkdirSync(path.join(webDist, 'assets'));
  fs.writeFileSync(path.join(webDist, 'index.html'), '<!doctype html><title>wangge</title>');
  fs.writeFileSync(path.join(webDist, 'assets', 'app.js'), 'export {};');
  app = await buildTestApp(database, { signedIn: false, webDist });
  await app.ready();
  registered = routesOf(app.printRoutes({ commonPrefix: false }));

  for (const who of PRINCIPALS) {
    if (who === 'anonymous') continue;
    const u = await addUser(database.pool, who === 'admin_c' ? 'admin' : who, AREA[who], { username: who.replace('_', '-') + '-m', department: ASSIGNED_DEPARTMENT });
    accounts[who] = { ...u, cookie: await signIn(app, u.username, u.password) };
  }
  targets.in = (await addUser(database.pool, 'viewer', COMMUNITY, { username: 'target-in' })).id;
  targets.out = (await addUser(database.pool, 'viewer', OTHER_COMMUNITY, { username: 'target-out' })).id;
  assignedIncident = await freshIncident(121.5058, 31.2353);
});

afterAll(async () => {
  await app?.close();
  await database?.drop();
  if (webDist) fs.rmSync(webDist, { recursive: true, force: true });
});

/** "METHOD /path" of every route in Fastify's printed route tree. */
function routesOf(tree: string): string[] {
  const out: string[] = [];
  const stack: string[] = [];
  for (const line of tree.split('\n')) {
    const m = /^([│ ]*)(?:├── |└── )(.*?)(?: \(([A-Z, ]+)\))?$/.exec(line.replace(/\u00a0/g, ' '));
    if (!m) continue;
    const depth = m[1].length / 4;
    stack.length = depth;
    stack.push(m[2]);
    const url = stack.join('');
    for (const method of m[3]?.split(', ') ?? []) out.push(`${method} ${url}`);
  }
  return out;
}

const parse = (row: string) => row.trim().split(/\s+/).map(Number);

describe('the authorisation matrix', () => {
  it('the route list is read from the app', () => {
    expect(registered).toContain('GET /api/health');
    expect(registered).toContain('GET /tiles/:layer/:z/:x/:y');
    expect(registered).toContain('HEAD /api/collections/:collectionId/items/:featureId');
    expect(registered).toContain('GET /*'); // the web app's fallback, ignored below
  });

  it('every registered route has a row (only the listed static-file routes are left out), and every row is a route', () => {
    const rows = new Set(Object.keys(EXPECTED).flatMap((r) => (r.startsWith('GET ') ? [r, r.replace(/^GET /, 'HEAD ')] : [r])));
    const missing = registered.filter((r) => !IGNORED.has(r) && !rows.has(r));
    expect(missing, 'routes without a row in the matrix').toEqual([]);
    const stale = [...rows].filter((r) => !registered.includes(r));
    expect(stale, 'rows naming no registered route').toEqual([]);
    for (const r of IGNORED) expect(registered, `ignored route ${r} is registered`).toContain(r);
    for (const [route, cases] of Object.entries(EXPECTED)) {
      expect(Object.keys(CASES[route] ?? {}).sort(), route).toEqual(Object.keys(cases).sort());
      for (const row of Object.values(cases)) expect(parse(row), route).toHaveLength(PRINCIPALS.length);
    }
  });

  it('every route answers every principal as the table says', async () => {
    const failures: string[] = [];
    let checked = 0;
    let routeCount = 0;
    let caseCount = 0;
    for (const [route, cases] of Object.entries(EXPECTED)) {
      const methods = route.startsWith('GET ') ? ['GET', 'HEAD'] : [route.split(' ')[0]];
      routeCount += methods.length;
      for (const [name, row] of Object.entries(cases)) {
        caseCount += methods.length;
        const statuses = parse(row);
        for (const [i, who] of PRINCIPALS.entries()) {
          for (const method of methods) {
            const req = await CASES[route][name].request(who);
            const cookie = who === 'anonymous' ? '' : accounts[who].cookie;
            const res = await app.inject({ ...req, method: method as 'GET', headers: { cookie, ...(req.headers ?? {}) } });
            checked++;
            const label = `${method} ${route.slice(route.indexOf(' ') + 1)} [${name}] as ${who}`;
            if (res.statusCode !== statuses[i]) {
              failures.push(`${label}: expected ${statuses[i]}, got ${res.statusCode} ${res.body.slice(0, 200)}`);
              continue;
            }
            if (method === 'HEAD') continue;
            const code =
              res.statusCode === 403 ? (CASES[route][name].forbidden?.[who] ?? CODE_OF[403])
              : res.statusCode === 401 ? CODE_OF[401] : (CASES[route][name].problem ?? CODE_OF[res.statusCode]);
            if (code && route !== 'POST /api/auth/login') {
              if (res.json().code !== code) failures.push(`${label}: expected code ${code}, got ${res.body.slice(0, 200)}`);
            }
            if (route === 'POST /api/auth/login' && res.json().code !== 'INVALID_CREDENTIALS') failures.push(`${label}: ${res.body}`);
            if (res.statusCode === 200 || res.statusCode === 201) {
              try {
                await CASES[route][name].check?.(res, who);
              } catch (err) {
                failures.push(`${label}: ${(err as Error).message}`);
              }
            }
          }
        }
      }
    }
    console.log(
      `[matrix] ${routeCount} routes (${Object.keys(EXPECTED).length} paths, HEAD counted apart) × ${PRINCIPALS.length} principals; ` +
        `${caseCount} route×case rows × ${PRINCIPALS.length} = ${checked} requests checked`,
    );
    expect(checked).toBe(caseCount * PRINCIPALS.length);
    expect(failures).toEqual([]);
  });

  it('the sessions of the matrix are still alive at the end (no case ended another\'s session)', async () => {
    for (const who of PRINCIPALS) {
      if (who === 'anonymous') continue;
      expect((await app.inject({ url: '/api/auth/me', headers: { cookie: accounts[who].cookie } })).statusCode, who).toBe(200);
    }
  });
});
