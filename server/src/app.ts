import Fastify, { type FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import compress from '@fastify/compress';
import rateLimit from '@fastify/rate-limit';
import { DEFAULT_COMMAND_CONFIG, type CommandConfig, type Config } from './config.js';
import { DEFAULT_LIVE_SETTINGS, type LiveSettings } from './live/settings.js';
import type { Capabilities, Database } from './db/database.js';
import errors, { ApiError } from './plugins/errors.js';
import { AJV_OPTIONS, buildValidator } from './lib/validator.js';
import database from './plugins/database.js';
import web from './plugins/web.js';
import securityHeaders from './plugins/security-headers.js';
import links from './plugins/links.js';
import { DEFAULT_LOGIN_POLICY, type LoginPolicy } from './auth/login-policy.js';
import { fastifyLogging, resolveLogFormat } from './logging.js';
import auth, { markRoutesPublic } from './plugins/auth.js';
import type { SessionPolicy } from './auth/sessions.js';
import authRoutes from './modules/auth/auth.routes.js';
import usersRoutes from './modules/users/users.routes.js';
import auditRoutes from './modules/audit/audit.routes.js';
import healthRoutes from './modules/health/health.routes.js';
import collectionsRoutes from './modules/collections/collections.routes.js';
import ogcRoutes from './modules/ogc/ogc.routes.js';
import gridsRoutes from './modules/grids/grids.routes.js';
import tilesRoutes from './modules/tiles/tiles.routes.js';
import live from './plugins/live.js';
import timers from './plugins/timers.js';
import incidentsRoutes from './modules/incidents/incidents.routes.js';
import metaRoutes from './modules/meta/meta.routes.js';
import respondersRoutes from './modules/responders/responders.routes.js';
import liveRoutes from './modules/live/live.routes.js';
import kpisRoutes from './modules/kpis/kpis.routes.js';
import plannerRoutes from './modules/planner/planner.routes.js';

export interface AppOptions {
  config: Pick<Config, 'bodyLimitBytes' | 'webDist' | 'logLevel'> & Partial<Pick<Config, 'trustProxy' | 'publicUrl' | 'login' | 'logFormat'>>;
  database: Database;
  capabilities: Capabilities;
  logger?: boolean;
  sessionPolicy?: SessionPolicy;
  /** Command-centre settings; defaults where not given (tests override thresholds). */
  command?: Partial<CommandConfig>;
  /** Live-stream settings; defaults where not given. */
  live?: Partial<LiveSettings>;
}

/** Sessions end after 30 minutes without a request, and 12 hours after sign-in at the latest. */
export const DEFAULT_SESSION_POLICY: SessionPolicy = { idleSeconds: 30 * 60, absoluteSeconds: 12 * 3600 };

/** Builds the application: the one place that shows the load order of plugins and modules. */
export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  // LOG_FORMAT (auto: pretty on a terminal) and LOG_LEVEL: logging.ts.
  const logging = fastifyLogging({ level: opts.config.logLevel, format: resolveLogFormat(opts.config.logFormat ?? 'auto') });
  const app = Fastify({
    ...logging.options,
    ...(opts.logger === false ? { logger: false } : {}),
    bodyLimit: opts.config.bodyLimitBytes,
    trustProxy: opts.config.trustProxy ?? false,
    // Bodies are validated without type coercion, querystring/params/headers with it (lib/validator.ts).
    ajv: { customOptions: AJV_OPTIONS },
    schemaController: { compilersFactory: { buildValidator } },
    routerOptions: { maxParamLength: 200 },
  }).withTypeProvider<TypeBoxTypeProvider>();
  const command: CommandConfig = { ...DEFAULT_COMMAND_CONFIG, ...opts.command };
  const liveSettings: LiveSettings = { ...DEFAULT_LIVE_SETTINGS, ...opts.live };
  const login: LoginPolicy = { ...DEFAULT_LOGIN_POLICY, ...opts.config.login };
  // A client that closes the connection before the answer (an upload cancelled, a tile no longer
  // wanted) is one line at the request log level, never an error.
  app.addHook('onRequestAbort', async (request) => logging.controller.requestAborted(request));

  await app.register(errors);
  await app.register(links, { publicUrl: opts.config.publicUrl ?? 'http://localhost:3000', trustProxy: opts.config.trustProxy ?? false });
  await app.register(securityHeaders, {
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:', 'blob:'],
        workerSrc: ["'self'", 'blob:'],
        connectSrc: ["'self'"],
        fontSrc: ["'self'", 'data:'],
        objectSrc: ["'none'"],
        frameAncestors: ["'none'"],
        upgradeInsecureRequests: null,
      },
    },
    crossOriginEmbedderPolicy: false,
  });
  await app.register(compress, { encodings: ['gzip', 'deflate'], threshold: 1024 });
  await app.register(database, { database: opts.database, capabilities: opts.capabilities });
  await app.register(swagger, {
    openapi: {
      info: { title: 'wangge API', version: '0.1.0', description: '网格化管理 — grid-management API (OGC API Features shape, vector tiles)' },
      tags: [
        { name: 'system' }, { name: 'auth' }, { name: 'users' }, { name: 'audit' },
        { name: 'features', description: 'OGC API Features' }, { name: 'grids' }, { name: 'tiles' },
        { name: 'incidents' }, { name: 'responders' }, { name: 'live' },
      ],
    },
  });
  await app.register(auth, { sessionPolicy: opts.sessionPolicy ?? DEFAULT_SESSION_POLICY });
  // Per-process request budgets for the routes that declare one (sign-in, large reads); the
  // sign-in failure throttle that must hold across processes lives in the database (auth/throttle.ts).
  await app.register(rateLimit, {
    global: false,
    keyGenerator: (request) => request.user?.id ?? request.ip,
    errorResponseBuilder: (_request, context) =>
      new ApiError(429, 'RATE_LIMITED', `too many requests; retry in ${Math.ceil(context.ttl / 1000)} s`, {
        retryAfterSeconds: Math.ceil(context.ttl / 1000),
      }),
  });
  await app.register(async (docs) => {
    markRoutesPublic(docs);
    await docs.register(swaggerUi, { routePrefix: '/api/docs', staticCSP: true });
  });

  await app.register(healthRoutes);
  await app.register(authRoutes, { login });
  await app.register(usersRoutes);
  await app.register(auditRoutes);
  await app.register(ogcRoutes);
  await app.register(collectionsRoutes);
  await app.register(gridsRoutes);
  await app.register(tilesRoutes);
  await app.register(live, { settings: liveSettings });
  await app.register(incidentsRoutes, { command });
  await app.register(metaRoutes, { command });
  await app.register(respondersRoutes, { command });
  await app.register(liveRoutes);
  await app.register(kpisRoutes);
  await app.register(plannerRoutes);
  await app.register(timers, { loginWindowSeconds: login.windowSeconds });
  await app.register(web, { root: opts.config.webDist });
  return app;
}
