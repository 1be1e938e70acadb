import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeTile, tileAt } from '../api/tiles-fixtures.js';
import { tempDir } from '../support/database.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';

const dataDir = tempDir('embedded-smoke');
let server: ServerProcess | undefined;

async function startServer() {
  server = await startServerProcess(dataDir);
  return { base: server.base, log: server.log() };
}

const stopServer = async () => server?.stop();

/** The demo admin's password is random, written once to DATA_DIR/demo-users.txt. */
async function signInAsDemoAdmin(base: string): Promise<string> {
  const line = fs.readFileSync(path.join(dataDir, 'demo-users.txt'), 'utf8').split('\n').find((l) => l.startsWith('admin '));
  const password = line!.trim().split(/\s+/)[1];
  const res = await fetch(`${base}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password }) });
  expect(res.status).toBe(200);
  return res.headers.getSetCookie()[0].split(';')[0];
}

afterAll(stopServer);

describe('embedded database (PGlite) smoke', { timeout: 300_000 }, () => {
  let firstCounts: { grids: number; buildings: number; incidents: number };
  let cookie = '';
  const get = (base: string, url: string) => fetch(`${base}${url}`, { headers: { cookie } });

  it('first start creates, migrates and seeds the demo district, then serves collections and tiles', async () => {
    const { base, log } = await startServer();
    expect(log).toMatch(/database: embedded/);
    expect(log).toMatch(/generating the demo district/);
    expect(log).toMatch(/demo accounts/);
    cookie = await signInAsDemoAdmin(base);

    const health = await (await get(base, '/api/health')).json();
    expect(health).toMatchObject({ status: 'ok', database: { mode: 'embedded', nativeMvt: false } });

    const collections = await (await get(base, '/api/collections')).json();
    const grids = collections.collections.find((c: { id: string }) => c.id === 'grids');
    const bbox = grids.extent.spatial.bbox[0] as number[];
    const items = await (await get(base, '/api/collections/grids/items?limit=1000')).json();
    expect(items.numberMatched).toBeGreaterThanOrEqual(60);
    expect(items.numberMatched).toBeLessThanOrEqual(120);
    const buildings = await (await get(base, '/api/collections/buildings/items?limit=1')).json();
    const incidents = await (await get(base, '/api/collections/incidents/items?limit=1')).json();
    firstCounts = { grids: items.numberMatched, buildings: buildings.numberMatched, incidents: incidents.numberMatched };

    // A z15 tile at the centre of the data, encoded in Node (PGlite has no ST_AsMVT).
    const [lon, lat] = [(bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2];
    const { z, x, y } = tileAt(lon, lat, 15);
    const res = await get(base, `/tiles/buildings/${z}/${x}/${y}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/vnd.mapbox-vector-tile');
    const tile = decodeTile(new Uint8Array(await res.arrayBuffer()));
    expect(tile.buildings.length).toBeGreaterThan(0);
  });

  it('accountability on PGlite: a closed incident is rated once, and the departments are scored (JSON and XLSX)', async () => {
    const base = server!.base;
    const post = (url: string, body: unknown) =>
      fetch(`${base}${url}`, { method: 'POST', headers: { cookie, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    // The generated demo rated most handled closures; one waiting for its rating is rated now.
    const waiting = await (await get(base, '/api/incidents?rated=false&limit=1')).json();
    expect(waiting.features.length).toBe(1);
    const id = waiting.features[0].id as string;
    const rated = await post(`/api/incidents/${id}/transitions`, { action: 'rate', score: 4, comment: '嵌入式评价' });
    expect(rated.status).toBe(200);
    expect((await rated.json()).properties.ratings.at(-1)).toMatchObject({ score: 4, comment: '嵌入式评价' });
    expect((await (await post(`/api/incidents/${id}/transitions`, { action: 'rate', score: 5 })).json()).code).toBe('ALREADY_RATED');

    const table = await (await get(base, '/api/kpis/departments')).json();
    expect(table.rows.some((r: { received: number; ratings: number; score: number | null }) => r.received > 0 && r.ratings > 0 && r.score !== null)).toBe(true);
    const xlsx = await get(base, '/api/kpis/departments?format=xlsx');
    expect(xlsx.status).toBe(200);
    expect(Buffer.from(await xlsx.arrayBuffer()).subarray(0, 2).toString()).toBe('PK');
  });

  it('a restart keeps every row and does not seed again', async () => {
    await stopServer();
    const { base, log } = await startServer();
    expect(log).not.toMatch(/generating the demo district/);
    // Sessions live in the database: the one from before the restart still works.
    expect((await get(base, '/api/auth/me')).status).toBe(200);
    const count = async (id: string) => (await (await get(base, `/api/collections/${id}/items?limit=1`)).json()).numberMatched;
    expect({ grids: await count('grids'), buildings: await count('buildings'), incidents: await count('incidents') }).toEqual(firstCounts);
  });
});
