import { describe, expect, it } from 'vitest';
import { isRetryableStatus, type KeyValueStorage } from './positionBuffer';
import { drainReports, ReportQueue, type QueuedPhoto, type ReportBody, type ReportTransport } from './reportQueue';

class MemoryStorage implements KeyValueStorage {
  readonly data = new Map<string, string>();
  /** setItem throws (a full quota) for values longer than this. */
  limit = Infinity;
  getItem(key: string) {
    return this.data.get(key) ?? null;
  }
  setItem(key: string, value: string) {
    if (value.length > this.limit) throw new DOMException('quota', 'QuotaExceededError');
    this.data.set(key, value);
  }
  removeItem(key: string) {
    this.data.delete(key);
  }
}

const body = (description = '楼道堆物'): ReportBody => ({
  category: 'safety_hazard', priority: 'normal', description, location: { type: 'Point', coordinates: [121.49, 31.24] },
});
const photo = (n: number): QueuedPhoto => ({ contentType: 'image/png', base64: 'iVBORw0KGgo'.padEnd(40 + n, 'A'), name: `p${n}.png` });

/**
 * The intake endpoint's documented idempotency: the same key and body answer the first result; the
 * same key with another body is refused; a point outside the grids is refused. `down` fails
 * requests like a dead network; `loseAnswers` lets the server do the work but loses the answer.
 */
class IntakeEndpoint implements ReportTransport<{ id: string }> {
  incidents: { id: string; body: ReportBody }[] = [];
  photos: { incidentId: string; photo: QueuedPhoto }[] = [];
  keys = new Map<string, { hash: string; id: string }>();
  createCalls: string[] = [];
  down = false;
  loseAnswers = 0;

  private answer<T>(value: T): T {
    if (this.loseAnswers > 0) {
      this.loseAnswers -= 1;
      throw Object.assign(new Error('lost'), { status: 0, code: 'NETWORK_ERROR' });
    }
    return value;
  }

  async create(b: ReportBody, key: string) {
    if (this.down) throw Object.assign(new Error('offline'), { status: 0, code: 'NETWORK_ERROR' });
    this.createCalls.push(key);
    const hash = JSON.stringify(b);
    const seen = this.keys.get(key);
    if (seen) {
      if (seen.hash !== hash) throw Object.assign(new Error('reused'), { status: 422, code: 'IDEMPOTENCY_KEY_REUSED' });
      return this.answer({ id: seen.id });
    }
    if (b.location.coordinates[0] > 150) throw Object.assign(new Error('outside'), { status: 422, code: 'OUTSIDE_ALL_GRIDS' });
    const id = `inc-${this.incidents.length + 1}`;
    this.incidents.push({ id, body: b });
    this.keys.set(key, { hash, id });
    return this.answer({ id });
  }

  async uploadPhoto(incidentId: string, p: QueuedPhoto) {
    if (this.down) throw Object.assign(new Error('offline'), { status: 0, code: 'NETWORK_ERROR' });
    if (p.contentType === 'image/gif') throw Object.assign(new Error('type'), { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' });
    this.photos.push({ incidentId, photo: p });
    return this.answer({ id: `photo-${this.photos.length}` });
  }

  idOf(r: { id: string }) {
    return r.id;
  }

  classify(err: unknown) {
    const e = err as { status: number; code: string };
    return { retry: isRetryableStatus(e.status), code: e.code };
  }
}

describe('ReportQueue', () => {
  it('keeps queued reports across a reload and treats a second add of one key as the same report', () => {
    const storage = new MemoryStorage();
    const queue = new ReportQueue(storage, 'q');
    queue.add('key-1', body(), [photo(1)]);
    queue.add('key-1', body('another text'), []);
    const reloaded = new ReportQueue(storage, 'q');
    expect(reloaded.list()).toHaveLength(1);
    expect(reloaded.get('key-1')).toMatchObject({ body: body(), photos: [photo(1)], state: 'pending', attempts: 0 });
  });

  it('keeps the report without its photos when storage cannot hold them, and says so', () => {
    const storage = new MemoryStorage();
    const queue = new ReportQueue(storage, 'q');
    storage.limit = 600;
    const entry = queue.add('key-1', body(), [photo(600), photo(601)]);
    expect(entry).toMatchObject({ photos: [], photosDropped: 2 });
    expect(new ReportQueue(storage, 'q').get('key-1')).toMatchObject({ body: body(), photosDropped: 2 });
  });

  it('ignores unreadable storage', () => {
    const storage = new MemoryStorage();
    storage.setItem('q', '[{"key":1}]');
    expect(new ReportQueue(storage, 'q').list()).toEqual([]);
  });
});

describe('drainReports', () => {
  it('sends a report and its photos, then forgets it', async () => {
    const storage = new MemoryStorage();
    const queue = new ReportQueue(storage, 'q');
    const server = new IntakeEndpoint();
    queue.add('key-1', body(), [photo(1), photo(2)]);
    const created: string[] = [];
    const completed: string[] = [];
    const out = await drainReports(queue, server, {
      created: (e, r) => created.push(`${e.key}:${r.id}`),
      completed: (e) => completed.push(e.key),
    });
    expect(out.stoppedBy).toBeNull();
    expect(created).toEqual(['key-1:inc-1']);
    expect(completed).toEqual(['key-1']);
    expect(server.photos.map((p) => [p.incidentId, p.photo.name])).toEqual([['inc-1', 'p1.png'], ['inc-1', 'p2.png']]);
    expect(queue.list()).toEqual([]);
    expect(storage.getItem('q')).toBeNull();
  });

  it('offline: keeps the report, and sends it with the same key once back; one incident', async () => {
    const storage = new MemoryStorage();
    const server = new IntakeEndpoint();
    server.down = true;
    const queue = new ReportQueue(storage, 'q');
    queue.add('key-1', body(), []);
    expect((await drainReports(queue, server)).stoppedBy).toEqual({ retry: true, code: 'NETWORK_ERROR' });
    expect(queue.get('key-1')).toMatchObject({ state: 'pending', attempts: 1, lastError: 'NETWORK_ERROR' });
    server.down = false;
    await drainReports(new ReportQueue(storage, 'q'), server);
    expect(server.incidents).toHaveLength(1);
    expect(server.createCalls).toEqual(['key-1']);
  });

  it('a lost answer: the resend carries the same key, the server answers the first incident, no second one', async () => {
    const queue = new ReportQueue(new MemoryStorage(), 'q');
    const server = new IntakeEndpoint();
    server.loseAnswers = 1;
    queue.add('key-1', body(), [photo(1)]);
    await drainReports(queue, server);
    expect(server.incidents).toHaveLength(1);
    expect(queue.get('key-1')).toMatchObject({ state: 'pending' });
    const created: string[] = [];
    await drainReports(queue, server, { created: (_e, r) => created.push(r.id) });
    expect(server.createCalls).toEqual(['key-1', 'key-1']);
    expect(server.incidents).toHaveLength(1);
    expect(created).toEqual(['inc-1']);
    expect(server.photos).toHaveLength(1);
    expect(queue.list()).toEqual([]);
  });

  it('photos resume where they stopped when the network fails between them', async () => {
    const queue = new ReportQueue(new MemoryStorage(), 'q');
    const server = new IntakeEndpoint();
    queue.add('key-1', body(), [photo(1), photo(2), photo(3)]);
    let uploads = 0;
    const flaky: ReportTransport<{ id: string }> = {
      create: (b, k) => server.create(b, k),
      uploadPhoto: async (id, p) => {
        uploads += 1;
        if (uploads === 2) throw Object.assign(new Error('offline'), { status: 0, code: 'NETWORK_ERROR' });
        return server.uploadPhoto(id, p);
      },
      idOf: (r) => r.id,
      classify: (e) => server.classify(e),
    };
    await drainReports(queue, flaky);
    expect(queue.get('key-1')).toMatchObject({ state: 'photos', incidentId: 'inc-1', photosSent: 1 });
    await drainReports(queue, flaky);
    expect(server.photos.map((p) => p.photo.name)).toEqual(['p1.png', 'p2.png', 'p3.png']);
    expect(server.createCalls).toEqual(['key-1']);
  });

  it('a report refused for good is marked failed with its code, and the ones behind it still go', async () => {
    const queue = new ReportQueue(new MemoryStorage(), 'q');
    const server = new IntakeEndpoint();
    queue.add('key-out', { ...body(), location: { type: 'Point', coordinates: [170, 0] } }, []);
    queue.add('key-ok', body('second'), [{ contentType: 'image/gif', base64: 'R0lG' }, photo(1)]);
    const failed: string[] = [];
    await drainReports(queue, server, { failed: (e, f) => failed.push(`${e.key}:${f.code}`) });
    expect(failed).toEqual(['key-out:OUTSIDE_ALL_GRIDS']);
    expect(queue.list().map((e) => [e.key, e.state, e.lastError])).toEqual([['key-out', 'failed', 'OUTSIDE_ALL_GRIDS']]);
    expect(queue.pending).toBe(0);
    // The refused photo was skipped; the other one went.
    expect(server.photos.map((p) => p.photo.name)).toEqual(['p1.png']);
    // A failed report is not sent again.
    await drainReports(queue, server);
    expect(server.createCalls).toEqual(['key-out', 'key-ok']);
  });

  it('`only` sends just the one report', async () => {
    const queue = new ReportQueue(new MemoryStorage(), 'q');
    const server = new IntakeEndpoint();
    queue.add('a', body('a'), []);
    queue.add('b', body('b'), []);
    await drainReports(queue, server, {}, 'b');
    expect(server.createCalls).toEqual(['b']);
    expect(queue.list().map((e) => e.key)).toEqual(['a']);
  });
});
