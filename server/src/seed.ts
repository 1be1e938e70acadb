import type pg from 'pg';
import { generate } from '@wangge/geo-data';

/** Generates the demo district when the database holds no areas yet. */
export async function seedDemoIfEmpty(pool: pg.Pool): Promise<boolean> {
  const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM areas');
  if (rows[0].n > 0) return false;
  console.log('[wangge] empty database: generating the demo district (preset demo, seed 1)');
  await generate(pool, { preset: 'demo', seed: 1, onProgress: consoleProgress('generate') });
  return true;
}

/** Progress printed as one updating line on a terminal, as plain lines otherwise. */
export function consoleProgress(task: string) {
  let last = '';
  return (step: string, done: number, total: number) => {
    const pct = total > 0 ? Math.floor((100 * done) / total) : 100;
    const line = `[${task}] ${step}: ${done}/${total} (${pct}%)`;
    if (line === last) return;
    last = line;
    if (process.stdout.isTTY) process.stdout.write(`\r${line}\x1b[K${done >= total ? '\n' : ''}`);
    else if (done === 0 || done >= total || pct % 25 === 0) console.log(line);
  };
}
