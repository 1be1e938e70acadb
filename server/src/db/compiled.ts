import { CompiledQuery, type Compilable, type RawBuilder } from 'kysely';
import type { Db } from './transaction.js';

/**
 * A statement written with the query builder, built and compiled once per shape and then run with
 * each call's values — for the hot paths (the session lookup of every request, an incident's
 * detail, a responder's position batch), where building a wide select costs more than running it
 * (measured: ~0.3 ms of Kysely per incident detail, against a ~4 ms request).
 *
 * `build(db, args, shape)` receives stand-ins (unique strings) for the values of `args` and may only
 * hand them to the builder as bound values. Everything that steers the statement's shape — a
 * condition left out for a viewer who sees everything, say — must come from `shape`, which
 * `shapeOf(...args)` computes from the real values for each call (one compiled variant per shape).
 * A stand-in that ends up in the SQL text (as a literal or an identifier) fails the first call.
 */
export function compiledOnce<A extends unknown[], R, S extends string = string>(
  build: (db: Db, args: A, shape: S) => Compilable<R>,
  shapeOf: (...args: A) => S = () => '' as S,
): (db: Db, ...args: A) => Promise<R[]> {
  const variants = new Map<string, { sql: string; slots: { index: number; value: unknown }[] }>();
  return async (db, ...args) => {
    const shape = shapeOf(...args);
    let variant = variants.get(shape);
    if (!variant) {
      const standIns = args.map((_, i) => `\u0001arg${i}\u0001`) as A;
      const compiled = build(db, standIns, shape).compile();
      if (compiled.sql.includes('\u0001arg')) throw new Error('compiledOnce: a value was written into the SQL text instead of bound');
      const slots = compiled.parameters.map((value) => {
        const m = typeof value === 'string' ? /^\u0001arg(\d+)\u0001$/.exec(value) : null;
        if (!m && typeof value === 'string' && value.includes('\u0001arg')) {
          throw new Error('compiledOnce: a value was transformed before binding (bind it as it is)');
        }
        return m ? { index: Number(m[1]), value: undefined } : { index: -1, value };
      });
      variant = { sql: compiled.sql, slots };
      variants.set(shape, variant);
      prepareOnEachConnection(compiled.sql);
    }
    const parameters = variant.slots.map((s) => (s.index >= 0 ? args[s.index] : s.value));
    const { rows } = await db.executeQuery<R>(CompiledQuery.raw(variant.sql, parameters));
    return rows;
  };
}

/**
 * Statement texts run as named statements on an external database: parsed and planned once per
 * connection instead of at every call (db/database.ts names them as they pass). Planning is most of
 * the cost of the hot paths' wide selects and PostGIS checks (measured on an intake: 1.1 of the
 * feature row's 1.3 ms was planning). Only fixed texts are registered — every compiledOnce variant
 * and the `sql` templates run through `executePrepared` — so the set stays small. Not on the
 * embedded database: PGlite is one session, where two connections preparing one name collide.
 */
const prepared = new Map<string, string>();

export function prepareOnEachConnection(text: string): void {
  if (!prepared.has(text) && prepared.size < 1000) prepared.set(text, `wangge_${prepared.size + 1}`);
}

/** The statement name of a registered text (db/database.ts), or undefined. */
export function preparedName(text: string): string | undefined {
  return prepared.get(text);
}

/** Runs a `sql` template (fixed text, values bound) as a statement prepared once per connection. */
export async function executePrepared<R>(db: Db, query: RawBuilder<R>): Promise<R[]> {
  const compiled = query.compile(db);
  prepareOnEachConnection(compiled.sql);
  return (await db.executeQuery<R>(compiled)).rows;
}
