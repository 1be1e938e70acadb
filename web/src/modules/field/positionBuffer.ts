/**
 * The phone's position buffer: fixes from the device wait here (in localStorage, so a reload or a
 * dead network loses nothing) until a batch is acknowledged by `POST /api/responders/me/positions`.
 * Pure logic: the storage and the sender are passed in, so it is unit-tested without a browser.
 */

/** One fix, as the API takes it. */
export interface PositionPoint {
  lon: number;
  lat: number;
  /** ISO 8601. */
  recordedAt: string;
  accuracyMetres?: number;
}

/** The part of the Web Storage API the buffers use (localStorage, or a map in tests). */
export interface KeyValueStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export interface RejectedPoint {
  point: PositionPoint;
  code: string;
  detail?: string;
}

/** The API's answer to a batch. */
export interface PositionBatchResult {
  accepted: number;
  duplicates: number;
  rejected: { index: number; code: string; detail?: string }[];
}

export interface BufferOptions {
  /** Points kept at most; beyond it the oldest go (a phone offline for a whole shift). */
  maxPoints?: number;
  /** Points per request (the API takes 1–500). */
  maxBatch?: number;
  /**
   * A new fix closer in time than this to the newest buffered one is skipped, unless it moved at
   * least `minDistanceMetres` (a worker standing still does not fill the buffer; one walking is
   * tracked).
   */
  minIntervalMs?: number;
  minDistanceMetres?: number;
}

/** The API's bound on accuracy; a worse fix is sent without it. */
const MAX_ACCURACY_METRES = 100_000;

/** Distance in metres between two points (equirectangular; exact enough below a few km). */
export function metresBetween(a: { lon: number; lat: number }, b: { lon: number; lat: number }): number {
  const rad = Math.PI / 180;
  const x = (b.lon - a.lon) * rad * Math.cos(((a.lat + b.lat) / 2) * rad);
  const y = (b.lat - a.lat) * rad;
  return Math.hypot(x, y) * 6_371_008.8;
}

const identity = (p: PositionPoint) => `${p.recordedAt}|${p.lon}|${p.lat}`;

function isPoint(value: unknown): value is PositionPoint {
  if (typeof value !== 'object' || value === null) return false;
  const p = value as Record<string, unknown>;
  return typeof p.lon === 'number' && Number.isFinite(p.lon) && typeof p.lat === 'number' && Number.isFinite(p.lat)
    && typeof p.recordedAt === 'string' && !Number.isNaN(Date.parse(p.recordedAt))
    && (p.accuracyMetres === undefined || (typeof p.accuracyMetres === 'number' && Number.isFinite(p.accuracyMetres)));
}

/** A point for the API from a fix of the Geolocation API, or null when it is not a usable fix. */
export function pointFromFix(fix: { longitude: number; latitude: number; accuracy?: number | null; timestamp: number }): PositionPoint | null {
  const { longitude: lon, latitude: lat, accuracy, timestamp } = fix;
  if (!Number.isFinite(lon) || !Number.isFinite(lat) || Math.abs(lon) > 180 || Math.abs(lat) > 90 || !Number.isFinite(timestamp)) return null;
  const point: PositionPoint = { lon, lat, recordedAt: new Date(timestamp).toISOString() };
  if (typeof accuracy === 'number' && Number.isFinite(accuracy) && accuracy >= 0 && accuracy <= MAX_ACCURACY_METRES) {
    point.accuracyMetres = Math.round(accuracy * 10) / 10;
  }
  return point;
}

export class PositionBuffer {
  private points: PositionPoint[] = [];
  private readonly maxPoints: number;
  readonly maxBatch: number;
  private readonly minIntervalMs: number;
  private readonly minDistanceMetres: number;
  /** Points dropped because the buffer was full. */
  dropped = 0;

  constructor(private readonly storage: KeyValueStorage | null, private readonly key: string, opts: BufferOptions = {}) {
    this.maxPoints = opts.maxPoints ?? 5000;
    this.maxBatch = Math.min(500, Math.max(1, opts.maxBatch ?? 500));
    this.minIntervalMs = opts.minIntervalMs ?? 5000;
    this.minDistanceMetres = opts.minDistanceMetres ?? 10;
    this.points = this.load();
  }

  private load(): PositionPoint[] {
    try {
      const raw = this.storage?.getItem(this.key);
      if (!raw) return [];
      const parsed: unknown = JSON.parse(raw);
      return Array.isArray(parsed) ? parsed.filter(isPoint).slice(-this.maxPoints) : [];
    } catch {
      return [];
    }
  }

  private save(): void {
    try {
      if (this.points.length) this.storage?.setItem(this.key, JSON.stringify(this.points));
      else this.storage?.removeItem(this.key);
    } catch {
      // Storage full or disabled: the points stay in memory for this page.
    }
  }

  /** Points waiting to be sent. */
  get pending(): number {
    return this.points.length;
  }

  /** A copy of what is waiting, oldest first. */
  all(): PositionPoint[] {
    return [...this.points];
  }

  /**
   * Buffers a fix. Returns false when it is skipped: invalid, the same instant as one buffered,
   * or within `minIntervalMs` and `minDistanceMetres` of the newest buffered point.
   */
  add(point: PositionPoint): boolean {
    if (!isPoint(point)) return false;
    const at = Date.parse(point.recordedAt);
    const last = this.points[this.points.length - 1];
    if (last) {
      const lastAt = Date.parse(last.recordedAt);
      if (this.points.some((p) => p.recordedAt === point.recordedAt)) return false;
      if (at > lastAt && at - lastAt < this.minIntervalMs && metresBetween(last, point) < this.minDistanceMetres) return false;
    }
    this.points.push(point);
    if (this.points.length > this.maxPoints) {
      const excess = this.points.length - this.maxPoints;
      this.points.splice(0, excess);
      this.dropped += excess;
    }
    this.save();
    return true;
  }

  /** The next batch to send (oldest first), without removing it. */
  nextBatch(): PositionPoint[] {
    return this.points.slice(0, this.maxBatch);
  }

  /** Removes the points of a batch that was answered (stored, duplicate or rejected: all settled). */
  settle(batch: readonly PositionPoint[]): void {
    const done = new Set(batch.map(identity));
    this.points = this.points.filter((p) => !done.has(identity(p)));
    this.save();
  }

  clear(): void {
    this.points = [];
    this.save();
  }
}

/** A failed send: `retry` keeps the batch for later (network, server trouble, session ended). */
export interface SendFailure {
  retry: boolean;
  code: string;
}

export interface FlushOutcome {
  /** Batches the server answered. */
  batches: number;
  accepted: number;
  duplicates: number;
  rejected: RejectedPoint[];
  /** Set when sending stopped on a failure (the rest waits for the next flush when `retry`). */
  failure: SendFailure | null;
}

/**
 * Whether a failed request is worth repeating with the same points: no answer (network), the
 * server busy or failing, or the session ended (sent again after signing in). A 4xx about the
 * request itself would fail the same way again.
 */
export function isRetryableStatus(status: number): boolean {
  return status === 0 || status === 401 || status === 408 || status === 429 || status >= 500;
}

/**
 * Sends everything buffered, batch by batch, until the buffer is empty or a send fails. Each
 * answered batch is removed; a batch refused as a whole for a reason that would not change (a
 * 4xx) is removed too and reported as rejected, so that it cannot block the points behind it.
 */
export async function flushPositions(
  buffer: PositionBuffer,
  send: (batch: PositionPoint[]) => Promise<PositionBatchResult>,
  classify: (err: unknown) => SendFailure,
): Promise<FlushOutcome> {
  const outcome: FlushOutcome = { batches: 0, accepted: 0, duplicates: 0, rejected: [], failure: null };
  for (let batch = buffer.nextBatch(); batch.length; batch = buffer.nextBatch()) {
    let result: PositionBatchResult;
    try {
      result = await send(batch);
    } catch (err) {
      const failure = classify(err);
      outcome.failure = failure;
      if (failure.retry) return outcome;
      outcome.rejected.push(...batch.map((point) => ({ point, code: failure.code })));
      buffer.settle(batch);
      continue;
    }
    outcome.batches += 1;
    outcome.accepted += result.accepted;
    outcome.duplicates += result.duplicates;
    for (const r of result.rejected) {
      const point = batch[r.index];
      if (point) outcome.rejected.push({ point, code: r.code, detail: r.detail });
    }
    buffer.settle(batch);
  }
  return outcome;
}
