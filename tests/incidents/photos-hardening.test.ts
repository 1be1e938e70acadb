/**
 * Photo uploads under attack (issue 9): a refused upload writes nothing to the photo folder, a
 * failed commit leaves no file, orphans are swept when the app starts, and each uploader has a
 * budget per hour counted in the database.
 */
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../server/src/app.js';
import { probeCapabilities } from '../../server/src/db/database.js';
import { tempDir } from '../support/database.js';
import { addUser, signIn } from '../support/auth.js';
import { COMMUNITY1, COMMUNITY2, forceStatus, IN1, newIncident, setupEnv, type Env, jpegBytes } from './support.js';

let env: Env;

beforeAll(async () => {
  env = await setupEnv();
});
afterAll(async () => {
  await env?.close();
});

const sha256 = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');

/** The app over the test database with a photo folder (and whatever else the test sets). */
async function folderApp(dir: string, command: Record<string, unknown> = {}): Promise<FastifyInstance> {
  const served = env.db.app;
  const app = await buildApp({
    config: { bodyLimitBytes: 1_000_000, webDist: '/nonexistent', logLevel: 'warn' },
    database: served,
    capabilities: await probeCapabilities(served.db),
    logger: false,
    command: { photoDir: dir, ...command },
  });
  await app.ready();
  return app;
}

function upload(app: FastifyInstance, id: string, body: Buffer, cookie: string) {
  return app.inject({ method: 'POST', url: `/api/incidents/${id}/photos`, headers: { 'content-type': 'image/jpeg', cookie }, payload: body });
}

/** Every file under the folder, relative paths, sorted. */
function filesIn(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true, withFileTypes: true }) as fs.Dirent[])
    .filter((d) => d.isFile())
    .map((d) => path.relative(dir, path.join(d.parentPath, d.name)))
    .sort();
}

const rowsOfSha = async (sha: string) =>
  (await env.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM incident_photos WHERE sha256 = $1', [sha])).rows[0].n;

async function cookieOf(app: FastifyInstance, role: 'commander' | 'grid_worker', area: string) {
  const u = await addUser(env.db.pool, role, area);
  return { id: u.id, cookie: await signIn(app, u.username, u.password) };
}

describe('a refused or failed upload leaves nothing in the photo folder', () => {
  let app: FastifyInstance;
  let dir: string;
  let commander: { id: string; cookie: string };

  beforeAll(async () => {
    dir = tempDir('photos-refused');
    app = await folderApp(dir);
    commander = await cookieOf(app, 'commander', COMMUNITY1);
  });
  afterAll(async () => {
    await app?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('an unknown incident: 404, no file', async () => {
    const bytes = jpegBytes();
    const res = await upload(app, crypto.randomUUID(), bytes, commander.cookie);
    expect(res.statusCode).toBe(404);
    expect(res.json().code).toBe('NOT_FOUND');
    expect(filesIn(dir)).toEqual([]);
    expect(await rowsOfSha(sha256(bytes))).toBe(0);
  });

  it('an incident outside the uploader\'s area: 404, no file', async () => {
    const id = await newIncident(env, IN1);
    const outsider = await cookieOf(app, 'commander', COMMUNITY2);
    const res = await upload(app, id, jpegBytes(), outsider.cookie);
    expect(res.statusCode).toBe(404);
    expect(filesIn(dir)).toEqual([]);
  });

  it('a user who may not add photos (403), a closed incident and a full incident (409): no file', async () => {
    const id = await newIncident(env, IN1);
    const bystander = await cookieOf(app, 'grid_worker', '310101002001001');
    expect((await upload(app, id, jpegBytes(), bystander.cookie)).statusCode).toBe(403);
    const closed = await newIncident(env, IN1);
    await forceStatus(env.db.pool, closed, 'closed');
    expect((await upload(app, closed, jpegBytes(), commander.cookie)).statusCode).toBe(409);
    const full = await newIncident(env, IN1);
    await env.db.pool.query(
      `INSERT INTO incident_photos (incident_id, content_type, byte_size, sha256, data) SELECT $1, 'image/jpeg', 4, repeat('b', 64), '\\xffd8ffe0' FROM generate_series(1, 6)`,
      [full],
    );
    expect((await upload(app, full, jpegBytes(), commander.cookie)).json().code).toBe('TOO_MANY_PHOTOS');
    expect(filesIn(dir)).toEqual([]);
  });

  it('a commit that fails leaves no file and no row', async () => {
    const id = await newIncident(env, IN1);
    // A deferred constraint trigger: the insert succeeds, the COMMIT fails.
    await env.db.pool.query(`
      CREATE FUNCTION test_refuse_photo_commit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'commit refused'; END $$;
      CREATE CONSTRAINT TRIGGER test_refuse_photo_commit AFTER INSERT ON incident_photos DEFERRABLE INITIALLY DEFERRED
        FOR EACH ROW EXECUTE FUNCTION test_refuse_photo_commit();`);
    try {
      const bytes = jpegBytes();
      const res = await upload(app, id, bytes, commander.cookie);
      expect(res.statusCode).toBe(500);
      expect(await rowsOfSha(sha256(bytes))).toBe(0);
      expect(filesIn(dir)).toEqual([]);
    } finally {
      await env.db.pool.query('DROP TRIGGER test_refuse_photo_commit ON incident_photos; DROP FUNCTION test_refuse_photo_commit()');
    }
    // The same upload once the commit goes through: the file is in place under its hash, nothing else.
    const bytes = jpegBytes();
    const res = await upload(app, id, bytes, commander.cookie);
    expect(res.statusCode, res.body).toBe(201);
    const sha = sha256(bytes);
    expect(filesIn(dir)).toEqual([path.join(sha.slice(0, 2), sha)]);
  });
});

describe('orphans in the photo folder are removed at start', () => {
  it('files no row names and temporary files go; named, recent and foreign files stay; a committed temporary file is moved into place', async () => {
    const dir = tempDir('photos-orphans');
    const id = await newIncident(env, IN1);
    const place = (sha: string, suffix = '') => {
      fs.mkdirSync(path.join(dir, sha.slice(0, 2)), { recursive: true });
      return path.join(dir, sha.slice(0, 2), sha + suffix);
    };
    const hourAgo = new Date(Date.now() - 3600_000);
    const write = (file: string, bytes: Buffer, old = true) => {
      fs.writeFileSync(file, bytes);
      if (old) fs.utimesSync(file, hourAgo, hourAgo);
      return file;
    };
    const addRow = (sha: string, bytes: Buffer) =>
      env.db.pool.query(`INSERT INTO incident_photos (incident_id, content_type, byte_size, sha256) VALUES ($1, 'image/jpeg', $2, $3)`, [id, bytes.length, sha]);

    const kept = jpegBytes();
    await addRow(sha256(kept), kept);
    const keptFile = write(place(sha256(kept)), kept);
    const orphan = jpegBytes();
    const orphanFile = write(place(sha256(orphan)), orphan);
    const leftover = jpegBytes();
    const leftoverTmp = write(place(sha256(leftover), '.0a1b2c3d4e5f.tmp'), leftover);
    const staleTmpOfKept = write(place(sha256(kept), '.ffffffffffff.tmp'), kept);
    // Written just now: another process may be about to commit its row.
    const recent = jpegBytes();
    const recentTmp = write(place(sha256(recent), '.123456789abc.tmp'), recent, false);
    // A row committed, the process stopped before the rename: the bytes are moved into place.
    const interrupted = jpegBytes();
    await addRow(sha256(interrupted), interrupted);
    const interruptedTmp = write(place(sha256(interrupted), '.abcdef012345.tmp'), interrupted);
    // Not ours: never touched.
    const foreign = write(path.join(dir, 'README.txt'), Buffer.from('not a photo'));

    const app = await folderApp(dir);
    try {
      expect(fs.existsSync(keptFile)).toBe(true);
      expect(fs.existsSync(orphanFile)).toBe(false);
      expect(fs.existsSync(leftoverTmp)).toBe(false);
      expect(fs.existsSync(staleTmpOfKept)).toBe(false);
      expect(fs.existsSync(recentTmp)).toBe(true);
      expect(fs.existsSync(interruptedTmp)).toBe(false);
      expect(Buffer.compare(fs.readFileSync(place(sha256(interrupted))), interrupted)).toBe(0);
      expect(fs.existsSync(foreign)).toBe(true);
      // The photo kept is still served.
      const photoId = (await env.db.pool.query('SELECT id FROM incident_photos WHERE sha256 = $1', [sha256(kept)])).rows[0].id;
      const commander = await cookieOf(app, 'commander', COMMUNITY1);
      const got = await app.inject({ method: 'GET', url: `/api/incidents/${id}/photos/${photoId}`, headers: { cookie: commander.cookie } });
      expect(Buffer.compare(got.rawPayload, kept)).toBe(0);
    } finally {
      await app.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the uploader\'s budget (PHOTO_BUDGET_PER_HOUR, default 60)', () => {
  let app: FastifyInstance;
  let dir: string;

  beforeAll(async () => {
    dir = tempDir('photos-budget');
    app = await folderApp(dir);
  });
  afterAll(async () => {
    await app?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('the 61st photo within an hour is 429 RATE_LIMITED with Retry-After: no file, no row; on every API process', async () => {
    const uploader = await cookieOf(app, 'commander', COMMUNITY1);
    const earlier = await newIncident(env, IN1);
    // 59 photos of the last hour (50 minutes ago) and 30 older ones, which no longer count.
    await env.db.pool.query(
      `INSERT INTO incident_photos (incident_id, content_type, byte_size, sha256, data, uploaded_by, created_at)
       SELECT $1, 'image/jpeg', 4, repeat('c', 64), '\\xffd8ffe0', $2, now() - CASE WHEN g <= 59 THEN interval '50 minutes' ELSE interval '61 minutes' END
       FROM generate_series(1, 89) g`,
      [earlier, uploader.id],
    );
    const id = await newIncident(env, IN1);
    const sixtieth = await upload(app, id, jpegBytes(), uploader.cookie);
    expect(sixtieth.statusCode, sixtieth.body).toBe(201);
    expect(filesIn(dir).length).toBe(1);

    const bytes = jpegBytes();
    const res = await upload(app, id, bytes, uploader.cookie);
    expect(res.statusCode).toBe(429);
    const body = res.json();
    expect(body.code).toBe('RATE_LIMITED');
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    // The oldest of the 60 counted leaves the hour in about 10 minutes.
    expect(body.retryAfterSeconds).toBeGreaterThan(500);
    expect(body.retryAfterSeconds).toBeLessThanOrEqual(600);
    expect(res.headers['retry-after']).toBe(String(body.retryAfterSeconds));
    expect(await rowsOfSha(sha256(bytes))).toBe(0);
    expect(filesIn(dir).length).toBe(1);

    // Counted in the database: another API process (here storing photos in the database) refuses too.
    const other = await upload(env.app, id, bytes, uploader.cookie);
    expect(other.statusCode).toBe(429);
    expect(await rowsOfSha(sha256(bytes))).toBe(0);

    // Another user is not affected.
    const someoneElse = await cookieOf(app, 'commander', COMMUNITY1);
    expect((await upload(app, id, jpegBytes(), someoneElse.cookie)).statusCode).toBe(201);
  });

  it('the budget is configurable (command.photoBudgetPerHour) and concurrent uploads cannot exceed it', async () => {
    const small = await folderApp(dir, { photoBudgetPerHour: 3 });
    try {
      const uploader = await cookieOf(small, 'commander', COMMUNITY1);
      const ids = [await newIncident(env, IN1), await newIncident(env, IN1)];
      const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => upload(small, ids[i % 2], jpegBytes(), uploader.cookie)));
      expect(answers.map((a) => a.statusCode).sort()).toEqual([201, 201, 201, 429, 429, 429]);
      const n = (await env.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM incident_photos WHERE uploaded_by = $1', [uploader.id])).rows[0].n;
      expect(n).toBe(3);
    } finally {
      await small.close();
    }
  });
});
