import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import '../live/bus.js';
import { LiveHub } from '../live/hub.js';
import type { LiveSettings } from '../live/settings.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The hub behind GET /api/live (app.live is the same object, seen as the writers' LiveBus). */
    liveHub: LiveHub;
  }
}

/** What buildApp hands the plugin. */
export interface LivePluginOptions {
  settings: LiveSettings;
}

/**
 * The live hub of this process (server/src/live/hub.ts): decorates `app.live` (writers call
 * `app.live.wake()` after committing events) and `app.liveHub` (the stream route). Its settings are
 * the plugin's options (buildApp passes them, from `Config.live` in production). The hub starts
 * when the app is ready; its streams end before the server closes (so closing does not wait for
 * them), and its LISTEN connection and timers on close.
 */
export default fp(
  async function live(app: FastifyInstance, opts: LivePluginOptions) {
    const hub = new LiveHub({
      pool: app.pool,
      db: app.db,
      mode: app.databaseMode,
      // A copy: hub.configure() changes its settings in place.
      settings: { ...opts.settings },
      log: app.log,
      sessionIdleSeconds: app.sessionPolicy.idleSeconds,
    });
    app.decorate('live', hub);
    app.decorate('liveHub', hub);
    app.addHook('onReady', async () => hub.start());
    app.addHook('preClose', async () => hub.closeStreams());
    app.addHook('onClose', async () => hub.close());
  },
  { name: 'live', dependencies: ['database', 'auth'] },
);
