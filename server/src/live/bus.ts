/** What writers need of the live hub: a nudge after they commit events (see publish.ts). */
export interface LiveBus {
  /** Deliver newly committed events now (coalesced; safe to call often). */
  wake(): void;
}

declare module 'fastify' {
  interface FastifyInstance {
    live: LiveBus;
  }
}
