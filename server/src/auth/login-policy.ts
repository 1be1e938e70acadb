/**
 * How many failed sign-ins are verified, and from where (auth/throttle.ts). Every attempt is
 * counted before its password is checked, atomically in the database, so the numbers hold whatever
 * the concurrency and however many API processes run.
 */
export interface LoginPolicy {
  /** Length of a counting window (s). */
  windowSeconds: number;
  /** Attempts per (account, address) in a window: strict; beyond it that address waits for the window to end. */
  maxPerAccountAddress: number;
  /**
   * Failures per account across all addresses in a window before the soft lockout: each further
   * attempt waits `delayBaseSeconds × 2^(failures − max)` after the previous one, at most `delayMaxSeconds`
   * (OWASP ASVS 2.2.1), so a distributed guesser slows to a crawl while the owner is not locked out.
   */
  maxPerAccount: number;
  /** Failures per address across all accounts in a window (password spraying). */
  maxPerAddress: number;
  delayBaseSeconds: number;
  delayMaxSeconds: number;
}

export const DEFAULT_LOGIN_POLICY: LoginPolicy = {
  windowSeconds: 15 * 60,
  maxPerAccountAddress: 5,
  maxPerAccount: 50,
  maxPerAddress: 50,
  delayBaseSeconds: 1,
  delayMaxSeconds: 15 * 60,
};
