import type pg from 'pg';

export interface ThrottlePolicy {
  windowSeconds: number;
  maxPerAccount: number;
  maxPerAddress: number;
}

const keys = (username: string, ip: string) => [`user:${username.toLowerCase().slice(0, 100)}`, `ip:${ip}`];

/**
 * Seconds until the caller may try again, or 0. Counters live in the database so that every API
 * process sees the same ones.
 */
export async function loginBlockedFor(pool: pg.Pool, username: string, ip: string, policy: ThrottlePolicy): Promise<number> {
  const [userKey, ipKey] = keys(username, ip);
  const { rows } = await pool.query<{ key: string; failures: number; retry: number }>(
    `SELECT key, failures, ceil(extract(epoch FROM window_started_at + make_interval(secs => $2) - now()))::int AS retry
       FROM login_throttle
      WHERE key = ANY($1::text[]) AND window_started_at > now() - make_interval(secs => $2)`,
    [[userKey, ipKey], policy.windowSeconds],
  );
  let wait = 0;
  for (const r of rows) {
    const max = r.key === userKey ? policy.maxPerAccount : policy.maxPerAddress;
    if (r.failures >= max) wait = Math.max(wait, r.retry);
  }
  return wait;
}

/** Counts a failed login against the account and the address (a new window once the old one ends). */
export async function recordLoginFailure(pool: pg.Pool, username: string, ip: string, policy: ThrottlePolicy): Promise<void> {
  await pool.query(
    `INSERT INTO login_throttle AS t (key, failures, window_started_at)
     SELECT k, 1, now() FROM unnest($1::text[]) k
     ON CONFLICT (key) DO UPDATE SET
       failures = CASE WHEN t.window_started_at > now() - make_interval(secs => $2) THEN t.failures + 1 ELSE 1 END,
       window_started_at = CASE WHEN t.window_started_at > now() - make_interval(secs => $2) THEN t.window_started_at ELSE now() END`,
    [keys(username, ip), policy.windowSeconds],
  );
}

export async function clearAccountFailures(pool: pg.Pool, username: string): Promise<void> {
  await pool.query('DELETE FROM login_throttle WHERE key = $1', [keys(username, '')[0]]);
}
