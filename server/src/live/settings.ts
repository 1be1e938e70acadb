/** Tunables of the live stream (`/api/live`), read from the environment with defaults. */
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

export class LiveSettingsError extends Error {}

const ENV: Record<keyof LiveSettings, [name: string, min: number, max: number]> = {
  heartbeatMs: ['LIVE_HEARTBEAT_MS', 50, 3_600_000],
  pollMs: ['LIVE_POLL_MS', 50, 3_600_000],
  retryMs: ['LIVE_RETRY_MS', 100, 600_000],
  maxStreamsPerUser: ['LIVE_MAX_STREAMS_PER_USER', 1, 100_000],
  maxStreams: ['LIVE_MAX_STREAMS', 1, 1_000_000],
  maxReplay: ['LIVE_MAX_REPLAY', 1, 1_000_000],
  retentionDays: ['LIVE_RETENTION_DAYS', 1, 365],
  retentionIntervalMs: ['LIVE_RETENTION_INTERVAL_MS', 1000, 86_400_000],
  maxBufferedBytes: ['LIVE_MAX_BUFFERED_BYTES', 1024, 1024 * 1024 * 1024],
};

/** Settings from LIVE_* environment variables (integers within bounds; a bad value fails start-up). */
export function liveSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): LiveSettings {
  const settings = { ...DEFAULT_LIVE_SETTINGS };
  for (const [key, [name, min, max]] of Object.entries(ENV) as [keyof LiveSettings, [string, number, number]][]) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new LiveSettingsError(`${name} must be an integer between ${min} and ${max}, got "${raw}"`);
    }
    settings[key] = value;
  }
  return settings;
}
