import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import '../live/bus.js';

// PLACEHOLDER until the live hub lands (owned by the live-stream work): decorates app.live so that
// writers can call app.live.wake() after committing events.
export default fp(
  async function live(app: FastifyInstance) {
    app.decorate('live', { wake() {} });
  },
  { name: 'live' },
);
