import type { Db } from '../db/transaction.js';
import { clearFailures, countFailure, currentFailures } from './auth.repository.js';

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
export async function loginBlockedFor(db: Db, username: string, ip: string, policy: ThrottlePolicy): Promise<number> {
  const [userKey, ipKey] = keys(username, ip);
  let wait = 0;
  for (const r of await currentFailures(db, [userKey, ipKey], policy.windowSeconds)) {
    const max = r.key === userKey ? policy.maxPerAccount : policy.maxPerAddress;
    if (r.failures >= max) wait = Math.max(wait, r.retrySeconds);
  }
  return wait;
}

/** Counts a failed login against the account and the address (a new window once the old one ends). */
export async function recordLoginFailure(db: Db, username: string, ip: string, policy: ThrottlePolicy): Promise<void> {
  await countFailure(db, keys(username, ip), policy.windowSeconds);
}

export async function clearAccountFailures(db: Db, username: string): Promise<void> {
  await clearFailures(db, keys(username, '')[0]);
}
