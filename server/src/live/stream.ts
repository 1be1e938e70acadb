import type { ServerResponse } from 'node:http';
import { eventVisible, type Viewer } from '../auth/scope.js';
import type { StoredLiveEvent } from './live.repository.js';
import type { LiveSettings } from './settings.js';

/**
 * Who holds a stream: the viewer whose events it carries, fixed for the stream's life (a change of
 * role, area, responder or department ends it; the reconnect gets the new scope).
 */
export interface StreamOwner extends Viewer {
  sessionId: string;
  role: string;
}

/** What a stream needs of its hub. */
export interface StreamHost {
  readonly settings: LiveSettings;
  remove(stream: LiveStream): void;
}

/**
 * The SSE frame of one event: `id`, `event`, `data` (the event's data plus type, entityId, at).
 * The audience and scope code stay on the server.
 */
export function eventFrame(ev: StoredLiveEvent, recent = false): string {
  const data = JSON.stringify({ ...ev.data, type: ev.type, entityId: ev.entityId, at: ev.at, ...(recent && { recent: true }) });
  return `id: ${ev.id}\nevent: ${ev.type}\ndata: ${data}\n\n`;
}

/**
 * One client's stream. It starts buffering (so nothing committed while its replay is read can be
 * missed), then `go()` writes the replay and everything buffered after it; from then on events are
 * written as the hub offers them — those the owner may see (auth/scope.ts eventVisible). Ids only
 * increase, so `lastSentId` removes duplicates.
 */
export class LiveStream {
  lastSentId = 0;
  closed = false;
  private pending: StoredLiveEvent[] | null = [];

  constructor(
    readonly owner: StreamOwner,
    readonly res: ServerResponse,
    private readonly host: StreamHost,
    /** The hub's position when the stream was registered: every later event will be offered to it. */
    readonly position: number,
  ) {}

  offer(ev: StoredLiveEvent, frame: string): void {
    if (this.closed) return;
    if (this.pending) {
      this.pending.push(ev);
      // A replay that takes so long that this much arrives meanwhile: let the client come back.
      if (this.pending.length > this.host.settings.maxReplay) this.close();
      return;
    }
    this.deliver(ev, frame);
  }

  private deliver(ev: StoredLiveEvent, frame: string): void {
    if (ev.id <= this.lastSentId) return;
    this.lastSentId = ev.id;
    if (eventVisible(this.owner, ev)) this.write(frame);
  }

  /** Ends buffering: writes `head` (replay, reset or position), then the buffered events after `lastId`. */
  go(head: string, lastId: number): void {
    this.lastSentId = lastId;
    this.write(head);
    const pending = this.pending ?? [];
    this.pending = null;
    for (const ev of pending) this.deliver(ev, eventFrame(ev));
  }

  get started(): boolean {
    return this.pending === null;
  }

  write(chunk: string): void {
    if (this.closed) return;
    this.res.write(chunk);
    // A client that does not read: drop it rather than buffer without bound; it reconnects and replays.
    if (this.res.writableLength > this.host.settings.maxBufferedBytes) this.close();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.host.remove(this);
    this.res.end();
  }
}
