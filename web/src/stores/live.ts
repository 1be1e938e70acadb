import { defineStore } from 'pinia';
import { getCurrentScope, onScopeDispose, ref, watch } from 'vue';
import { useSessionStore } from './session';
import {
  LiveConnection, type LiveEvent, type LiveEventType, type LiveState,
} from './liveConnection';

export type {
  IncidentCreatedData, IncidentUpdatedData, LiveEvent, LiveEventMap, LiveEventType, LiveState,
  ResponderMovedData, ResponderStatusData,
} from './liveConnection';

/**
 * The live stream (`GET /api/live`, Server-Sent Events): one EventSource per tab, opened while at
 * least one view uses it (see {@link useLiveEvents}) and closed on sign-out. The browser resumes a
 * dropped stream with `Last-Event-ID`; when it gives up, a new connection resumes with
 * `?lastEventId=`; an event already delivered is never delivered twice. A new stream opens with the
 * incident events of the last two hours in the user's scope (at most 50, marked `recent`): the
 * command centre's feed starts with what happened before the page opened. `state` drives the small
 * connection indicator; `reset` tells views to reload their lists (the server could not replay).
 */
/** A new stream's opening history: at most this many incident events … */
const RECENT_EVENTS = 50;
/** … of the last two hours. */
const RECENT_SECONDS = 2 * 3600;

export const useLiveStore = defineStore('live', () => {
  const state = ref<LiveState>('idle');
  const lastEventId = ref<string | null>(null);
  /** Bumped on every `reset` and on every reconnection: views that keep lists reload them. */
  const resyncCount = ref(0);
  let users = 0;

  const connection = new LiveConnection({
    url: `/api/live?recent=${RECENT_EVENTS}&recentSeconds=${RECENT_SECONDS}`,
    create: (url) => new EventSource(url, { withCredentials: true }),
    setTimer: (fn, ms) => window.setTimeout(fn, ms),
    clearTimer: (h) => window.clearTimeout(h as number),
    onState: (s) => {
      state.value = s;
    },
    onOpen: (reconnected) => {
      if (reconnected) resyncCount.value += 1;
    },
  });
  connection.onReset(() => {
    resyncCount.value += 1;
  });

  /** Keeps the stream open until the returned release is called (reference counted). */
  function acquire(): () => void {
    users += 1;
    connection.start();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      users -= 1;
      if (users <= 0) {
        users = 0;
        connection.stop();
      }
    };
  }

  /** Subscribes to one event type; returns the unsubscribe function. */
  function on<T extends LiveEventType>(type: T, handler: (event: LiveEvent<T>) => void): () => void {
    return connection.on(type, (event) => {
      lastEventId.value = event.id;
      handler(event);
    });
  }

  /** Subscribes to `reset`; returns the unsubscribe function. */
  function onReset(handler: () => void): () => void {
    return connection.onReset(handler);
  }

  // A signed-out tab holds no stream; the next user starts from their own scope.
  const session = useSessionStore();
  watch(
    () => session.user?.id ?? null,
    (id, before) => {
      if (id === before) return;
      connection.stop();
      connection.lastEventId = null;
      lastEventId.value = null;
      if (id && users > 0) connection.start();
    },
  );

  return { state, lastEventId, resyncCount, acquire, on, onReset };
});

export type LiveHandlers = { [T in LiveEventType]?: (event: LiveEvent<T>) => void } & { reset?: () => void };

/**
 * In a component's setup (or any effect scope): keeps the live stream open and calls the handlers
 * while the scope lives. Returns the store (for `state`).
 */
export function useLiveEvents(handlers: LiveHandlers): ReturnType<typeof useLiveStore> {
  const live = useLiveStore();
  const offs: (() => void)[] = [];
  for (const [type, handler] of Object.entries(handlers)) {
    if (!handler) continue;
    if (type === 'reset') offs.push(live.onReset(handler as () => void));
    else offs.push(live.on(type as LiveEventType, handler as (event: LiveEvent) => void));
  }
  offs.push(live.acquire());
  if (getCurrentScope()) onScopeDispose(() => offs.forEach((off) => off()));
  return live;
}
