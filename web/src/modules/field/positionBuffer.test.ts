import { describe, expect, it } from 'vitest';
import {
  flushPositions, isRetryableStatus, metresBetween, pointFromFix, PositionBuffer,
  type KeyValueStorage, type PositionBatchResult, type PositionPoint,
} from './positionBuffer';

/** localStorage's contract over a Map; `full` makes setItem throw as a full quota does. */
class MemoryStorage implements KeyValueStorage {
  readonly data = new Map<string, string>();
  full = false;
  getItem(key: string) {
    return this.data.get(key) ?? null;
  }
  setItem(key: string, value: string) {
    if (this.full) throw new DOMException('quota', 'QuotaExceededError');
    this.data.set(key, value);
  }
  removeItem(key: string) {
    this.data.delete(key);
  }
}

const T0 = Date.parse('2026-03-08T06:00:00Z');
const at = (seconds: number) => new Date(T0 + seconds * 1000).toISOString();
const pt = (seconds: number, lon = 121.49 + seconds * 1e-5, lat = 31.24): PositionPoint => ({ lon, lat, recordedAt: at(seconds) });

/** A deterministic PRNG (mulberry32) for the randomised runs. */
function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A stand-in for the positions endpoint with its documented semantics: a point is stored once
 * per recordedAt (a repeat is a duplicate); `rejectWhere` points are rejected. `down` makes the
 * request fail like a dead network.
 */
class PositionsEndpoint {
  stored = new Map<string, PositionPoint>();
  requests: PositionPoint[][] = [];
  down = false;
  constructor(private readonly rejectWhere: (p: PositionPoint) => boolean = () => false) {}
  send = async (batch: PositionPoint[]): Promise<PositionBatchResult> => {
    if (this.down) throw Object.assign(new Error('offline'), { status: 0 });
    this.requests.push(batch);
    const result: PositionBatchResult = { accepted: 0, duplicates: 0, rejected: [] };
    batch.forEach((p, index) => {
      if (this.rejectWhere(p)) result.rejected.push({ index, code: 'IMPOSSIBLE_SPEED' });
      else if (this.stored.has(p.recordedAt)) result.duplicates += 1;
      else {
        this.stored.set(p.recordedAt, p);
        result.accepted += 1;
      }
    });
    return result;
  };
}

const classify = (err: unknown) => {
  const status = (err as { status?: number }).status ?? 0;
  return { retry: isRetryableStatus(status), code: status === 0 ? 'NETWORK_ERROR' : `HTTP_${status}` };
};

describe('pointFromFix', () => {
  it('turns a geolocation fix into an API point', () => {
    expect(pointFromFix({ longitude: 121.5, latitude: 31.2, accuracy: 12.345, timestamp: T0 })).toEqual({
      lon: 121.5, lat: 31.2, recordedAt: '2026-03-08T06:00:00.000Z', accuracyMetres: 12.3,
    });
  });

  it('drops accuracy outside the API bounds and refuses impossible coordinates', () => {
    expect(pointFromFix({ longitude: 121.5, latitude: 31.2, accuracy: 200_000, timestamp: T0 })).not.toHaveProperty('accuracyMetres');
    expect(pointFromFix({ longitude: 181, latitude: 31.2, timestamp: T0 })).toBeNull();
    expect(pointFromFix({ longitude: Number.NaN, latitude: 31.2, timestamp: T0 })).toBeNull();
  });
});

describe('PositionBuffer', () => {
  it('keeps points across a reload (storage) and skips repeats and fixes that neither waited nor moved', () => {
    const storage = new MemoryStorage();
    const buffer = new PositionBuffer(storage, 'k', { minIntervalMs: 5000, minDistanceMetres: 10 });
    expect(buffer.add(pt(0))).toBe(true);
    expect(buffer.add(pt(0))).toBe(false);
    // 3 s later, about 3 m away: skipped.
    expect(buffer.add(pt(3))).toBe(false);
    // 4 s later but 30 m away: kept (a walking worker is tracked).
    const moved = { lon: 121.49, lat: 31.24 + 30 / 111_195, recordedAt: at(4) };
    expect(buffer.add(moved)).toBe(true);
    expect(buffer.add(pt(9))).toBe(true);
    expect(buffer.add({ lon: Number.NaN, lat: 1, recordedAt: at(20) })).toBe(false);
    const reloaded = new PositionBuffer(storage, 'k');
    expect(reloaded.all()).toEqual([pt(0), moved, pt(9)]);
  });

  it('measures distances in metres', () => {
    expect(metresBetween({ lon: 121.49, lat: 31.24 }, { lon: 121.49, lat: 31.25 })).toBeCloseTo(1111.95, 0);
    expect(metresBetween({ lon: 121.49, lat: 31.24 }, { lon: 121.5, lat: 31.24 })).toBeCloseTo(950.6, 0);
  });

  it('ignores storage it cannot read, and works without storage', () => {
    const storage = new MemoryStorage();
    storage.setItem('k', '{not json');
    expect(new PositionBuffer(storage, 'k').pending).toBe(0);
    storage.setItem('k', JSON.stringify([pt(0), { lon: 'x' }, null]));
    expect(new PositionBuffer(storage, 'k').all()).toEqual([pt(0)]);
    const memory = new PositionBuffer(null, 'k');
    memory.add(pt(0));
    expect(memory.pending).toBe(1);
  });

  it('keeps the newest points when full and counts what it dropped', () => {
    const buffer = new PositionBuffer(null, 'k', { maxPoints: 3, minIntervalMs: 0 });
    for (let s = 0; s < 5; s += 1) buffer.add(pt(s));
    expect(buffer.all().map((p) => p.recordedAt)).toEqual([at(2), at(3), at(4)]);
    expect(buffer.dropped).toBe(2);
  });

  it('still holds its points in memory when storage is full', () => {
    const storage = new MemoryStorage();
    const buffer = new PositionBuffer(storage, 'k', { minIntervalMs: 0 });
    storage.full = true;
    expect(buffer.add(pt(0))).toBe(true);
    expect(buffer.pending).toBe(1);
  });
});

describe('flushPositions', () => {
  it('sends in batches of at most maxBatch, oldest first, and empties the buffer and its storage', async () => {
    const storage = new MemoryStorage();
    const buffer = new PositionBuffer(storage, 'k', { maxBatch: 4, minIntervalMs: 0 });
    for (let s = 0; s < 10; s += 1) buffer.add(pt(s));
    const server = new PositionsEndpoint();
    const out = await flushPositions(buffer, server.send, classify);
    expect(server.requests.map((b) => b.length)).toEqual([4, 4, 2]);
    expect(server.requests.flat().map((p) => p.recordedAt)).toEqual(Array.from({ length: 10 }, (_, s) => at(s)));
    expect(out).toMatchObject({ batches: 3, accepted: 10, duplicates: 0, rejected: [], failure: null });
    expect(buffer.pending).toBe(0);
    expect(storage.getItem('k')).toBeNull();
  });

  it('keeps everything when the network is down and sends it when it is back', async () => {
    const storage = new MemoryStorage();
    const buffer = new PositionBuffer(storage, 'k', { maxBatch: 3, minIntervalMs: 0 });
    const server = new PositionsEndpoint();
    server.down = true;
    for (let s = 0; s < 5; s += 1) buffer.add(pt(s));
    const failed = await flushPositions(buffer, server.send, classify);
    expect(failed.failure).toEqual({ retry: true, code: 'NETWORK_ERROR' });
    expect(buffer.pending).toBe(5);
    // The page reloads while offline: the points are still there.
    const again = new PositionBuffer(storage, 'k', { maxBatch: 3, minIntervalMs: 0 });
    again.add(pt(5));
    server.down = false;
    const out = await flushPositions(again, server.send, classify);
    expect(out.accepted).toBe(6);
    expect([...server.stored.keys()].sort()).toEqual(Array.from({ length: 6 }, (_, s) => at(s)));
  });

  it('reports the points the server rejected, with their codes, and does not send them again', async () => {
    const buffer = new PositionBuffer(null, 'k', { minIntervalMs: 0 });
    const jump = { lon: 125, lat: 31.24, recordedAt: at(2) };
    buffer.add(pt(0));
    buffer.add(pt(1));
    buffer.add(jump);
    buffer.add(pt(3));
    const server = new PositionsEndpoint((p) => p.lon === 125);
    const out = await flushPositions(buffer, server.send, classify);
    expect(out.rejected).toEqual([{ point: jump, code: 'IMPOSSIBLE_SPEED', detail: undefined }]);
    expect(out.accepted).toBe(3);
    expect(buffer.pending).toBe(0);
    await flushPositions(buffer, server.send, classify);
    expect(server.requests).toHaveLength(1);
  });

  it('drops a batch refused for good (4xx) so that it cannot block the points after it', async () => {
    const buffer = new PositionBuffer(null, 'k', { maxBatch: 2, minIntervalMs: 0 });
    for (let s = 0; s < 4; s += 1) buffer.add(pt(s));
    let calls = 0;
    const out = await flushPositions(buffer, async (batch) => {
      calls += 1;
      if (calls === 1) throw Object.assign(new Error('bad'), { status: 400 });
      return { accepted: batch.length, duplicates: 0, rejected: [] };
    }, classify);
    expect(out.rejected.map((r) => [r.point.recordedAt, r.code])).toEqual([[at(0), 'HTTP_400'], [at(1), 'HTTP_400']]);
    expect(out.accepted).toBe(2);
    expect(buffer.pending).toBe(0);
  });

  it('keeps points that arrive while a batch is in flight', async () => {
    const buffer = new PositionBuffer(null, 'k', { minIntervalMs: 0 });
    buffer.add(pt(0));
    buffer.add(pt(1));
    const server = new PositionsEndpoint();
    let added = false;
    const out = await flushPositions(buffer, async (batch) => {
      if (!added) {
        added = true;
        buffer.add(pt(2));
      }
      return server.send(batch);
    }, classify);
    // The late point went in the next batch of the same flush.
    expect(server.requests.map((b) => b.map((p) => p.recordedAt))).toEqual([[at(0), at(1)], [at(2)]]);
    expect(out.accepted).toBe(3);
    expect(buffer.pending).toBe(0);
  });

  it('loses nothing over random outages, reloads and lost answers: every buffered point is stored exactly once', async () => {
    for (let seed = 1; seed <= 40; seed += 1) {
      const random = rng(seed);
      const storage = new MemoryStorage();
      const server = new PositionsEndpoint();
      let buffer = new PositionBuffer(storage, 'k', { maxBatch: 1 + Math.floor(random() * 6), minIntervalMs: 0 });
      const buffered: string[] = [];
      for (let step = 0, s = 0; step < 60; step += 1) {
        const r = random();
        if (r < 0.5) {
          if (buffer.add(pt(s))) buffered.push(at(s));
          s += 1 + Math.floor(random() * 3);
        } else if (r < 0.6) {
          buffer = new PositionBuffer(storage, 'k', { maxBatch: buffer.maxBatch, minIntervalMs: 0 });
        } else {
          server.down = random() < 0.4;
          // Sometimes the server stores the batch but the answer never arrives.
          const loseAnswer = random() < 0.2;
          await flushPositions(buffer, async (batch) => {
            const result = await server.send(batch);
            if (loseAnswer) throw Object.assign(new Error('lost'), { status: 0 });
            return result;
          }, classify);
        }
      }
      server.down = false;
      await flushPositions(buffer, server.send, classify);
      expect(buffer.pending, `seed ${seed}`).toBe(0);
      expect([...server.stored.keys()].sort(), `seed ${seed}`).toEqual([...buffered].sort());
    }
  });

  it('classifies statuses: no answer, 401, 408, 429 and 5xx are retried; other 4xx are not', () => {
    expect([0, 401, 408, 429, 500, 503].every(isRetryableStatus)).toBe(true);
    expect([400, 403, 404, 413, 422].some(isRetryableStatus)).toBe(false);
  });
});
