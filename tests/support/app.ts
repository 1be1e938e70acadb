import type { FastifyInstance, InjectOptions } from 'fastify';
import { buildApp } from '../../server/src/app.js';
import { probeCapabilities, type Database } from '../../server/src/db/database.js';
import { sessionFor } from './auth.js';
import { DEFAULT_LOGIN_POLICY, type LoginPolicy } from '../../server/src/auth/login-policy.js';

export interface TestAppOptions {
  webDist?: string;
  bodyLimitBytes?: number;
  /**
   * Sign `app.inject` in as an admin of the whole installation (default), so tests of other
   * concerns need not repeat sign-in; `false` leaves requests anonymous (tests of auth itself).
   */
  signedIn?: boolean;
  /** Sign-in throttle numbers (defaults: auth/login-policy.ts). */
  login?: Partial<LoginPolicy>;
}

/**
 * The real application over a test database, without a web build and without logging (TEST_LOG=1:
 * with it, to see a 500's cause). Given a TestDatabase it serves through `database.app`, the ordinary role the API runs as in production.
 */
export async function buildTestApp(database: Database & { app?: Database }, opts: TestAppOptions = {}): Promise<FastifyInstance> {
  const served = database.app ?? database;
  const app = await buildApp({
    config: {
      bodyLimitBytes: opts.bodyLimitBytes ?? 1_000_000, webDist: opts.webDist ?? '/nonexistent', logLevel: 'warn',
      login: opts.login && { ...DEFAULT_LOGIN_POLICY, ...opts.login },
    },
    database: served,
    capabilities: await probeCapabilities(served.db),
    logger: Boolean(process.env.TEST_LOG),
  });
  if (opts.signedIn === false) return app;
  const cookie = await sessionFor(app, database.pool, 'admin', '*');
  const inject = app.inject.bind(app) as (o: InjectOptions | string) => ReturnType<FastifyInstance['inject']>;
  // Requests carry the admin session unless they set their own Cookie header.
  (app as { inject: unknown }).inject = (o: InjectOptions | string) => {
    const options: InjectOptions = typeof o === 'string' ? { url: o } : o;
    return inject({ ...options, headers: { cookie, ...(options.headers ?? {}) } });
  };
  return app;
}
