import path from 'node:path';
import { Type, type Static, type TSchema } from 'typebox';
import Value from 'typebox/value';
import { DEFAULT_LIVE_SETTINGS, type LiveSettings } from './live/settings.js';
import { DEFAULT_LOGIN_POLICY, type LoginPolicy } from './auth/login-policy.js';

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
   * Keep the demo alive (server/src/demo/simulator.ts): the generated responders (no account) move
   * a few metres every 30 s, so they stay online; reports come in and incidents are dispatched,
   * handled and closed at a realistic pace through the services. On by default for the embedded demo only.
   */
  simulateDemo: boolean;
  /** Folder of the built SPA, served at /. */
  webDist: string;
  logLevel: string;
  /**
   * How logs are written: `pretty` (one short human line per entry, requests at debug level),
   * `json` (pino's JSON lines, requests at info), or `auto` — pretty when stdout is a terminal,
   * JSON otherwise (server/src/logging.ts resolves it).
   */
  logFormat: LogFormat;
  /** Largest accepted request body, bytes. */
  bodyLimitBytes: number;
  /**
   * Behind a TLS-terminating proxy: trust X-Forwarded-For/-Proto from it, so client addresses (sign-in
   * throttling) and the https scheme (Secure cookies) are the real ones. Off by default.
   */
  trustProxy: boolean;
  /**
   * Where users reach the server (scheme, host, port, no trailing slash): every absolute link the
   * API writes (OGC API links, TileJSON tile URLs) starts with it, never with the request's Host
   * header — unless `trustProxy` is on, when the proxy's X-Forwarded-Host/-Proto are used.
   */
  publicUrl: string;
  /** Sign-in throttling (auth/login-policy.ts). */
  login: LoginPolicy;
  /** Incidents, responders and dispatch (see CommandConfig). */
  command: CommandConfig;
  /** The live stream `/api/live` (see LiveSettings). */
  live: LiveSettings;
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
  /** Photos one user may upload in an hour (beyond: 429 RATE_LIMITED). */
  photoBudgetPerHour: number;
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
  photoBudgetPerHour: 60,
  warmGraphOnStart: false,
};

export class ConfigError extends Error {}

export type LogFormat = 'auto' | 'pretty' | 'json';

const repoRoot = path.resolve(import.meta.dirname, '..', '..');

const int = (minimum: number, maximum: number, fallback: number, description: string) =>
  Type.Integer({ minimum, maximum, default: fallback, description });

/**
 * Every environment variable the server reads: name, type, default, bounds and meaning. Values
 * arrive as strings; integers and flags (1/true/yes, 0/false/no) are converted before the check,
 * and an empty value counts as unset. Defaults that depend on another variable (SEED_DEMO,
 * DEMO_SIMULATE) or on the checkout (paths) are optional here and settled in loadConfig.
 */
export const EnvSchema = Type.Object({
  PORT: int(0, 65535, 3000, 'HTTP port of the API and the web app'),
  HOST: Type.String({ default: '0.0.0.0', description: 'listen address' }),
  DATABASE_URL: Type.Optional(
    Type.String({
      pattern: '^postgres(ql)?://',
      expected: 'start with postgres:// or postgresql://',
      description: 'external PostgreSQL + PostGIS; when unset the embedded database is used',
    }),
  ),
  DATA_DIR: Type.Optional(Type.String({ description: 'folder of the embedded database (default .data/ in the checkout)' })),
  SEED_DEMO: Type.Optional(Type.Boolean({ description: 'generate the demo district on an empty database (default: on when DATABASE_URL is unset)' })),
  DEMO_SIMULATE: Type.Optional(Type.Boolean({ description: "keep the demo alive: move the generated responders every 30 s, file and work incidents at a realistic pace (default: on when DATABASE_URL is unset)" })),
  WEB_DIST: Type.Optional(Type.String({ description: 'folder of the built web app (default web/dist in the checkout)' })),
  LOG_LEVEL: Type.Enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { default: 'info', description: 'pino log level' }),
  LOG_FORMAT: Type.Enum(['auto', 'pretty', 'json'], {
    default: 'auto',
    description: 'pretty: short human lines (requests at debug); json: JSON lines; auto: pretty when stdout is a terminal, json otherwise',
  }),
  BODY_LIMIT_BYTES: int(1024, 100 * 1024 * 1024, 2 * 1024 * 1024, 'largest accepted request body'),
  TRUST_PROXY: Type.Boolean({ default: false, description: 'take client address and scheme from X-Forwarded-* (behind a TLS-terminating proxy)' }),
  PUBLIC_URL: Type.Optional(
    Type.String({
      pattern: '^https?://[^/?#\\s]+$',
      expected: 'be an http(s) URL of scheme and host (and port), without a path, e.g. https://wangge.example.org',
      description: 'where users reach the server: absolute links start with it (default http://localhost:<PORT>)',
    }),
  ),

  LOGIN_WINDOW_SECONDS: int(60, 86400, DEFAULT_LOGIN_POLICY.windowSeconds, 'sign-in attempts are counted in windows this long'),
  LOGIN_MAX_PER_ACCOUNT_ADDRESS: int(1, 1000, DEFAULT_LOGIN_POLICY.maxPerAccountAddress, 'sign-in attempts per account and address in a window (strict)'),
  LOGIN_MAX_PER_ACCOUNT: int(1, 100_000, DEFAULT_LOGIN_POLICY.maxPerAccount, 'failed sign-ins per account from all addresses in a window before each further attempt waits longer'),
  LOGIN_MAX_PER_ADDRESS: int(1, 100_000, DEFAULT_LOGIN_POLICY.maxPerAddress, 'failed sign-ins per address across accounts in a window'),
  LOGIN_DELAY_BASE_SECONDS: int(1, 3600, DEFAULT_LOGIN_POLICY.delayBaseSeconds, 'first wait of the soft lockout; it doubles with every further failure'),
  LOGIN_DELAY_MAX_SECONDS: int(1, 86400, DEFAULT_LOGIN_POLICY.delayMaxSeconds, 'longest wait of the soft lockout'),

  RESPONDER_ONLINE_SECONDS: int(10, 86400, DEFAULT_COMMAND_CONFIG.onlineSeconds, 'a responder is online while its last position is younger'),
  RESPONDER_OFFLINE_SECONDS: int(20, 7 * 86400, DEFAULT_COMMAND_CONFIG.offlineSeconds, 'a responder is stale up to this age of its position, then offline'),
  DISPATCH_OWN_GRID_EXTRA_SECONDS: int(0, 7200, DEFAULT_COMMAND_CONFIG.ownGridExtraSeconds, 'how much slower an own-grid worker may be and still rank first'),
  DISPATCH_NEIGHBOUR_EXTRA_SECONDS: int(0, 7200, DEFAULT_COMMAND_CONFIG.neighbourExtraSeconds, 'how much slower a neighbouring-grid worker may be and still rank before others'),
  DISPATCH_STALE_PENALTY_SECONDS: int(0, 7200, DEFAULT_COMMAND_CONFIG.stalePenaltySeconds, 'added to the ETA of a responder whose position is stale'),
  PHOTO_MAX_BYTES: int(1024, 20 * 1024 * 1024, DEFAULT_COMMAND_CONFIG.photoMaxBytes, 'largest incident photo'),
  PHOTO_DIR: Type.Optional(Type.String({ description: 'folder for incident photos (unset: kept in the database)' })),
  PHOTO_BUDGET_PER_HOUR: int(1, 100_000, DEFAULT_COMMAND_CONFIG.photoBudgetPerHour, 'photos one user may upload in an hour'),
  WARM_ROUTING_GRAPH: Type.Boolean({ default: true, description: 'build the road graph in the background at start' }),

  LIVE_HEARTBEAT_MS: int(50, 3_600_000, DEFAULT_LIVE_SETTINGS.heartbeatMs, 'comment line on every stream (and session re-check) this often'),
  LIVE_POLL_MS: int(50, 3_600_000, DEFAULT_LIVE_SETTINGS.pollMs, 'the hub looks for new events this often without a NOTIFY or wake'),
  LIVE_RETRY_MS: int(100, 600_000, DEFAULT_LIVE_SETTINGS.retryMs, 'retry: hint sent to EventSource clients'),
  LIVE_MAX_STREAMS_PER_USER: int(1, 100_000, DEFAULT_LIVE_SETTINGS.maxStreamsPerUser, 'concurrent streams of one user in one process (beyond: 429)'),
  LIVE_MAX_STREAMS: int(1, 1_000_000, DEFAULT_LIVE_SETTINGS.maxStreams, 'concurrent streams of one process (beyond: 429)'),
  LIVE_MAX_REPLAY: int(1, 1_000_000, DEFAULT_LIVE_SETTINGS.maxReplay, 'a reconnect that would replay more events gets event: reset'),
  LIVE_RETENTION_DAYS: int(1, 365, DEFAULT_LIVE_SETTINGS.retentionDays, 'events are kept this many days'),
  LIVE_RETENTION_INTERVAL_MS: int(1000, 86_400_000, DEFAULT_LIVE_SETTINGS.retentionIntervalMs, 'how often old events are pruned'),
  LIVE_MAX_BUFFERED_BYTES: int(1024, 1024 * 1024 * 1024, DEFAULT_LIVE_SETTINGS.maxBufferedBytes, 'a client with more unsent bytes is disconnected'),
});

/** The environment after the check: converted values, defaults filled in. */
export type Env = Static<typeof EnvSchema>;

type VariableSchema = TSchema & {
  type?: string;
  enum?: string[];
  minimum?: number;
  maximum?: number;
  expected?: string;
};

const variables = EnvSchema.properties as Record<keyof Env, VariableSchema>;

/** A string from the environment as the schema's type, or the string itself when it is not one (the check then names it). */
function fromEnvString(schema: VariableSchema, raw: string): unknown {
  if (schema.type === 'integer') {
    const value = Number(raw);
    return Number.isInteger(value) ? value : raw;
  }
  if (schema.type === 'boolean') {
    if (/^(1|true|yes)$/i.test(raw)) return true;
    if (/^(0|false|no)$/i.test(raw)) return false;
  }
  return raw;
}

function problem(name: string, schema: VariableSchema, raw: string | undefined): string {
  const got = raw === undefined ? '' : `, got "${raw}"`;
  if (schema.type === 'integer') return `${name} must be an integer between ${schema.minimum} and ${schema.maximum}${got}`;
  if (schema.type === 'boolean') return `${name} must be true or false${got}`;
  if (schema.enum) return `${name} must be one of ${schema.enum.join(', ')}${got}`;
  // The value is not repeated: a database URL may carry a password.
  return `${name} must ${schema.expected ?? 'be a valid value'}`;
}

/** The environment checked against EnvSchema, with defaults filled in; throws ConfigError naming the first bad variable. */
export function parseEnv(env: NodeJS.ProcessEnv): Env {
  const given: Record<string, unknown> = {};
  for (const [name, schema] of Object.entries(variables)) {
    const raw = env[name];
    if (raw !== undefined && raw !== '') given[name] = fromEnvString(schema, raw);
  }
  const value = Value.Default(EnvSchema, given);
  const [error] = Value.Errors(EnvSchema, value);
  if (error) {
    const name = error.instancePath.replace(/^\//, '') as keyof Env;
    throw new ConfigError(name in variables ? problem(name, variables[name], env[name]) : `environment: ${error.message}`);
  }
  return value as Env;
}

/** Reads and validates the configuration; throws ConfigError with a clear message. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const e = parseEnv(env);
  const databaseUrl = e.DATABASE_URL;
  return {
    port: e.PORT,
    host: e.HOST,
    databaseUrl,
    dataDir: path.resolve(e.DATA_DIR ?? path.join(repoRoot, '.data')),
    seedDemo: e.SEED_DEMO ?? !databaseUrl,
    simulateDemo: e.DEMO_SIMULATE ?? !databaseUrl,
    webDist: path.resolve(e.WEB_DIST ?? path.join(repoRoot, 'web', 'dist')),
    logLevel: e.LOG_LEVEL,
    logFormat: e.LOG_FORMAT,
    bodyLimitBytes: e.BODY_LIMIT_BYTES,
    trustProxy: e.TRUST_PROXY,
    publicUrl: e.PUBLIC_URL ?? `http://localhost:${e.PORT}`,
    login: {
      windowSeconds: e.LOGIN_WINDOW_SECONDS,
      maxPerAccountAddress: e.LOGIN_MAX_PER_ACCOUNT_ADDRESS,
      maxPerAccount: e.LOGIN_MAX_PER_ACCOUNT,
      maxPerAddress: e.LOGIN_MAX_PER_ADDRESS,
      delayBaseSeconds: e.LOGIN_DELAY_BASE_SECONDS,
      delayMaxSeconds: e.LOGIN_DELAY_MAX_SECONDS,
    },
    command: {
      ...DEFAULT_COMMAND_CONFIG,
      onlineSeconds: e.RESPONDER_ONLINE_SECONDS,
      offlineSeconds: e.RESPONDER_OFFLINE_SECONDS,
      ownGridExtraSeconds: e.DISPATCH_OWN_GRID_EXTRA_SECONDS,
      neighbourExtraSeconds: e.DISPATCH_NEIGHBOUR_EXTRA_SECONDS,
      stalePenaltySeconds: e.DISPATCH_STALE_PENALTY_SECONDS,
      photoMaxBytes: e.PHOTO_MAX_BYTES,
      photoDir: e.PHOTO_DIR === undefined ? undefined : path.resolve(e.PHOTO_DIR),
      photoBudgetPerHour: e.PHOTO_BUDGET_PER_HOUR,
      warmGraphOnStart: e.WARM_ROUTING_GRAPH,
    },
    live: {
      heartbeatMs: e.LIVE_HEARTBEAT_MS,
      pollMs: e.LIVE_POLL_MS,
      retryMs: e.LIVE_RETRY_MS,
      maxStreamsPerUser: e.LIVE_MAX_STREAMS_PER_USER,
      maxStreams: e.LIVE_MAX_STREAMS,
      maxReplay: e.LIVE_MAX_REPLAY,
      retentionDays: e.LIVE_RETENTION_DAYS,
      retentionIntervalMs: e.LIVE_RETENTION_INTERVAL_MS,
      maxBufferedBytes: e.LIVE_MAX_BUFFERED_BYTES,
    },
  };
}

export { repoRoot };
