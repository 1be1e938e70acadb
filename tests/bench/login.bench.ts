import { hashPassword, verifyPassword } from '../../server/src/auth/passwords.js';
import { fmt, median, timed, type Row } from './stats.js';

const RUNS = 30;

/**
 * Sign-in work for an unknown username vs a known one with a wrong password, interleaved: the
 * ratio should be ≈ 1 (the unknown name is verified against a decoy hash), so response time does
 * not tell which usernames exist.
 */
export async function benchLoginWork(): Promise<Row[]> {
  const stored = await hashPassword('the real passphrase');
  await verifyPassword(undefined, 'warm-up'); // build the decoy once
  const known: number[] = [];
  const unknown: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    known.push(await timed(() => verifyPassword(stored, `wrong ${i}`)));
    unknown.push(await timed(() => verifyPassword(undefined, `wrong ${i}`)));
  }
  return [
    {
      what: `password check, median of ${RUNS} (argon2id)`,
      ours: `unknown user ${fmt(median(unknown))} ms`,
      baseline: `known user, wrong password ${fmt(median(known))} ms`,
      ratio: fmt(median(unknown) / median(known), 2),
      note: 'target ≈ 1.0 (no username oracle)',
    },
  ];
}
