/** What writers need of the live hub: a nudge after they commit events (runWrite, write/write.ts). */
export interface LiveBus {
  /**
   * Deliver newly committed events now (coalesced; safe to call often), here and — on an external
   * database — to the other API processes, whose hubs the hub wakes with a NOTIFY.
   */
  wake(): void;
}

declare module 'fastify' {
  interface FastifyInstance {
    live: LiveBus;
  }
}
