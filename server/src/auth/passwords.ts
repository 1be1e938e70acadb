import { hash, verify } from '@node-rs/argon2';

// argon2id with OWASP's second recommended setting (19 MiB, t=2, p=1).
const OPTIONS = { memoryCost: 19456, timeCost: 2, parallelism: 1, algorithm: 2 /* Argon2id */ } as const;

/** A hash of a fixed random password, verified against when the username is unknown so that
 * unknown and known usernames cost the same hashing work. */
let decoy: Promise<string> | undefined;

export function hashPassword(password: string): Promise<string> {
  return hash(password, OPTIONS);
}

/** Checks a password against a stored hash, or against a decoy hash when there is none. */
export async function verifyPassword(stored: string | undefined, password: string): Promise<boolean> {
  if (!stored) {
    decoy ??= hashPassword(crypto.randomUUID());
    await verify(await decoy, password).catch(() => false);
    return false;
  }
  return verify(stored, password).catch(() => false);
}

/** Password rules: length only (NIST SP 800-63B), 10 to 200 characters. */
export function passwordProblem(password: string): string | undefined {
  if (password.length < 10) return 'password must have at least 10 characters';
  if (password.length > 200) return 'password must have at most 200 characters';
  return undefined;
}
