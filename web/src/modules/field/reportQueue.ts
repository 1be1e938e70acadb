/**
 * The offline queue of incident reports. A report is queued with the Idempotency-Key generated
 * once for its form fill, then sent; when the network fails it stays (in localStorage) and is sent
 * again later with the same key, so the server answers the first result instead of creating a
 * second incident. Photos follow the incident once it exists. Pure logic: storage and transport
 * are passed in (unit-tested without a browser).
 */
import type { IncidentPriority } from '@/api/meta';
import type { KeyValueStorage } from './positionBuffer';

/** The body of `POST /api/incidents`. */
export interface ReportBody {
  category: string;
  priority: IncidentPriority;
  description: string;
  location: { type: 'Point'; coordinates: [number, number] };
  address?: string;
  reporterContact?: string;
}

/** A photo waiting to be uploaded: its bytes as base64 (so it survives in localStorage). */
export interface QueuedPhoto {
  contentType: string;
  base64: string;
  name?: string;
}

export type QueuedState =
  /** Not yet answered by the server (maybe sent, answer lost: the key makes a resend safe). */
  | 'pending'
  /** The incident exists; photos are still to be uploaded. */
  | 'photos'
  /** Refused for good (e.g. OUTSIDE_ALL_GRIDS): kept so the user sees why, until dismissed. */
  | 'failed';

export interface QueuedReport {
  /** The Idempotency-Key of this form fill. */
  key: string;
  body: ReportBody;
  photos: QueuedPhoto[];
  /** Photos uploaded so far (the first `photosSent` of `photos`). */
  photosSent: number;
  /** Photos that could not be kept on the device (storage full): they were not queued. */
  photosDropped: number;
  state: QueuedState;
  incidentId: string | null;
  queuedAt: string;
  attempts: number;
  /** The problem code of the last failure. */
  lastError: string | null;
}

/** How a failed request is treated: `retry` keeps the report for a later attempt. */
export interface QueueFailure {
  retry: boolean;
  code: string;
  /** The error itself (the server's problem, for its detail). */
  error?: unknown;
}

export interface ReportTransport<R> {
  create(body: ReportBody, idempotencyKey: string): Promise<R>;
  uploadPhoto(incidentId: string, photo: QueuedPhoto): Promise<unknown>;
  /** The new incident's id from the create answer. */
  idOf(result: R): string;
  classify(err: unknown): QueueFailure;
}

export interface DrainEvents<R> {
  /** The incident was created (or the server answered the first result again). */
  created?(entry: QueuedReport, result: R): void;
  /** Everything of this report is on the server; it has left the queue. */
  completed?(entry: QueuedReport): void;
  /** The server refused the report for good. */
  failed?(entry: QueuedReport, failure: QueueFailure): void;
}

function isQueued(value: unknown): value is QueuedReport {
  if (typeof value !== 'object' || value === null) return false;
  const e = value as Record<string, unknown>;
  return typeof e.key === 'string' && typeof e.body === 'object' && e.body !== null && Array.isArray(e.photos)
    && typeof e.photosSent === 'number' && (e.state === 'pending' || e.state === 'photos' || e.state === 'failed');
}

export class ReportQueue {
  private entries: QueuedReport[];
  /** Reports kept only in memory because storage refused them (full or disabled). */
  memoryOnly = false;

  constructor(private readonly storage: KeyValueStorage | null, private readonly storageKey: string) {
    this.entries = this.load();
  }

  private load(): QueuedReport[] {
    try {
      const raw = this.storage?.getItem(this.storageKey);
      const parsed: unknown = raw ? JSON.parse(raw) : [];
      return Array.isArray(parsed) ? parsed.filter(isQueued) : [];
    } catch {
      return [];
    }
  }

  /** Writes the queue; returns false when storage refused it (the queue then lives in memory). */
  private save(): boolean {
    try {
      if (this.entries.length) this.storage?.setItem(this.storageKey, JSON.stringify(this.entries));
      else this.storage?.removeItem(this.storageKey);
      this.memoryOnly = this.storage === null;
      return this.storage !== null;
    } catch {
      this.memoryOnly = true;
      return false;
    }
  }

  /** Re-reads storage (another tab may have sent or queued reports). */
  reload(): void {
    this.entries = this.load();
  }

  list(): QueuedReport[] {
    return this.entries.map((e) => ({ ...e }));
  }

  get(key: string): QueuedReport | undefined {
    const e = this.entries.find((x) => x.key === key);
    return e ? { ...e } : undefined;
  }

  /**
   * Queues a report (a key already queued is left as it is: a second tap of "submit" is the same
   * report). When storage cannot hold the photos, the report is kept without them and
   * `photosDropped` says how many were lost.
   */
  add(key: string, body: ReportBody, photos: QueuedPhoto[], now = new Date()): QueuedReport {
    const existing = this.get(key);
    if (existing) return existing;
    const entry: QueuedReport = {
      key, body, photos, photosSent: 0, photosDropped: 0, state: 'pending', incidentId: null,
      queuedAt: now.toISOString(), attempts: 0, lastError: null,
    };
    this.entries.push(entry);
    if (!this.save() && this.storage && photos.length) {
      entry.photos = [];
      entry.photosDropped = photos.length;
      if (!this.save()) {
        // Not even the text fits: keep the photos too, in memory for this page.
        entry.photos = photos;
        entry.photosDropped = 0;
      }
    }
    return { ...entry };
  }

  update(key: string, patch: Partial<QueuedReport>): void {
    const e = this.entries.find((x) => x.key === key);
    if (!e) return;
    Object.assign(e, patch);
    this.save();
  }

  remove(key: string): void {
    this.entries = this.entries.filter((x) => x.key !== key);
    this.save();
  }

  /** Reports still to send (not the failed ones). */
  get pending(): number {
    return this.entries.filter((e) => e.state !== 'failed').length;
  }
}

/**
 * Sends what is queued, oldest first: creates each incident (with its key), then uploads its
 * photos. Stops at the first failure worth retrying (the network is down: the rest would fail
 * too); a refusal for good marks that report `failed` and goes on. `only` limits it to one key.
 */
export async function drainReports<R>(
  queue: ReportQueue,
  transport: ReportTransport<R>,
  events: DrainEvents<R> = {},
  only?: string,
): Promise<{ stoppedBy: QueueFailure | null }> {
  for (const entry of queue.list()) {
    if (entry.state === 'failed' || (only !== undefined && entry.key !== only)) continue;
    let current = entry;
    if (current.state === 'pending') {
      try {
        const result = await transport.create(current.body, current.key);
        const incidentId = transport.idOf(result);
        queue.update(current.key, { state: 'photos', incidentId, attempts: current.attempts + 1, lastError: null });
        current = queue.get(current.key)!;
        events.created?.(current, result);
      } catch (err) {
        const failure = transport.classify(err);
        queue.update(current.key, { attempts: current.attempts + 1, lastError: failure.code, ...(failure.retry ? {} : { state: 'failed' as const }) });
        if (failure.retry) return { stoppedBy: failure };
        events.failed?.(queue.get(current.key)!, failure);
        continue;
      }
    }
    while (current.photosSent < current.photos.length) {
      try {
        await transport.uploadPhoto(current.incidentId!, current.photos[current.photosSent]);
        queue.update(current.key, { photosSent: current.photosSent + 1, lastError: null });
      } catch (err) {
        const failure = transport.classify(err);
        if (failure.retry) {
          queue.update(current.key, { lastError: failure.code });
          return { stoppedBy: failure };
        }
        // This photo is refused (type, size, too many): skip it, keep the others.
        queue.update(current.key, { photosSent: current.photosSent + 1, photosDropped: current.photosDropped + 1, lastError: failure.code });
      }
      current = queue.get(current.key)!;
    }
    queue.remove(current.key);
    events.completed?.(current);
  }
  return { stoppedBy: null };
}
