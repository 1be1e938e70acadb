/** Tunables of the live stream (`/api/live`); the LIVE_* variables of config.ts's EnvSchema set them. */
export interface LiveSettings {
  /** A comment line is written to every stream this often (ms); the session is re-checked at the same time. */
  heartbeatMs: number;
  /** Backstop: the hub looks for new events this often even without a NOTIFY or wake (ms). */
  pollMs: number;
  /** `retry:` hint sent to EventSource clients (ms). */
  retryMs: number;
  /** Concurrent streams of one user in one API process (beyond: 429). */
  maxStreamsPerUser: number;
  /** Concurrent streams of one API process (beyond: 429). */
  maxStreams: number;
  /** A reconnect that would replay more in-scope events than this gets `event: reset` instead. */
  maxReplay: number;
  /** Events are kept this many days (`Last-Event-ID` older than that: `event: reset`). */
  retentionDays: number;
  /** How often one process prunes old events (ms). */
  retentionIntervalMs: number;
  /** A client whose socket holds more unsent bytes than this is disconnected (it reconnects and replays). */
  maxBufferedBytes: number;
}

export const DEFAULT_LIVE_SETTINGS: LiveSettings = {
  heartbeatMs: 15_000,
  pollMs: 5_000,
  retryMs: 3_000,
  maxStreamsPerUser: 10,
  maxStreams: 5_000,
  maxReplay: 10_000,
  retentionDays: 7,
  retentionIntervalMs: 3_600_000,
  maxBufferedBytes: 1024 * 1024,
};
