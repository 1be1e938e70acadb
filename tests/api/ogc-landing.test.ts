import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../server/src/app.js';
import { probeCapabilities } from '../../server/src/db/database.js';
import { createTestDatabase, tempDir, type TestDatabase } from '../support/database.js';
import { insertSmallDistrict } from '../support/fixtures.js';
import { sessionFor } from '../support/auth.js';

/**
 * OGC API Features for standard clients: the landing page and conformance declaration at /api, the
 * links of collections, collection, items and feature — and every absolute link written from
 * PUBLIC_URL (or, behind a trusted proxy, the forwarded host), never from the request's Host header.
 */

let database: TestDatabase;
let gridId: string;
let webDist: string;
const apps: FastifyInstance[] = [];

async function appWith(config: { publicUrl?: string; trustProxy?: boolean } = {}) {
  const app = await buildApp({
    config: { bodyLimitBytes: 1_000_000, webDist, logLevel: 'warn', ...config },
    database: database.app,
    capabilities: await probeCapabilities(database.app.db),
    logger: false,
  });
  apps.push(app);
  const cookie = await sessionFor(app, database.pool, 'admin', '*');
  return { app, get: (url: string, headers: Record<string, string> = {}) => app.inject({ method: 'GET', url, headers: { cookie, ...headers } }) };
}

beforeAll(async () => {
  database = await createTestDatabase();
  ({ gridIds: [gridId] } = await insertSmallDistrict(database.pool));
  // A built web app, so that its fallback route is registered and /api must not fall into it.
  webDist = tempDir('ogc-web');
  fs.writeFileSync(path.join(webDist, 'index.html'), '<!doctype html><title>wangge</title>');
});

afterAll(async () => {
  for (const app of apps) await app.close();
  await database?.drop();
  fs.rmSync(webDist, { recursive: true, force: true });
});

type Link = { href: string; rel: string; type?: string; title?: string };
const linkOf = (links: Link[], rel: string) => links.find((l) => l.rel === rel);

/** Every `href` anywhere in a JSON answer. */
function hrefs(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(hrefs);
  if (value && typeof value === 'object') {
    return Object.entries(value).flatMap(([k, v]) => (k === 'href' && typeof v === 'string' ? [v] : hrefs(v)));
  }
  return [];
}

/** The documents whose links are checked, with the links each must carry. */
const DOCUMENTS = (fid: string) => [
  '/api',
  '/api/conformance',
  '/api/collections',
  '/api/collections/grids',
  '/api/collections/buildings/items?limit=1&offset=1',
  `/api/collections/grids/items/${fid}`,
];

describe('GET /api (landing page)', () => {
  it('is public JSON with title, description and the self, service-desc, service-doc, conformance and data links', async () => {
    const { app } = await appWith({ publicUrl: 'https://wangge.example.org' });
    const res = await app.inject({ url: '/api', headers: { accept: 'application/json' } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    const body = res.json();
    expect(typeof body.title).toBe('string');
    expect(typeof body.description).toBe('string');
    const base = 'https://wangge.example.org/api';
    expect(linkOf(body.links, 'self')).toMatchObject({ href: base, type: 'application/json' });
    expect(linkOf(body.links, 'service-desc')).toMatchObject({ href: `${base}/docs/json`, type: 'application/vnd.oai.openapi+json;version=3.0' });
    expect(linkOf(body.links, 'service-doc')).toMatchObject({ href: `${base}/docs`, type: 'text/html' });
    expect(linkOf(body.links, 'conformance')).toMatchObject({ href: `${base}/conformance`, type: 'application/json' });
    expect(linkOf(body.links, 'data')).toMatchObject({ href: `${base}/collections`, type: 'application/json' });
    for (const l of body.links) expect(typeof l.title, l.rel).toBe('string');
  });

  it('its links lead to the OpenAPI document, the docs page, the conformance classes and the collections', async () => {
    const { app, get } = await appWith({ publicUrl: 'http://localhost:3000' });
    const body = (await app.inject('/api')).json();
    const path = (rel: string) => new URL(linkOf(body.links, rel)!.href).pathname;
    const desc = await app.inject(path('service-desc'));
    expect(desc.statusCode).toBe(200);
    expect(desc.json().openapi).toMatch(/^3\.0/);
    expect((await app.inject(path('service-doc'))).statusCode).toBeLessThan(400);
    expect((await app.inject(path('conformance'))).statusCode).toBe(200);
    // The collections need a session: anonymous 401, signed in 200.
    expect((await app.inject(path('data'))).statusCode).toBe(401);
    expect((await get(path('data'))).statusCode).toBe(200);
  });

  it('is not swallowed by the web app: /api answers JSON while / stays the SPA', async () => {
    const { app } = await appWith();
    const api = await app.inject({ url: '/api', headers: { accept: 'application/json' } });
    expect(api.headers['content-type']).toMatch(/^application\/json/);
    expect(api.json().links.length).toBeGreaterThan(0);
    const spa = await app.inject({ url: '/', headers: { accept: 'text/html' } });
    expect(spa.statusCode).toBe(200);
    expect(spa.headers['content-type']).toMatch(/text\/html/);
  });
});

describe('GET /api/conformance', () => {
  it('declares the core, GeoJSON and OpenAPI 3.0 classes, publicly', async () => {
    const { app } = await appWith();
    const res = await app.inject('/api/conformance');
    expect(res.statusCode).toBe(200);
    expect(res.json().conformsTo).toEqual(expect.arrayContaining([
      'http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core',
      'http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson',
      'http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30',
    ]));
  });
});

describe('links as OGC API Features wants them', () => {
  it('collections: self; each collection: self and items with types and titles', async () => {
    const { get } = await appWith({ publicUrl: 'https://wangge.example.org' });
    const body = (await get('/api/collections')).json();
    expect(linkOf(body.links, 'self')).toMatchObject({ href: 'https://wangge.example.org/api/collections', type: 'application/json' });
    for (const c of body.collections) {
      expect(linkOf(c.links, 'self')).toMatchObject({ href: `https://wangge.example.org/api/collections/${c.id}`, type: 'application/json' });
      expect(linkOf(c.links, 'items')).toMatchObject({ href: `https://wangge.example.org/api/collections/${c.id}/items`, type: 'application/geo+json' });
      for (const l of c.links) expect(typeof l.title, `${c.id} ${l.rel}`).toBe('string');
    }
    const one = (await get('/api/collections/grids')).json();
    expect(linkOf(one.links, 'items')!.href).toBe('https://wangge.example.org/api/collections/grids/items');
  });

  it('items: self, next and prev as GeoJSON (carrying limit, offset and bbox), and the collection', async () => {
    const { get } = await appWith({ publicUrl: 'https://wangge.example.org' });
    const bbox = '121.47,31.22,121.52,31.25';
    const body = (await get(`/api/collections/buildings/items?limit=1&offset=1&bbox=${bbox}`)).json();
    expect(body.numberMatched).toBeGreaterThan(2);
    const items = 'https://wangge.example.org/api/collections/buildings/items';
    const q = (offset: number) => `${items}?${new URLSearchParams({ limit: '1', offset: String(offset), bbox })}`;
    expect(linkOf(body.links, 'self')).toMatchObject({ href: q(1), type: 'application/geo+json' });
    expect(linkOf(body.links, 'next')).toMatchObject({ href: q(2), type: 'application/geo+json' });
    expect(linkOf(body.links, 'prev')).toMatchObject({ href: q(0), type: 'application/geo+json' });
    expect(linkOf(body.links, 'collection')).toMatchObject({ href: 'https://wangge.example.org/api/collections/buildings', type: 'application/json' });
    // The last page has no next link; the first none to a previous one.
    const last = (await get(`/api/collections/buildings/items?limit=1&offset=${body.numberMatched - 1}`)).json();
    expect(linkOf(last.links, 'next')).toBeUndefined();
    expect(linkOf((await get('/api/collections/buildings/items?limit=1')).json().links, 'prev')).toBeUndefined();
  });

  it('one feature: self and collection', async () => {
    const { get } = await appWith({ publicUrl: 'https://wangge.example.org' });
    const res = await get(`/api/collections/grids/items/${gridId}`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/geo\+json/);
    const body = res.json();
    expect(body).toMatchObject({ type: 'Feature', id: gridId });
    expect(linkOf(body.links, 'self')).toMatchObject({ href: `https://wangge.example.org/api/collections/grids/items/${gridId}`, type: 'application/geo+json' });
    expect(linkOf(body.links, 'collection')).toMatchObject({ href: 'https://wangge.example.org/api/collections/grids', type: 'application/json' });
  });
});

describe('links never follow the Host header', () => {
  it('with Host: evil.example no link of the landing page, conformance, collections, collection, items (next/prev) or feature names it', async () => {
    const { get } = await appWith();
    for (const url of DOCUMENTS(gridId)) {
      const res = await get(url, { host: 'evil.example', 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https' });
      expect(res.statusCode, url).toBe(200);
      const links = hrefs(res.json());
      expect(links.length, url).toBeGreaterThan(0);
      for (const href of links) {
        expect(href, url).not.toMatch(/evil\.example/);
        // No PUBLIC_URL given: buildApp's default.
        expect(href.startsWith('http://localhost:3000/api'), `${url}: ${href}`).toBe(true);
      }
    }
    // The items page reached the next/prev links too.
    const page = (await get('/api/collections/buildings/items?limit=1&offset=1', { host: 'evil.example' })).json();
    expect(page.links.map((l: Link) => l.rel)).toEqual(expect.arrayContaining(['self', 'next', 'prev', 'collection']));
  });

  it('with PUBLIC_URL set every link starts with it', async () => {
    const { get } = await appWith({ publicUrl: 'https://wangge.example.org/' });
    for (const url of DOCUMENTS(gridId)) {
      const links = hrefs((await get(url, { host: 'evil.example' })).json());
      for (const href of links) expect(href.startsWith('https://wangge.example.org/api'), `${url}: ${href}`).toBe(true);
    }
  });

  it('behind a trusted proxy (TRUST_PROXY) the forwarded scheme and host are used', async () => {
    const { get } = await appWith({ publicUrl: 'https://ignored.example', trustProxy: true });
    for (const url of DOCUMENTS(gridId)) {
      const links = hrefs((await get(url, { host: 'internal:3000', 'x-forwarded-host': 'maps.example.net', 'x-forwarded-proto': 'https' })).json());
      expect(links.length, url).toBeGreaterThan(0);
      for (const href of links) expect(href.startsWith('https://maps.example.net/api'), `${url}: ${href}`).toBe(true);
    }
  });
});

describe('the OpenAPI document', () => {
  it('advertises the items limit with the minimum, maximum and default the server enforces, and limit/offset as optional', async () => {
    const { app, get } = await appWith();
    const doc = (await app.inject('/api/docs/json')).json();
    const params: { name: string; in: string; required?: boolean; schema: { minimum?: number; maximum?: number; default?: number } }[] =
      doc.paths['/api/collections/{collectionId}/items'].get.parameters;
    const limit = params.find((p) => p.name === 'limit' && p.in === 'query')!;
    expect(limit.schema).toMatchObject({ minimum: 1, maximum: 10_000, default: 100 });
    expect(limit.required ?? false).toBe(false);
    expect(params.find((p) => p.name === 'offset')!.required ?? false).toBe(false);
    for (const p of ['/api', '/api/conformance']) expect(Object.keys(doc.paths)).toContain(p);
    // What it says is what the server does.
    expect((await get('/api/collections/grids/items')).json().links.find((l: Link) => l.rel === 'self').href).toMatch(/limit=100&offset=0/);
    expect((await get(`/api/collections/grids/items?limit=${limit.schema.maximum}`)).statusCode).toBe(200);
    expect((await get(`/api/collections/grids/items?limit=${limit.schema.maximum! + 1}`)).json().code).toBe('INVALID_LIMIT');
    expect((await get(`/api/collections/grids/items?limit=${limit.schema.minimum! - 1}`)).json().code).toBe('INVALID_LIMIT');
  });
});
