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
}

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
    webDist: path.resolve(env.WEB_DIST || path.join(repoRoot, 'web', 'dist')),
    logLevel: env.LOG_LEVEL || 'info',
    bodyLimitBytes: int(env, 'BODY_LIMIT_BYTES', 2 * 1024 * 1024, 1024, 100 * 1024 * 1024),
    trustProxy: bool(env, 'TRUST_PROXY', false),
  };
}

export { repoRoot };
