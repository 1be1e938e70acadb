import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { buildTestApp } from '../support/app.js';

let database: TestDatabase;
let app: FastifyInstance;

beforeAll(async () => {
  database = await createTestDatabase();
  app = await buildTestApp(database, { signedIn: false });
});

afterAll(async () => {
  await app?.close();
  await database?.drop();
});

describe('request budgets', () => {
  it('sign-in allows 30 requests a minute per address, then answers 429 RATE_LIMITED with Retry-After', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 31; i++) {
      // Different unknown usernames: the per-account throttle never trips, only the budget.
      const res = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: `nobody${i}`, password: 'x' }, remoteAddress: '203.0.113.9' });
      statuses.push(res.statusCode);
      if (i === 30) {
        expect(res.headers['retry-after']).toBeDefined();
        expect(res.headers['content-type']).toMatch(/problem\+json/);
        expect(res.json().code).toBe('RATE_LIMITED');
      }
    }
    expect(statuses.slice(0, 30).every((s) => s === 401)).toBe(true);
    expect(statuses[30]).toBe(429);
    // Another address has its own budget.
    const other = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: 'nobody', password: 'x' }, remoteAddress: '203.0.113.10' });
    expect(other.statusCode).toBe(401);
  });
});
