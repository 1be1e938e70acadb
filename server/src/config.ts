import path from 'node:path';

/** Validated runtime configuration, read once from the environment. */
export interface Config {
  port: number;
  host: string;
  /** External PostgreSQL + PostGIS; when absent the embedded PGlite database is used. */
  databaseUrl?: string;
  /** Folder of the embedded database (and other local state). */
  dataDir: string;
  /** Seed the demo district when the database has no areas (always on for embedded). */
  seedDemo: boolean;
  /**
   * Keep the demo's generated responders (no account) online by moving them a few metres every
   * 30 s (server/src/demo/simulator.ts). On by default for the embedded demo only.
   */
  simulateDemo: boolean;
  /** Folder of the built SPA, served at /. */
  webDist: string;
  logLevel: string;
  /** Largest accepted request body, bytes. */
  bodyLimitBytes: number;
  /**
   * Behind a TLS-terminating proxy: trust X-Forwarded-For/-Proto from it, so client addresses (sign-in
   * throttling) and the https scheme (Secure cookies) are the real ones. Off by default.
   */
  trustProxy: boolean;
  /** Incidents, responders and dispatch (see CommandConfig). */
  command: CommandConfig;
}

/** Settings of the command centre: presence, routing, the responsibility ladder, photos. */
export interface CommandConfig {
  /** A responder is online when its last position is younger than this (s), stale up to offlineSeconds, then offline. */
  onlineSeconds: number;
  offlineSeconds: number;
  /** Travel speed per road class (km/h); classes not listed use `defaultKmh`. */
  speedsKmh: Record<string, number>;
  defaultKmh: number;
  /** Speed assumed along the straight line where the network does not connect (km/h), and from a point to its road. */
  offNetworkKmh: number;
  /** Extra seconds added to a stale responder's ETA (its position may be out of date). */
  stalePenaltySeconds: number;
  /** The ladder: an own-grid worker is preferred while at most this many seconds slower than the fastest. */
  ownGridExtraSeconds: number;
  /** A neighbouring grid's worker is preferred over others while at most this many seconds slower. */
  neighbourExtraSeconds: number;
  /** Largest accepted photo (bytes) and folder for photos (unset: stored in the database). */
  photoMaxBytes: number;
  photoDir?: string;
  /** Build the road graph in the background once the server is ready (so the first dispatch does not wait). */
  warmGraphOnStart: boolean;
}

export const DEFAULT_COMMAND_CONFIG: CommandConfig = {
  onlineSeconds: 120,
  offlineSeconds: 900,
  speedsKmh: {
    motorway: 60, trunk: 45, primary: 35, secondary: 30, tertiary: 25, unclassified: 20, residential: 20,
    living_street: 10, service: 15, pedestrian: 5, footway: 5, path: 5, steps: 3, cycleway: 15, track: 10,
  },
  defaultKmh: 20,
  offNetworkKmh: 5,
  stalePenaltySeconds: 180,
  ownGridExtraSeconds: 300,
  neighbourExtraSeconds: 120,
  photoMaxBytes: 5 * 1024 * 1024,
  warmGraphOnStart: false,
};

export class ConfigError extends Error {}

function int(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be an integer between ${min} and ${max}, got "${raw}"`);
  }
  return value;
}

function bool(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (/^(1|true|yes)$/i.test(raw)) return true;
  if (/^(0|false|no)$/i.test(raw)) return false;
  throw new ConfigError(`${name} must be true or false, got "${raw}"`);
}

const repoRoot = path.resolve(import.meta.dirname, '..', '..');

/** Reads and validates the configuration; throws ConfigError with a clear message. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const databaseUrl = env.DATABASE_URL || undefined;
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new ConfigError('DATABASE_URL must start with postgres:// or postgresql://');
  }
  return {
    port: int(env, 'PORT', 3000, 0, 65535),
    host: env.HOST || '0.0.0.0',
    databaseUrl,
    dataDir: path.resolve(env.DATA_DIR || path.join(repoRoot, '.data')),
    seedDemo: bool(env, 'SEED_DEMO', !databaseUrl),
    simulateDemo: bool(env, 'DEMO_SIMULATE', !databaseUrl),
    webDist: path.resolve(env.WEB_DIST || path.join(repoRoot, 'web', 'dist')),
    logLevel: env.LOG_LEVEL || 'info',
    bodyLimitBytes: int(env, 'BODY_LIMIT_BYTES', 2 * 1024 * 1024, 1024, 100 * 1024 * 1024),
    trustProxy: bool(env, 'TRUST_PROXY', false),
    command: {
      ...DEFAULT_COMMAND_CONFIG,
      onlineSeconds: int(env, 'RESPONDER_ONLINE_SECONDS', DEFAULT_COMMAND_CONFIG.onlineSeconds, 10, 86400),
      offlineSeconds: int(env, 'RESPONDER_OFFLINE_SECONDS', DEFAULT_COMMAND_CONFIG.offlineSeconds, 20, 7 * 86400),
      ownGridExtraSeconds: int(env, 'DISPATCH_OWN_GRID_EXTRA_SECONDS', DEFAULT_COMMAND_CONFIG.ownGridExtraSeconds, 0, 7200),
      neighbourExtraSeconds: int(env, 'DISPATCH_NEIGHBOUR_EXTRA_SECONDS', DEFAULT_COMMAND_CONFIG.neighbourExtraSeconds, 0, 7200),
      stalePenaltySeconds: int(env, 'DISPATCH_STALE_PENALTY_SECONDS', DEFAULT_COMMAND_CONFIG.stalePenaltySeconds, 0, 7200),
      photoMaxBytes: int(env, 'PHOTO_MAX_BYTES', DEFAULT_COMMAND_CONFIG.photoMaxBytes, 1024, 20 * 1024 * 1024),
      photoDir: env.PHOTO_DIR ? path.resolve(env.PHOTO_DIR) : undefined,
      warmGraphOnStart: bool(env, 'WARM_ROUTING_GRAPH', true),
    },
  };
}

export { repoRoot };
