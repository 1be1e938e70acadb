import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { startEmbeddedDatabase, type EmbeddedDatabase } from '../../server/src/db/embedded.js';
import { tempDir } from '../support/database.js';

/**
 * PGlite serves every connection of pglite-socket on one session. Parameterised queries of several
 * connections at once must not interleave their Parse/Bind/Execute messages (their unnamed
 * statements would replace each other), and a failing statement must not stall the others
 * (server/src/db/embedded.ts keepExchangesTogether).
 */
let embedded: EmbeddedDatabase;
let pool: pg.Pool;

beforeAll(async () => {
  embedded = await startEmbeddedDatabase(tempDir('embedded-concurrency'), { kind: 'tests' });
  pool = new pg.Pool({ connectionString: embedded.url, max: 8 });
}, 180_000);

afterAll(async () => {
  await pool?.end();
  await embedded?.close();
});

describe('embedded database under concurrent connections', () => {
  it('parameterised queries of eight connections at once each get their own answer', async () => {
    await pool.query('CREATE TABLE IF NOT EXISTS notes (id int PRIMARY KEY, body text NOT NULL, at timestamptz NOT NULL)');
    const jobs = Array.from({ length: 400 }, (_, i) => {
      switch (i % 5) {
        // Writes: PGlite syncs its data folder after them, which lets other connections' messages in.
        case 4: return pool.query<{ id: number; body: string }>('INSERT INTO notes (id, body, at) VALUES ($1, $2, $3) RETURNING id, body', [i, `note ${i}`, new Date()])
          .then((r) => expect(r.rows[0]).toEqual({ id: i, body: `note ${i}` }));
        case 0: return pool.query<{ v: number }>('SELECT $1::int * 2 AS v', [i]).then((r) => expect(r.rows[0].v).toBe(i * 2));
        case 1: return pool.query<{ v: string }>("SELECT $1::text || '-' || $2::text AS v", [`a${i}`, `b${i}`]).then((r) => expect(r.rows[0].v).toBe(`a${i}-b${i}`));
        case 2: return pool.query<{ v: string }>('SELECT ST_AsText(ST_Point($1, $2)) AS v', [i, -i]).then((r) => expect(r.rows[0].v).toBe(`POINT(${i} ${-i})`));
        // A slower statement, so that the other connections' messages queue up meanwhile.
        default: return pool.query<{ v: number }>('SELECT count(*)::int AS v FROM generate_series(1, 20000 + $1::int)', [i]).then((r) => expect(r.rows[0].v).toBe(20000 + i));
      }
    });
    const results = await Promise.allSettled(jobs);
    const failures = results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason));
    expect(failures).toEqual([]);
  });

  it('failing statements among them fail alone, and the connections keep working', async () => {
    const jobs = Array.from({ length: 120 }, (_, i) =>
      i % 3 === 0
        ? pool.query('SELECT 1 / $1::int AS v', [0]).then(() => 'no error', (err: Error & { code?: string }) => err.code)
        : i % 3 === 1
          ? pool.query<{ v: number }>('SELECT count(*)::int + $1::int AS v FROM generate_series(1, 20000)', [i]).then((r) => r.rows[0].v - 20000 + 1)
          : pool.query<{ v: number }>('SELECT $1::int + 1 AS v', [i]).then((r) => r.rows[0].v),
    );
    const results = await Promise.all(jobs);
    results.forEach((r, i) => expect(r, `job ${i}`).toBe(i % 3 === 0 ? '22012' : i + 1));
    // Transactions of several connections still see only their own work.
    await Promise.all(Array.from({ length: 8 }, async (_, i) => {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        await client.query('CREATE TEMP TABLE IF NOT EXISTS t (v int)');
        await client.query('INSERT INTO t VALUES ($1)', [i]);
        await client.query('ROLLBACK');
      } finally {
        client.release();
      }
    }));
    expect((await pool.query<{ ok: number }>('SELECT $1::int AS ok', [7])).rows[0].ok).toBe(7);
  });
});
