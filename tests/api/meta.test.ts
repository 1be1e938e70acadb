import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../server/src/app.js';
import { DEFAULT_COMMAND_CONFIG } from '../../server/src/config.js';
import { probeCapabilities } from '../../server/src/db/database.js';
import { ROLES } from '../../server/src/auth/permissions.js';
import {
  INCIDENT_ACTIONS, INCIDENT_STATUSES, LIFECYCLE, OPEN_STATUSES, isCommand, mayAct, noteRequired,
} from '../../server/src/modules/incidents/lifecycle.js';
import { MAX_PENDING_PHOTOS, MAX_PHOTOS_PER_INCIDENT, PHOTO_TYPES, PRIORITIES } from '../../server/src/modules/incidents/incidents.schemas.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { buildTestApp } from '../support/app.js';
import { insertSmallDistrict } from '../support/fixtures.js';
import { sessionFor } from '../support/auth.js';

/** A photo limit no default would give. */
const PHOTO_MAX_BYTES = 123_457;

let database: TestDatabase;
let app: FastifyInstance;
let cookie: string;

beforeAll(async () => {
  database = await createTestDatabase();
  await insertSmallDistrict(database.pool);
  app = await buildApp({
    config: { bodyLimitBytes: 1_000_000, webDist: '/nonexistent', logLevel: 'warn' },
    database: database.app,
    capabilities: await probeCapabilities(database.app.db),
    logger: false,
    command: { photoMaxBytes: PHOTO_MAX_BYTES },
  });
  // The least privileged role that reads the map reads this too.
  cookie = await sessionFor(app, database.pool, 'viewer', '310101002001');
});

afterAll(async () => {
  await app?.close();
  await database?.drop();
});

const get = async (url: string) => {
  const res = await app.inject({ method: 'GET', url, headers: { cookie } });
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
};

describe('GET /api/meta', () => {
  it('is the lifecycle table of lifecycle.ts: statuses in order, open statuses, every action with its rules', async () => {
    const { lifecycle } = await get('/api/meta');
    expect(lifecycle.statuses).toEqual([...INCIDENT_STATUSES]);
    expect(lifecycle.openStatuses).toEqual([...OPEN_STATUSES]);
    expect(lifecycle.actions.map((a: { action: string }) => a.action)).toEqual([...INCIDENT_ACTIONS]);
    for (const rule of lifecycle.actions) {
      const truth = LIFECYCLE[rule.action as keyof typeof LIFECYCLE];
      expect(rule, rule.action).toMatchObject({ from: [...truth.from], to: truth.to, by: truth.by, photos: truth.photos });
      // The note rule per from-status (close needs one unless the incident was verified).
      for (const status of INCIDENT_STATUSES) {
        const expected = truth.from.includes(status) && noteRequired(rule.action, status);
        expect(rule.noteRequiredFrom.includes(status), `${rule.action} from ${status} needs a note`).toBe(expected);
      }
    }
  });

  it('names who acts as the command centre and who as a handler, as mayAct decides', async () => {
    const { lifecycle } = await get('/api/meta');
    expect(lifecycle.actors.command).toEqual(ROLES.filter(isCommand));
    for (const role of ROLES) {
      for (const action of INCIDENT_ACTIONS) {
        const command = lifecycle.actors.command.includes(role);
        const handler = LIFECYCLE[action].by === 'handler' && lifecycle.actors.handler.includes(role);
        // (resume: a handler who suspended the incident.)
        expect(mayAct(action, { role, isAssignee: true, isAssignedDepartment: true, isSuspender: true }), `${role} ${action} when assigned`).toBe(command || handler);
        expect(mayAct(action, { role, isAssignee: false, isAssignedDepartment: false }), `${role} ${action} when not assigned`).toBe(command);
      }
    }
  });

  it('gives the configured photo limit (not the default) and the limits of the photo routes', async () => {
    const meta = await get('/api/meta');
    expect(PHOTO_MAX_BYTES).not.toBe(DEFAULT_COMMAND_CONFIG.photoMaxBytes);
    expect(meta.photos).toEqual({
      maxBytes: PHOTO_MAX_BYTES, types: [...PHOTO_TYPES], maxPendingPerStep: MAX_PENDING_PHOTOS, maxPerIncident: MAX_PHOTOS_PER_INCIDENT,
    });
    expect(meta.priorities).toEqual([...PRIORITIES]);
  });

  it('lists the same categories and departments as their own endpoints', async () => {
    const meta = await get('/api/meta');
    expect(meta.categories.length).toBeGreaterThan(0);
    expect(meta.categories).toEqual((await get('/api/incident-categories')).categories);
    expect(meta.departments.length).toBeGreaterThan(0);
    expect(meta.departments).toEqual((await get('/api/departments')).departments);
  });

  it('gives the default photo limit when none is configured', async () => {
    const plain = await buildTestApp(database);
    try {
      const res = await plain.inject({ method: 'GET', url: '/api/meta' });
      expect(res.statusCode).toBe(200);
      expect(res.json().photos.maxBytes).toBe(DEFAULT_COMMAND_CONFIG.photoMaxBytes);
    } finally {
      await plain.close();
    }
  });
});
