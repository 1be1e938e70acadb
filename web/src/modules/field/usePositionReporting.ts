import { onBeforeUnmount, readonly, ref, shallowRef } from 'vue';
import { ApiProblem } from '@/api/http';
import { sendMyPositions } from '@/api/responders';
import {
  flushPositions, isRetryableStatus, pointFromFix, PositionBuffer,
  type KeyValueStorage, type RejectedPoint, type SendFailure,
} from './positionBuffer';

/** How often buffered fixes are sent while on duty. */
export const SEND_INTERVAL_MS = 15_000;

export type GeoPermission = 'unknown' | 'granted' | 'denied' | 'unavailable';

function storage(): KeyValueStorage | null {
  try {
    return window.localStorage;
  } catch {
    return null;
  }
}

export function classifySendError(err: unknown): SendFailure {
  if (err instanceof ApiProblem) return { retry: isRetryableStatus(err.status), code: err.code };
  return { retry: true, code: 'NETWORK_ERROR' };
}

/**
 * Sends the device's position while the worker is on duty: `navigator.geolocation.watchPosition`
 * fills a buffer kept in localStorage (per responder), a batch goes to the API every
 * {@link SEND_INTERVAL_MS} (and at once for the first fix, and when the network comes back);
 * unsent points stay until the server has answered for them.
 */
export function usePositionReporting(responderId: string) {
  const buffer = new PositionBuffer(storage(), `wangge.positions.${responderId}`);
  const active = ref(false);
  const permission = ref<GeoPermission>('unknown');
  const pending = ref(buffer.pending);
  const sending = ref(false);
  const lastFixAt = ref<string | null>(null);
  const lastSentAt = ref<string | null>(null);
  const lastAccepted = ref(0);
  const rejected = shallowRef<RejectedPoint[]>([]);
  const lastError = ref<string | null>(null);
  /** Fixes taken into the buffer since the page opened. */
  const buffered = ref(0);
  let watchId: number | null = null;
  let timer: number | undefined;
  let flushing: Promise<void> | null = null;
  let sentSinceStart = false;

  async function runFlush(): Promise<void> {
    if (!buffer.pending) return;
    sending.value = true;
    try {
      const out = await flushPositions(buffer, (batch) => sendMyPositions(batch), classifySendError);
      if (out.batches > 0) {
        lastSentAt.value = new Date().toISOString();
        lastAccepted.value = out.accepted;
        sentSinceStart = true;
      }
      if (out.rejected.length) rejected.value = [...out.rejected, ...rejected.value].slice(0, 20);
      lastError.value = out.failure?.code ?? null;
    } finally {
      pending.value = buffer.pending;
      sending.value = false;
    }
  }

  /** Sends what is buffered now (one flush at a time; a call during one waits for it). */
  function flush(): Promise<void> {
    flushing ??= runFlush().finally(() => {
      flushing = null;
    });
    return flushing;
  }

  function onFix(position: GeolocationPosition) {
    permission.value = 'granted';
    const point = pointFromFix({
      longitude: position.coords.longitude,
      latitude: position.coords.latitude,
      accuracy: position.coords.accuracy,
      timestamp: position.timestamp,
    });
    if (!point) return;
    lastFixAt.value = point.recordedAt;
    if (buffer.add(point)) {
      pending.value = buffer.pending;
      buffered.value += 1;
    }
    // The first fix of a shift goes at once: the command centre sees the worker come on duty.
    if (!sentSinceStart) void flush();
  }

  function onGeoError(err: GeolocationPositionError) {
    if (err.code === err.PERMISSION_DENIED) permission.value = 'denied';
    else if (permission.value !== 'granted') permission.value = 'unavailable';
  }

  const onOnline = () => void flush();

  function start(): void {
    if (active.value) return;
    active.value = true;
    sentSinceStart = false;
    if (!('geolocation' in navigator)) {
      permission.value = 'unavailable';
    } else {
      watchId = navigator.geolocation.watchPosition(onFix, onGeoError, { enableHighAccuracy: true, maximumAge: 10_000, timeout: 60_000 });
    }
    timer = window.setInterval(() => void flush(), SEND_INTERVAL_MS);
    window.addEventListener('online', onOnline);
    // Points left from an earlier page (offline, reload) go first.
    void flush();
  }

  function stop(): void {
    if (!active.value) return;
    active.value = false;
    if (watchId !== null) navigator.geolocation.clearWatch(watchId);
    watchId = null;
    window.clearInterval(timer);
    window.removeEventListener('online', onOnline);
    // What was collected before going off duty is still sent.
    void flush();
  }

  onBeforeUnmount(() => {
    if (watchId !== null) navigator.geolocation.clearWatch(watchId);
    window.clearInterval(timer);
    window.removeEventListener('online', onOnline);
  });

  return {
    active: readonly(active), permission: readonly(permission), pending: readonly(pending), sending: readonly(sending),
    lastFixAt: readonly(lastFixAt), lastSentAt: readonly(lastSentAt), lastAccepted: readonly(lastAccepted),
    rejected, lastError: readonly(lastError), buffered: readonly(buffered),
    start, stop, flush,
  };
}
