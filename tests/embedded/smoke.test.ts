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

afterAll(stopServer);

describe('embedded database (PGlite) smoke', { timeout: 300_000 }, () => {
  let firstCounts: { grids: number; buildings: number; incidents: number };

  it('first start creates, migrates and seeds the demo district, then serves collections and tiles', async () => {
    const { base, log } = await startServer();
    expect(log).toMatch(/database: embedded/);
    expect(log).toMatch(/generating the demo district/);

    const health = await (await fetch(`${base}/api/health`)).json();
    expect(health).toMatchObject({ status: 'ok', database: { mode: 'embedded', nativeMvt: false } });

    const collections = await (await fetch(`${base}/api/collections`)).json();
    const grids = collections.collections.find((c: { id: string }) => c.id === 'grids');
    const bbox = grids.extent.spatial.bbox[0] as number[];
    const items = await (await fetch(`${base}/api/collections/grids/items?limit=1000`)).json();
    expect(items.numberMatched).toBeGreaterThanOrEqual(60);
    expect(items.numberMatched).toBeLessThanOrEqual(120);
    const buildings = await (await fetch(`${base}/api/collections/buildings/items?limit=1`)).json();
    const incidents = await (await fetch(`${base}/api/collections/incidents/items?limit=1`)).json();
    firstCounts = { grids: items.numberMatched, buildings: buildings.numberMatched, incidents: incidents.numberMatched };

    // A z15 tile at the centre of the data, encoded in Node (PGlite has no ST_AsMVT).
    const [lon, lat] = [(bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2];
    const { z, x, y } = tileAt(lon, lat, 15);
    const res = await fetch(`${base}/tiles/buildings/${z}/${x}/${y}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/vnd.mapbox-vector-tile');
    const tile = decodeTile(new Uint8Array(await res.arrayBuffer()));
    expect(tile.buildings.length).toBeGreaterThan(0);
  });

  it('a restart keeps every row and does not seed again', async () => {
    await stopServer();
    const { base, log } = await startServer();
    expect(log).not.toMatch(/generating the demo district/);
    const count = async (id: string) => (await (await fetch(`${base}/api/collections/${id}/items?limit=1`)).json()).numberMatched;
    expect({ grids: await count('grids'), buildings: await count('buildings'), incidents: await count('incidents') }).toEqual(firstCounts);
  });
});
