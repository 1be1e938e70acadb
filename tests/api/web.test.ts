import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { createTestDatabase, tempDir, type TestDatabase } from '../support/database.js';
import { buildTestApp } from '../support/app.js';
import { firstRequests } from '../../server/src/plugins/web.js';

let database: TestDatabase;
let app: FastifyInstance;

beforeAll(async () => {
  const dist = tempDir('web-dist');
  fs.mkdirSync(path.join(dist, 'assets'));
  fs.writeFileSync(path.join(dist, 'index.html'), '<!doctype html><title>wangge</title><script type="module" src="/assets/app.js"></script>');
  fs.writeFileSync(path.join(dist, 'assets', 'app.js'), 'console.log(1)');
  database = await createTestDatabase();
  app = await buildTestApp(database, { webDist: dist });
});

afterAll(async () => {
  await app?.close();
  await database?.drop();
});

describe('the built web app', () => {
  it('every answer carries the same security headers, computed once (the SPA, an asset, the API, a 404, a 401)', async () => {
    const names = ['content-security-policy', 'cross-origin-opener-policy', 'cross-origin-resource-policy', 'referrer-policy',
      'strict-transport-security', 'x-content-type-options', 'x-frame-options'];
    const answers = [
      await app.inject('/'), await app.inject('/assets/app.js'), await app.inject('/api/meta'), await app.inject('/api/meta'),
      await app.inject('/api/no-such-route'), await app.inject({ url: '/api/auth/me', headers: { cookie: '' } }),
    ];
    expect(answers.map((a) => a.statusCode)).toEqual([200, 200, 200, 200, 404, 401]);
    const csp = String(answers[0].headers['content-security-policy']);
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(answers[0].headers['x-content-type-options']).toBe('nosniff');
    for (const a of answers) for (const name of names) expect(a.headers[name], `${a.statusCode} ${name}`).toBe(answers[0].headers[name]);
  });

  it('is served at / with no-cache, assets immutable', async () => {
    const index = await app.inject('/');
    expect(index.statusCode).toBe(200);
    expect(index.headers['content-type']).toMatch(/text\/html/);
    expect(index.headers['cache-control']).toBe('no-cache');
    const asset = await app.inject('/assets/app.js');
    expect(asset.statusCode).toBe(200);
    expect(asset.headers['cache-control']).toMatch(/immutable/);
  });

  it('a page preloads the answers its first view asks for at once, and only those', async () => {
    const preloads = (res: { headers: Record<string, unknown> }) =>
      String(res.headers.link ?? '').split(', ').filter(Boolean).map((l) => {
        expect(l).toMatch(/^<[^>]+>; rel=preload; as=fetch; crossorigin=anonymous$/);
        return l.slice(1, l.indexOf('>'));
      });
    // Signed out: the session check only (the login page follows).
    expect(preloads(await app.inject({ url: '/', headers: { cookie: '' } }))).toEqual(['/api/auth/session']);
    // The command map (an admin here): the session, the lifecycle, the grids collection that frames it.
    expect(preloads(await app.inject('/'))).toEqual(['/api/auth/session', '/api/meta', '/api/collections/grids']);
    expect(preloads(await app.inject('/admin'))).toEqual(['/api/auth/session', '/api/meta']);
    // A grid worker's phone opens on its tasks, not on the map: nothing it would leave unused.
    expect(firstRequests('/', 'grid_worker')).toEqual(['/api/auth/session', '/api/meta']);
    expect(firstRequests('/', 'department')).toEqual(['/api/auth/session', '/api/meta']);
    expect(firstRequests('/', 'viewer')).toEqual(['/api/auth/session', '/api/meta', '/api/collections/grids']);
    // Assets and API answers preload nothing.
    expect((await app.inject('/assets/app.js')).headers.link).toBeUndefined();
    expect((await app.inject('/api/meta')).headers.link).toBeUndefined();
  });

  it('client-side routes fall back to index.html', async () => {
    const res = await app.inject('/command/grids/123');
    expect(res.statusCode).toBe(200);
    expect(res.body).toMatch(/<title>wangge<\/title>/);
  });

  it.each(['/api/nothing', '/tiles/nothing/1/2/3/4', '/missing.js'])('%s is a 404 problem, not the app', async (url) => {
    const res = await app.inject(url);
    expect(res.statusCode).toBe(404);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  });

  it.each(['/assets/../../../../etc/passwd', '/assets/..%2F..%2F..%2F..%2Fetc%2Fpasswd', '/..%2f..%2f..%2fetc/passwd'])(
    'path traversal %s never leaves the web folder',
    async (url) => {
      const res = await app.inject(url);
      expect(res.statusCode).toBeLessThan(500);
      expect(res.body).not.toMatch(/root:/);
    },
  );

  it('unknown POST is a 404 problem', async () => {
    const res = await app.inject({ method: 'POST', url: '/somewhere', payload: {} });
    expect(res.statusCode).toBe(404);
    expect(res.json().code).toBe('NOT_FOUND');
  });
});
