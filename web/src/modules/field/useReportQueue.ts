import { ref, shallowRef, type Ref } from 'vue';
import { ApiProblem } from '@/api/http';
import { createIncident, uploadPhoto, type IncidentFeature } from '@/api/incidents';
import { isRetryableStatus, type KeyValueStorage } from './positionBuffer';
import {
  drainReports, ReportQueue, type QueueFailure, type QueuedPhoto, type QueuedReport, type ReportBody, type ReportTransport,
} from './reportQueue';

/** How often a queue with reports in it tries again (besides the browser's `online` event). */
const RETRY_MS = 20_000;

function storage(): KeyValueStorage | null {
  try {
    return window.localStorage;
  } catch {
    return null;
  }
}

function base64ToBlob(photo: QueuedPhoto): Blob {
  const bin = atob(photo.base64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i += 1) bytes[i] = bin.charCodeAt(i);
  return new Blob([bytes], { type: photo.contentType });
}

export function classifyQueueError(err: unknown): QueueFailure {
  if (err instanceof ApiProblem) return { retry: isRetryableStatus(err.status), code: err.code, error: err };
  return { retry: true, code: 'NETWORK_ERROR', error: err };
}

/** A request that has not answered by then is treated as lost (and sent again later with its key). */
const REQUEST_TIMEOUT_MS = 30_000;

const transport: ReportTransport<IncidentFeature> = {
  create: (body, key) => createIncident(body, { idempotencyKey: key, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) }),
  uploadPhoto: (incidentId, photo) => uploadPhoto(incidentId, base64ToBlob(photo), AbortSignal.timeout(REQUEST_TIMEOUT_MS)),
  idOf: (feature) => feature.properties.id ?? feature.id,
  classify: classifyQueueError,
};

/** What became of one submission. */
export type SubmitOutcome =
  | { kind: 'created'; feature: IncidentFeature; photosPending: number; photosDropped: number }
  | { kind: 'queued'; entry: QueuedReport }
  | { kind: 'failed'; problem: ApiProblem };

interface QueueHandle {
  queue: ReportQueue;
  entries: Ref<QueuedReport[]>;
  draining: Ref<boolean>;
  /** Reports completed by a background drain (the view announces them). */
  sentInBackground: Ref<{ key: string; incidentId: string | null; description: string }[]>;
  drain(only?: string): Promise<void>;
  submit(key: string, body: ReportBody, photos: QueuedPhoto[]): Promise<SubmitOutcome>;
  discard(key: string): void;
}

const handles = new Map<string, QueueHandle>();
let timer: number | undefined;

function createHandle(userId: string): QueueHandle {
  const queue = new ReportQueue(storage(), `wangge.reportQueue.${userId}`);
  const entries = shallowRef(queue.list());
  const draining = ref(false);
  const sentInBackground = ref<{ key: string; incidentId: string | null; description: string }[]>([]);
  let running: Promise<void> | null = null;
  /** Listeners of submissions waiting for their own report's answer. */
  const createdListeners = new Map<string, (feature: IncidentFeature) => void>();
  const failedListeners = new Map<string, (failure: QueueFailure) => void>();

  const refresh = () => {
    entries.value = queue.list();
  };

  function drain(only?: string): Promise<void> {
    // One drain at a time: a submission waits for a background drain, then sends its own report.
    const run = async () => {
      if (running) await running.catch(() => {});
      draining.value = true;
      queue.reload();
      try {
        await drainReports(queue, transport, {
          created: (entry, feature) => createdListeners.get(entry.key)?.(feature),
          failed: (entry, failure) => failedListeners.get(entry.key)?.(failure),
          completed: (entry) => {
            if (!createdListeners.has(entry.key)) {
              sentInBackground.value = [...sentInBackground.value, { key: entry.key, incidentId: entry.incidentId, description: entry.body.description }];
            }
          },
        }, only);
      } finally {
        draining.value = false;
        refresh();
      }
    };
    const p = run();
    running = p;
    return p.finally(() => {
      if (running === p) running = null;
    });
  }

  async function submit(key: string, body: ReportBody, photos: QueuedPhoto[]): Promise<SubmitOutcome> {
    queue.add(key, body, photos);
    refresh();
    let created: IncidentFeature | null = null;
    let failure: QueueFailure | null = null;
    createdListeners.set(key, (f) => {
      created = f;
    });
    failedListeners.set(key, (f) => {
      failure = f;
    });
    try {
      await drain(key);
    } finally {
      createdListeners.delete(key);
      failedListeners.delete(key);
    }
    const left = queue.get(key);
    if (created) {
      const f = created as IncidentFeature;
      return { kind: 'created', feature: f, photosPending: left ? left.photos.length - left.photosSent : 0, photosDropped: left?.photosDropped ?? 0 };
    }
    if (failure || left?.state === 'failed') {
      // Refused for good: the form shows why and keeps the input; nothing stays queued.
      queue.remove(key);
      refresh();
      const f = failure as QueueFailure | null;
      const code = f?.code ?? left?.lastError ?? 'HTTP_ERROR';
      return { kind: 'failed', problem: f?.error instanceof ApiProblem ? f.error : new ApiProblem({ type: 'about:blank', title: code, status: 422, code }) };
    }
    return { kind: 'queued', entry: left ?? queue.add(key, body, photos) };
  }

  function discard(key: string): void {
    queue.remove(key);
    refresh();
  }

  return { queue, entries, draining, sentInBackground, drain, submit, discard };
}

/**
 * The signed-in user's queue of incident reports (one per user and tab, kept in localStorage):
 * `submit` queues and sends at once; what the network refused is sent again when the browser says
 * it is back online, on a timer while anything waits, and when a view using the queue mounts.
 */
export function useReportQueue(userId: string): QueueHandle {
  let handle = handles.get(userId);
  if (!handle) {
    handle = createHandle(userId);
    handles.set(userId, handle);
    const h = handle;
    window.addEventListener('online', () => void h.drain());
    if (timer === undefined) {
      timer = window.setInterval(() => {
        for (const x of handles.values()) if (x.queue.pending > 0 && !x.draining.value) void x.drain();
      }, RETRY_MS);
    }
  }
  return handle;
}
