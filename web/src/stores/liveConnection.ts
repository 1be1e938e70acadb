/**
 * The live stream's connection logic, free of Vue and of the browser so that it can be tested
 * with a fake EventSource: one EventSource to `/api/live`, events delivered once each in id
 * order (a replay after a reconnect may repeat ids the tab has already seen: those are dropped),
 * a reconnect with the last seen id when the browser gives up on its own, `reset` passed on.
 */

/** What every event's data carries besides its own fields. */
export interface LiveEventMeta {
  /** When the event was stored, ISO 8601. */
  at?: string;
  /** Part of a new stream's opening history (`?recent=`), not news. */
  recent?: boolean;
}

export interface IncidentCreatedData extends LiveEventMeta {
  incidentId: string;
  status: string;
  priority: string;
  category: string;
  gridCode: string;
  lon: number;
  lat: number;
  reportedAt: string;
}

export interface IncidentUpdatedData extends LiveEventMeta {
  incidentId: string;
  status: string;
  priority: string;
  category?: string;
  gridCode: string;
  lon: number;
  lat: number;
  action?: string;
  changes: Record<string, { from: unknown; to: unknown }>;
}

export interface ResponderMovedData {
  responderId: string;
  lon: number;
  lat: number;
  recordedAt: string;
  accuracyMetres: number | null;
}

export interface ResponderStatusData {
  responderId: string;
  status: string;
  from: string | null;
}

/** A grid plan took effect (issue 13): the layers drawn from grids load the new generation. */
export interface GridsChangedData {
  communityCode: string;
  version: number;
  generation: number;
}

export interface LiveEventMap {
  'grids.changed': GridsChangedData;
  'incident.created': IncidentCreatedData;
  'incident.updated': IncidentUpdatedData;
  'responder.moved': ResponderMovedData;
  'responder.status': ResponderStatusData;
}
export type LiveEventType = keyof LiveEventMap;
export const LIVE_EVENT_TYPES: readonly LiveEventType[] = ['incident.created', 'incident.updated', 'responder.moved', 'responder.status', 'grids.changed'];

export interface LiveEvent<T extends LiveEventType = LiveEventType> {
  id: string;
  type: T;
  data: LiveEventMap[T];
}

/**
 * idle: not connected (nobody listens); connecting: the first connection is being opened;
 * open: events flow; reconnecting: the connection dropped and is being re-established.
 */
export type LiveState = 'idle' | 'connecting' | 'open' | 'reconnecting';

/** The part of the browser's EventSource used here. */
export interface EventSourceLike {
  readonly readyState: number;
  onopen: ((ev: Event) => unknown) | null;
  onerror: ((ev: Event) => unknown) | null;
  addEventListener(type: string, listener: (ev: MessageEvent) => void): void;
  close(): void;
}

export const ES_CONNECTING = 0;
export const ES_OPEN = 1;
export const ES_CLOSED = 2;

export interface LiveConnectionOptions {
  /** Path or URL of the stream, e.g. '/api/live'. */
  url: string;
  create(url: string): EventSourceLike;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
  onState?(state: LiveState): void;
  /** Called when the connection (re)opens: after a drop, lists may want a refresh. */
  onOpen?(reconnected: boolean): void;
  /** Reconnect delays when the browser has given up: first, doubled each time, at most. */
  minDelayMs?: number;
  maxDelayMs?: number;
}

type Handler<T extends LiveEventType> = (event: LiveEvent<T>) => void;

/** Whether the decimal id `a` is greater than `b` (ids are bigint sequence values as strings). */
export function isNewerId(a: string, b: string | null): boolean {
  if (b === null) return true;
  const x = a.replace(/^0+(?=\d)/, '');
  const y = b.replace(/^0+(?=\d)/, '');
  if (x.length !== y.length) return x.length > y.length;
  return x > y;
}

/** The stream URL, carrying the last seen id for a connection the browser does not resume itself. */
export function resumeUrl(url: string, lastEventId: string | null): string {
  if (lastEventId === null) return url;
  const sep = url.includes('?') ? '&' : '?';
  return `${url}${sep}lastEventId=${encodeURIComponent(lastEventId)}`;
}

export class LiveConnection {
  private source: EventSourceLike | null = null;
  private timer: unknown = null;
  private delay: number;
  private everOpened = false;
  private handlers = new Map<string, Set<(event: LiveEvent) => void>>();
  private resetHandlers = new Set<() => void>();
  private currentState: LiveState = 'idle';
  /** The id of the last event delivered; sent back on reconnection. */
  lastEventId: string | null = null;

  constructor(private readonly opts: LiveConnectionOptions) {
    this.delay = opts.minDelayMs ?? 1000;
  }

  get state(): LiveState {
    return this.currentState;
  }

  get running(): boolean {
    return this.source !== null || this.timer !== null;
  }

  /** Opens the stream (no-op when already open or reconnecting). */
  start(): void {
    if (this.running) return;
    this.setState(this.everOpened ? 'reconnecting' : 'connecting');
    this.open();
  }

  /** Closes the stream; `start()` later resumes after the last delivered event. */
  stop(): void {
    if (this.timer !== null) this.opts.clearTimer(this.timer);
    this.timer = null;
    this.source?.close();
    this.source = null;
    this.setState('idle');
  }

  /** Subscribes to one event type; returns the unsubscribe function. */
  on<T extends LiveEventType>(type: T, handler: Handler<T>): () => void {
    let set = this.handlers.get(type);
    if (!set) this.handlers.set(type, (set = new Set()));
    const h = handler as unknown as (event: LiveEvent) => void;
    set.add(h);
    return () => set.delete(h);
  }

  /** Subscribes to `reset` (the server could not replay what was missed: reload lists). */
  onReset(handler: () => void): () => void {
    this.resetHandlers.add(handler);
    return () => this.resetHandlers.delete(handler);
  }

  private setState(state: LiveState): void {
    if (state === this.currentState) return;
    this.currentState = state;
    this.opts.onState?.(state);
  }

  private open(): void {
    const source = this.opts.create(resumeUrl(this.opts.url, this.lastEventId));
    this.source = source;
    source.onopen = () => {
      if (this.source !== source) return;
      const reconnected = this.everOpened;
      this.everOpened = true;
      this.delay = this.opts.minDelayMs ?? 1000;
      this.setState('open');
      this.opts.onOpen?.(reconnected);
    };
    source.onerror = () => {
      if (this.source !== source) return;
      if (source.readyState === ES_CLOSED) {
        // The browser gave up (an HTTP error, a wrong answer): open a new one after a pause,
        // resuming after the last delivered event.
        source.close();
        this.source = null;
        this.setState('reconnecting');
        this.schedule();
      } else {
        // The browser reconnects by itself and sends Last-Event-ID.
        this.setState('reconnecting');
      }
    };
    for (const type of LIVE_EVENT_TYPES) {
      source.addEventListener(type, (ev) => {
        if (this.source === source) this.deliver(type, ev);
      });
    }
    source.addEventListener('reset', (ev) => {
      if (this.source !== source) return;
      if (ev.lastEventId) this.lastEventId = ev.lastEventId;
      for (const h of [...this.resetHandlers]) h();
    });
  }

  private schedule(): void {
    const wait = this.delay;
    this.delay = Math.min(this.delay * 2, this.opts.maxDelayMs ?? 30_000);
    this.timer = this.opts.setTimer(() => {
      this.timer = null;
      this.open();
    }, wait);
  }

  /** Delivers an event unless its id was already delivered (a replay overlapping what was seen). */
  private deliver(type: LiveEventType, ev: MessageEvent): void {
    const id = ev.lastEventId;
    if (id) {
      if (!isNewerId(id, this.lastEventId)) return;
      this.lastEventId = id;
    }
    let data: unknown;
    try {
      data = JSON.parse(String(ev.data));
    } catch {
      return;
    }
    const set = this.handlers.get(type);
    if (!set) return;
    const event = { id, type, data } as LiveEvent;
    for (const h of [...set]) {
      try {
        h(event);
      } catch (err) {
        console.error(err);
      }
    }
  }
}
