import { describe, expect, it } from 'vitest';
import {
  ES_CLOSED, ES_CONNECTING, ES_OPEN, LiveConnection, isNewerId, resumeUrl,
  type EventSourceLike, type LiveEvent, type LiveState,
} from './liveConnection';

/** A small seeded generator (mulberry32), so that failures reproduce. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class FakeSource implements EventSourceLike {
  readyState = ES_CONNECTING;
  onopen: ((ev: Event) => unknown) | null = null;
  onerror: ((ev: Event) => unknown) | null = null;
  closed = false;
  listeners = new Map<string, ((ev: MessageEvent) => void)[]>();
  constructor(readonly url: string) {}
  addEventListener(type: string, listener: (ev: MessageEvent) => void): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }
  close(): void {
    this.closed = true;
    this.readyState = ES_CLOSED;
  }
  open(): void {
    this.readyState = ES_OPEN;
    this.onopen?.(new Event('open'));
  }
  emit(type: string, id: string, data: unknown): void {
    const ev = new MessageEvent(type, { data: JSON.stringify(data), lastEventId: id });
    for (const l of this.listeners.get(type) ?? []) l(ev);
  }
  /** The browser lost the connection and retries by itself. */
  drop(): void {
    this.readyState = ES_CONNECTING;
    this.onerror?.(new Event('error'));
  }
  /** The browser gave up (HTTP error). */
  fail(): void {
    this.readyState = ES_CLOSED;
    this.onerror?.(new Event('error'));
  }
}

function setup() {
  const sources: FakeSource[] = [];
  const timers: { fn: () => void; ms: number; cleared: boolean }[] = [];
  const states: LiveState[] = [];
  const opens: boolean[] = [];
  const conn = new LiveConnection({
    url: '/api/live',
    create: (url) => {
      const s = new FakeSource(url);
      sources.push(s);
      return s;
    },
    setTimer: (fn, ms) => {
      const t = { fn, ms, cleared: false };
      timers.push(t);
      return t;
    },
    clearTimer: (h) => {
      (h as { cleared: boolean }).cleared = true;
    },
    onState: (s) => states.push(s),
    onOpen: (r) => opens.push(r),
  });
  const got: LiveEvent[] = [];
  conn.on('incident.created', (e) => got.push(e));
  conn.on('responder.moved', (e) => got.push(e));
  return { conn, sources, timers, states, opens, got };
}

describe('isNewerId', () => {
  it('orders decimal ids numerically, not as text', () => {
    expect(isNewerId('10', '9')).toBe(true);
    expect(isNewerId('9', '10')).toBe(false);
    expect(isNewerId('10', '10')).toBe(false);
    expect(isNewerId('1', null)).toBe(true);
  });
  it('agrees with BigInt comparison', () => {
    const rnd = random(7);
    for (let i = 0; i < 2000; i++) {
      const a = BigInt(Math.floor(rnd() * 10 ** Math.ceil(rnd() * 15)));
      const b = i % 5 === 0 ? a : BigInt(Math.floor(rnd() * 10 ** Math.ceil(rnd() * 15)));
      expect(isNewerId(a.toString(), b.toString())).toBe(a > b);
    }
  });
});

describe('resumeUrl', () => {
  it('adds the last id as a query parameter', () => {
    expect(resumeUrl('/api/live', null)).toBe('/api/live');
    expect(resumeUrl('/api/live', '42')).toBe('/api/live?lastEventId=42');
    expect(resumeUrl('/api/live?x=1', '42')).toBe('/api/live?x=1&lastEventId=42');
  });
});

describe('LiveConnection', () => {
  it('delivers typed events and tracks the last id', () => {
    const { conn, sources, got, states } = setup();
    conn.start();
    expect(states).toEqual(['connecting']);
    sources[0].open();
    sources[0].emit('incident.created', '1', { incidentId: 'a' });
    sources[0].emit('responder.moved', '2', { responderId: 'r', lon: 1, lat: 2 });
    expect(got.map((e) => [e.type, e.id])).toEqual([['incident.created', '1'], ['responder.moved', '2']]);
    expect((got[0].data as { incidentId: string }).incidentId).toBe('a');
    expect(conn.lastEventId).toBe('2');
    expect(conn.state).toBe('open');
  });

  it('drops a replayed event already delivered after the browser reconnects', () => {
    const { conn, sources, got, opens } = setup();
    conn.start();
    sources[0].open();
    sources[0].emit('incident.created', '5', { incidentId: 'a' });
    sources[0].drop();
    expect(conn.state).toBe('reconnecting');
    sources[0].open();
    expect(opens).toEqual([false, true]);
    // The server replays from an id the client had already seen, overlapping.
    sources[0].emit('incident.created', '4', { incidentId: 'old' });
    sources[0].emit('incident.created', '5', { incidentId: 'a' });
    sources[0].emit('incident.created', '6', { incidentId: 'b' });
    expect(got.map((e) => e.id)).toEqual(['5', '6']);
    expect(sources).toHaveLength(1);
  });

  it('opens a new connection with ?lastEventId when the browser gives up, backing off', () => {
    const { conn, sources, timers, got } = setup();
    conn.start();
    sources[0].open();
    sources[0].emit('incident.created', '7', { incidentId: 'a' });
    sources[0].fail();
    expect(sources[0].closed).toBe(true);
    expect(timers).toHaveLength(1);
    expect(timers[0].ms).toBe(1000);
    timers[0].fn();
    expect(sources[1].url).toBe('/api/live?lastEventId=7');
    sources[1].fail();
    expect(timers[1].ms).toBe(2000);
    timers[1].fn();
    sources[2].open();
    sources[2].emit('incident.created', '8', { incidentId: 'b' });
    expect(got.map((e) => e.id)).toEqual(['7', '8']);
    // Back to the first delay once a connection opened.
    sources[2].fail();
    expect(timers[2].ms).toBe(1000);
  });

  it('ignores events from a connection it has closed, and stop cancels a pending reconnect', () => {
    const { conn, sources, timers, got } = setup();
    conn.start();
    sources[0].open();
    sources[0].fail();
    conn.stop();
    expect(timers[0].cleared).toBe(true);
    sources[0].emit('incident.created', '1', { incidentId: 'late' });
    expect(got).toEqual([]);
    expect(conn.state).toBe('idle');
    conn.start();
    expect(sources).toHaveLength(2);
  });

  it('passes reset on, and an unsubscribed handler hears nothing', () => {
    const { conn, sources } = setup();
    let resets = 0;
    const seen: string[] = [];
    conn.onReset(() => resets++);
    const off = conn.on('incident.updated', (e) => seen.push(e.id));
    conn.start();
    sources[0].open();
    sources[0].emit('reset', '100', {});
    sources[0].emit('incident.updated', '101', { incidentId: 'x' });
    off();
    sources[0].emit('incident.updated', '102', { incidentId: 'x' });
    expect(resets).toBe(1);
    expect(seen).toEqual(['101']);
  });

  it('delivers every id once in increasing order whatever the replay overlaps', () => {
    const rnd = random(11);
    for (let run = 0; run < 300; run++) {
      const batches = Array.from({ length: Math.floor(rnd() * 6) }, () =>
        Array.from({ length: Math.floor(rnd() * 10) }, () => 1 + Math.floor(rnd() * 40)));
      const { conn, sources, got } = setup();
      conn.start();
      sources[0].open();
      for (const batch of batches) {
        for (const id of batch.sort((a, b) => a - b)) sources[0].emit('incident.created', String(id), { incidentId: String(id) });
        sources[0].drop();
        sources[0].open();
      }
      const ids = got.map((e) => Number(e.id));
      expect(ids).toEqual([...new Set(ids)].sort((a, b) => a - b));
      // Oracle: an id is delivered exactly when it is above every id delivered before it.
      const expected: number[] = [];
      for (const id of batches.flat()) if (id > (expected[expected.length - 1] ?? 0)) expected.push(id);
      expect(ids).toEqual(expected);
    }
  });
});
