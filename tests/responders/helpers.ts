import type { FastifyInstance, InjectOptions } from 'fastify';
import type pg from 'pg';
import { buildApp } from '../../server/src/app.js';
import { probeCapabilities } from '../../server/src/db/database.js';
import type { CommandConfig } from '../../server/src/config.js';
import type { TestDatabase } from '../support/database.js';
import { addUser, sessionFor, signIn } from '../support/auth.js';

/**
 * The real app over a test database (served as the ordinary role), with command-centre settings
 * overridden where a test needs them; `inject` is signed in as an admin of '*' unless a request
 * sets its own Cookie.
 */
export async function appWith(t: TestDatabase, command: Partial<CommandConfig> = {}): Promise<FastifyInstance> {
  const app = await buildApp({
    config: { bodyLimitBytes: 2_000_000, webDist: '/nonexistent', logLevel: 'warn' },
    database: t.app,
    capabilities: await probeCapabilities(t.app.db),
    logger: false,
    command,
  });
  const cookie = await sessionFor(app, t.pool, 'admin', '*');
  const inject = app.inject.bind(app) as (o: InjectOptions) => ReturnType<FastifyInstance['inject']>;
  (app as { inject: unknown }).inject = (o: InjectOptions | string) => {
    const options: InjectOptions = typeof o === 'string' ? { url: o } : o;
    return inject({ ...options, headers: { cookie, ...(options.headers ?? {}) } });
  };
  return app;
}

/** A grid worker account (it gets a responder) on `areaCode`, signed in. */
export async function workerSession(app: FastifyInstance, pool: pg.Pool, areaCode: string) {
  const u = await addUser(pool, 'grid_worker', areaCode);
  const cookie = await signIn(app, u.username, u.password);
  return { ...u, responderId: u.responderId!, cookie };
}

/** Metres → degrees of latitude, and of longitude at latitude `lat`. */
export const M_LAT = 1 / 111_320;
export const mLon = (lat: number) => 1 / (111_320 * Math.cos((lat * Math.PI) / 180));

export const iso = (msFromNow: number, now = Date.now()) => new Date(now + msFromNow).toISOString();
