import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../server/src/app.js';
import { probeCapabilities } from '../../server/src/db/database.js';
import { tempDir } from '../support/database.js';
import { addUser, signIn } from '../support/auth.js';
import { act, call, COMMUNITY1, COMMUNITY2, forceStatus, GRID1, IN1, newIncident, session, setupEnv, type Env, type Session, jpegBytes } from './support.js';

let env: Env;
let commander: Session;

beforeAll(async () => {
  env = await setupEnv();
  commander = await session(env, 'commander', COMMUNITY1);
});
afterAll(async () => {
  await env?.close();
});

const png = () => Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), crypto.randomBytes(32)]);
const webp = () => Buffer.concat([Buffer.from('RIFF'), Buffer.from([0x20, 0, 0, 0]), Buffer.from('WEBPVP8 '), crypto.randomBytes(32)]);

function upload(app: FastifyInstance, id: string, body: Buffer | string, type: string, cookie?: string) {
  return app.inject({ method: 'POST', url: `/api/incidents/${id}/photos`, headers: { 'content-type': type, ...(cookie ? { cookie } : {}) }, payload: body });
}
const photoCount = async (id: string) => (await env.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM incident_photos WHERE incident_id = $1', [id])).rows[0].n;

describe('photos (stored in the database)', () => {
  it('uploads JPEG, PNG and WebP and serves the same bytes back, private', async () => {
    const id = await newIncident(env);
    for (const [bytes, type] of [[jpegBytes(), 'image/jpeg'], [png(), 'image/png'], [webp(), 'image/webp']] as const) {
      const res = await upload(env.app, id, bytes, type);
      expect(res.statusCode, res.body).toBe(201);
      const p = res.json();
      expect(p).toEqual({ id: expect.any(String), url: `/api/incidents/${id}/photos/${p.id}`, contentType: type, byteSize: bytes.length });
      const got = await env.app.inject({ method: 'GET', url: p.url });
      expect(got.statusCode).toBe(200);
      expect(got.headers['content-type']).toBe(type);
      expect(got.headers['cache-control']).toMatch(/private/);
      expect(Buffer.compare(got.rawPayload, bytes)).toBe(0);
    }
    const detail = (await call(env, 'GET', `/api/incidents/${id}`)).json().properties;
    expect(detail.photoCount).toBe(3);
    expect(detail.photos.map((p: { contentType: string; transitionId: string | null }) => [p.contentType, p.transitionId])).toEqual([
      ['image/jpeg', null], ['image/png', null], ['image/webp', null],
    ]);
  });

  it('refuses bytes that are not the declared image type (415), other types (415), and an empty body', async () => {
    const id = await newIncident(env);
    expect((await upload(env.app, id, jpegBytes(), 'image/png')).json().code).toBe('UNSUPPORTED_MEDIA_TYPE');
    expect((await upload(env.app, id, Buffer.from('GIF89a........'), 'image/gif')).statusCode).toBe(415);
    expect((await upload(env.app, id, 'hello', 'text/plain')).statusCode).toBe(415);
    expect((await upload(env.app, id, Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>'), 'image/jpeg')).statusCode).toBe(415);
    expect((await upload(env.app, id, Buffer.alloc(0), 'image/jpeg')).statusCode).toBeGreaterThanOrEqual(400);
    expect(await photoCount(id)).toBe(0);
  });

  it('refuses a photo over photoMaxBytes (5 MiB) with 413', async () => {
    const id = await newIncident(env);
    const res = await upload(env.app, id, jpegBytes(5 * 1024 * 1024), 'image/jpeg');
    expect(res.statusCode).toBe(413);
    expect(res.json().code).toBe('PAYLOAD_TOO_LARGE');
    expect(await photoCount(id)).toBe(0);
  });

  it('at most 6 photos wait for a step; attached to resolve they make room; 24 per incident', async () => {
    const id = await newIncident(env);
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push((await upload(env.app, id, jpegBytes(), 'image/jpeg')).json().id);
    const seventh = await upload(env.app, id, jpegBytes(), 'image/jpeg');
    expect(seventh.statusCode).toBe(409);
    expect(seventh.json().code).toBe('TOO_MANY_PHOTOS');
    await forceStatus(env.db.pool, id, 'in_progress');
    // Photos only on steps that take proof, and only this incident's.
    const other = await newIncident(env);
    const foreign = (await upload(env.app, other, jpegBytes(), 'image/jpeg')).json().id;
    expect((await act(env, id, { action: 'reject', note: 'x', photoIds: [ids[0]] })).json().code).toBe('INVALID_PHOTOS');
    expect((await act(env, id, { action: 'resolve', photoIds: [ids[0], foreign] })).json().code).toBe('INVALID_PHOTOS');
    expect((await act(env, id, { action: 'resolve', photoIds: [...ids, ids[0]] })).statusCode).toBe(400); // more than 6 ids
    const resolved = await act(env, id, { action: 'resolve', photoIds: ids });
    expect(resolved.statusCode).toBe(200);
    const step = resolved.json().properties.timeline.at(-1);
    expect(step.action).toBe('resolve');
    expect([...step.photoIds].sort()).toEqual([...ids].sort());
    expect(resolved.json().properties.photos.every((p: { transitionId: string }) => p.transitionId === step.id)).toBe(true);
    // Attached photos cannot be attached again.
    await forceStatus(env.db.pool, id, 'resolved');
    expect((await act(env, id, { action: 'verify', photoIds: [ids[0]] })).json().code).toBe('INVALID_PHOTOS');
    // Room again: up to 24 in all.
    await env.db.pool.query(
      `INSERT INTO incident_photos (incident_id, content_type, byte_size, sha256, data, transition_id)
       SELECT $1, 'image/jpeg', 4, repeat('a', 64), '\\xffd8ffe0', (SELECT max(id) FROM incident_transitions WHERE incident_id = $1) FROM generate_series(1, 17)`,
      [id],
    );
    expect(await photoCount(id)).toBe(23);
    expect((await upload(env.app, id, jpegBytes(), 'image/jpeg')).statusCode).toBe(201);
    expect((await upload(env.app, id, jpegBytes(), 'image/jpeg')).json().code).toBe('TOO_MANY_PHOTOS');
  });

  it('only the command centre, the reporter or the assignee may add photos; out-of-area users see 404', async () => {
    const reporter = await session(env, 'grid_worker', GRID1);
    const bystander = await session(env, 'grid_worker', GRID1);
    const id = await newIncident(env, IN1, { cookie: reporter.cookie });
    expect((await upload(env.app, id, jpegBytes(), 'image/jpeg', reporter.cookie)).statusCode).toBe(201);
    expect((await upload(env.app, id, jpegBytes(), 'image/jpeg', bystander.cookie)).statusCode).toBe(403);
    expect((await upload(env.app, id, jpegBytes(), 'image/jpeg', commander.cookie)).statusCode).toBe(201);
    const outsider = await session(env, 'commander', COMMUNITY2);
    expect((await upload(env.app, id, jpegBytes(), 'image/jpeg', outsider.cookie)).statusCode).toBe(404);
    const url = (await call(env, 'GET', `/api/incidents/${id}`)).json().properties.photos[0].url;
    expect((await env.app.inject({ method: 'GET', url, headers: { cookie: outsider.cookie } })).statusCode).toBe(404);
    expect((await env.app.inject({ method: 'GET', url, headers: { cookie: bystander.cookie } })).statusCode).toBe(200);
    const viewer = await session(env, 'viewer', COMMUNITY1);
    expect((await upload(env.app, id, jpegBytes(), 'image/jpeg', viewer.cookie)).statusCode).toBe(403);
    expect((await env.app.inject({ method: 'GET', url: `/api/incidents/${id}/photos/00000000-0000-4000-8000-000000000000` })).statusCode).toBe(404);
    expect((await env.app.inject({ method: 'GET', url: `/api/incidents/${id}/photos/nope` })).statusCode).toBe(404);
  });
});

describe('photos in a folder (command.photoDir)', () => {
  let app: FastifyInstance;
  let dir: string;
  let cookie: string;

  beforeAll(async () => {
    dir = tempDir('photos');
    const served = env.db.app;
    app = await buildApp({
      config: { bodyLimitBytes: 1_000_000, webDist: '/nonexistent', logLevel: 'warn' },
      database: served,
      capabilities: await probeCapabilities(served.db),
      logger: false,
      command: { photoDir: dir, photoMaxBytes: 4096 },
    });
    const u = await addUser(env.db.pool, 'commander', COMMUNITY1);
    cookie = await signIn(app, u.username, u.password);
  });
  afterAll(async () => {
    await app?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('keeps the bytes in the folder named by their SHA-256 and serves them; the limit is the configured one', async () => {
    const id = await newIncident(env);
    const bytes = jpegBytes(1000);
    const res = await upload(app, id, bytes, 'image/jpeg', cookie);
    expect(res.statusCode, res.body).toBe(201);
    const sha = crypto.createHash('sha256').update(bytes).digest('hex');
    const row = (await env.db.pool.query('SELECT sha256, data FROM incident_photos WHERE id = $1', [res.json().id])).rows[0];
    expect(row).toEqual({ sha256: sha, data: null });
    expect(Buffer.compare(fs.readFileSync(path.join(dir, sha.slice(0, 2), sha)), bytes)).toBe(0);
    const got = await app.inject({ method: 'GET', url: res.json().url, headers: { cookie } });
    expect(Buffer.compare(got.rawPayload, bytes)).toBe(0);
    expect((await upload(app, id, jpegBytes(5000), 'image/jpeg', cookie)).statusCode).toBe(413);
  });
});
