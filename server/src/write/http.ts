/** How routes take a write's Idempotency-Key and send its answer (write.ts runs the write). */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Answer, IdempotencyRequest } from './write.js';

/** The client's identification of a write for Idempotency-Key (the route string as stored keys know it). */
export type WriteRequest = Omit<IdempotencyRequest, 'userId'>;

/** The request's Idempotency-Key header, when it sent one. */
export function idempotencyKey(request: FastifyRequest): string | undefined {
  const key = request.headers['idempotency-key'];
  return typeof key === 'string' ? key : undefined;
}

/** Sends a write's answer, saying when it is the stored answer of an earlier request with the same key. */
export function sendAnswer<T>(reply: FastifyReply, answer: Answer<T>) {
  if (answer.replayed) reply.header('Idempotent-Replayed', 'true');
  return reply.code(answer.status).send(answer.body);
}
