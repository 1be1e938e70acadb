import { describe, expect, it } from 'vitest';
import { TileCache, type CachedTile } from '../../server/src/modules/tiles/tiles.cache.js';
import { parseTileAddress } from '../../server/src/modules/tiles/tiles.address.js';
import { bandAt, TILE_LAYERS, TILE_LAYER_IDS } from '../../server/src/modules/tiles/tiles.layers.js';
import { tileQuery } from '../../server/src/modules/tiles/tiles.query.js';

const tile = (bytes: number): CachedTile => ({ bytes: Buffer.alloc(bytes, 1), etag: `"${bytes}"` });
const fill = (t: CachedTile) => async () => t;

describe('TileCache', () => {
  it('evicts the least recently used tiles when over its byte budget', async () => {
    const cache = new TileCache(3_000, 60_000);
    await cache.getOrFill('a', fill(tile(1_000)));
    await cache.getOrFill('b', fill(tile(1_000)));
    cache.get('a'); // a is now more recent than b
    await cache.getOrFill('c', fill(tile(1_000)));
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBeDefined();
    expect(cache.get('c')).toBeDefined();
    expect(cache.size.bytes).toBeLessThanOrEqual(3_000);
  });

  it('does not keep a tile larger than the whole budget', async () => {
    const cache = new TileCache(1_000, 60_000);
    const big = tile(5_000);
    expect(await cache.getOrFill('big', fill(big))).toBe(big);
    expect(cache.get('big')).toBeUndefined();
    expect(cache.size).toEqual({ entries: 0, bytes: 0 });
  });

  it('forgets tiles after the TTL', async () => {
    let now = 0;
    const cache = new TileCache(10_000, 30_000, () => now);
    await cache.getOrFill('a', fill(tile(10)));
    now = 29_999;
    expect(cache.get('a')).toBeDefined();
    now = 30_000;
    expect(cache.get('a')).toBeUndefined();
    expect(cache.size.bytes).toBe(0);
  });

  it('runs one fill for concurrent misses of a key', async () => {
    const cache = new TileCache(10_000, 30_000);
    let fills = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const slow = async () => {
      fills++;
      await gate;
      return tile(10);
    };
    const all = Promise.all([cache.getOrFill('k', slow), cache.getOrFill('k', slow), cache.getOrFill('k', slow)]);
    release();
    const [a, b, c] = await all;
    expect(fills).toBe(1);
    expect(a).toBe(b);
    expect(b).toBe(c);
  });

  it('does not cache a failed fill', async () => {
    const cache = new TileCache(10_000, 30_000);
    await expect(cache.getOrFill('k', async () => Promise.reject(new Error('db down')))).rejects.toThrow('db down');
    expect(await cache.getOrFill('k', fill(tile(10)))).toEqual(tile(10));
  });

  it('clears the tiles of one layer by key prefix', async () => {
    const cache = new TileCache(10_000, 30_000);
    await cache.getOrFill('roads/16/1/1|all', fill(tile(10)));
    await cache.getOrFill('buildings/16/1/1|all', fill(tile(10)));
    cache.clear('roads/');
    expect(cache.get('roads/16/1/1|all')).toBeUndefined();
    expect(cache.get('buildings/16/1/1|all')).toBeDefined();
  });
});

describe('parseTileAddress', () => {
  it('accepts the corners of the tile pyramid and a format suffix', () => {
    expect(parseTileAddress('0', '0', '0')).toEqual({ z: 0, x: 0, y: 0 });
    expect(parseTileAddress('22', String(2 ** 22 - 1), `${2 ** 22 - 1}.pbf`)).toEqual({ z: 22, x: 2 ** 22 - 1, y: 2 ** 22 - 1 });
  });

  it.each([['23', '0', '0'], ['-1', '0', '0'], ['0', '1', '0'], ['2', '0', '4'], ['2', ' 1', '0'], ['2', '0x1', '0'], ['2', '1', '1.mvt.mvt']])(
    '%s/%s/%s is TILE_OUT_OF_RANGE',
    (z, x, y) => {
      expect(() => parseTileAddress(z, x, y)).toThrow(expect.objectContaining({ status: 400, code: 'TILE_OUT_OF_RANGE' }));
    },
  );
});

describe('tileQuery', () => {
  it('binds z/x/y and the scope as parameters and splices nothing from them into the SQL', () => {
    for (const layer of TILE_LAYER_IDS) {
      for (const native of [true, false]) {
        const q = tileQuery(layer, 16, 54_881, 26_792, { native })!;
        // Without a scope the tile is the whole installation's.
        expect(q.values).toEqual([16, 54_881, 26_792, '*']);
        expect(q.text).not.toMatch(/54881|26792/);
        expect(q.text).toMatch(/ST_TileEnvelope\(\$1::int, \$2::int, \$3::int\)/);
        expect(q.text).toMatch(/\$4::text AS scope/);
        const scoped = tileQuery(layer, 16, 54_881, 26_792, { native, scope: "310101002001' OR '1'='1" })!;
        expect(scoped.values).toEqual([16, 54_881, 26_792, "310101002001' OR '1'='1"]);
        expect(scoped.text).toBe(q.text);
      }
    }
  });

  it('is undefined outside the layer\'s zoom range, and every zoom in range has a band', () => {
    for (const layer of TILE_LAYER_IDS) {
      const def = TILE_LAYERS[layer];
      expect(tileQuery(layer, def.maxzoom + 1, 0, 0, { native: true })).toBeUndefined();
      if (def.minzoom > 0) expect(tileQuery(layer, def.minzoom - 1, 0, 0, { native: true })).toBeUndefined();
      for (let z = def.minzoom; z <= def.maxzoom; z++) expect(bandAt(def, z), `${layer}/${z}`).toBeDefined();
    }
  });
});
