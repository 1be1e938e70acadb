/**
 * The sign-in throttle. Every attempt is counted BEFORE its password is checked, in one short
 * transaction that locks the attempt's counters (throttle.repository.ts), so at most the limits'
 * worth of passwords is ever verified per window — whatever the concurrency and however many API
 * processes share the database. Three counters an attempt (numbers: auth/login-policy.ts):
 *
 * - account + address: strict (5 per 15 minutes): a guesser at one address is stopped there, and
 *   the owner signing in from another address is not (no lockout of an account from anywhere);
 * - account, all addresses: past 50 failures in the window each further attempt waits
 *   base × 2^(failures − 50) seconds after the previous one (soft lockout, OWASP ASVS 2.2.1);
 * - address, all accounts: 50 (password spraying).
 *
 * An attempt refused here is not counted (the hammering itself does not feed the account's
 * counter); a successful one is taken back from every counter (it was no failure).
 */
import type { Kysely } from 'kysely';
import type { DB } from '../db/types.js';
import { inTransaction, type Db } from '../db/transaction.js';
import type { LoginPolicy } from './login-policy.js';
import { countAttempt, lockCounters, uncountAttempt, type Counter } from './throttle.repository.js';

interface Keys {
  pair: string;
  account: string;
  address: string;
}

const keysOf = (username: string, ip: string): Keys => {
  const name = username.toLowerCase().slice(0, 100);
  return { pair: `user-ip:${name}|${ip}`, account: `user:${name}`, address: `ip:${ip}` };
};

/** Seconds the soft lockout makes an account wait after its last attempt, given its failures. */
export function softLockoutSeconds(failures: number, policy: LoginPolicy): number {
  if (failures < policy.maxPerAccount) return 0;
  const doublings = Math.min(failures - policy.maxPerAccount, 30);
  return Math.min(policy.delayBaseSeconds * 2 ** doublings, policy.delayMaxSeconds);
}

/** Seconds a counter makes the next attempt wait (0: it may go ahead). */
function waitFor(c: Counter, keys: Keys, policy: LoginPolicy): number {
  if (c.key === keys.pair) return c.attempts >= policy.maxPerAccountAddress ? c.windowLeftSeconds : 0;
  if (c.key === keys.address) return c.attempts >= policy.maxPerAddress ? c.windowLeftSeconds : 0;
  const delay = softLockoutSeconds(c.attempts, policy);
  return delay > 0 ? Math.max(0, Math.ceil(delay - c.sinceLastSeconds)) : 0;
}

/**
 * Counts an attempt to sign in as `username` from `ip`, or refuses it: the seconds to wait before
 * trying again (0: counted, go ahead and check the password).
 */
export async function reserveSignInAttempt(db: Kysely<DB>, username: string, ip: string, policy: LoginPolicy): Promise<number> {
  const keys = keysOf(username, ip);
  const all = [keys.pair, keys.account, keys.address];
  return inTransaction(db, async (trx) => {
    const counters = await lockCounters(trx, all, policy.windowSeconds);
    const wait = Math.max(0, ...counters.map((c) => waitFor(c, keys, policy)));
    if (wait === 0) await countAttempt(trx, all, policy.windowSeconds);
    return wait;
  });
}

/**
 * The counted attempt was the right password: it is no failure and is taken back from every
 * counter. Failures are not forgiven by a success (the limits count failures in a window, however
 * they are interleaved with successes), so a burst that contains the right password still has at
 * most the limit of wrong ones checked.
 */
export async function signInSucceeded(db: Db, username: string, ip: string): Promise<void> {
  const keys = keysOf(username, ip);
  await uncountAttempt(db, [keys.pair, keys.account, keys.address]);
}
