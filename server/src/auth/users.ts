import type pg from 'pg';
import { hashPassword, passwordProblem } from './passwords.js';
import { isAreaCode, isRole, type Role } from './permissions.js';

export class UserInputError extends Error {}

export interface NewUser {
  username: string;
  password: string;
  role: Role;
  areaCode: string;
  displayName?: string;
}

/** Checks a new account's fields; throws UserInputError with a message a person can act on. */
export function validateNewUser(u: NewUser): void {
  if (!/^[a-z0-9][a-z0-9_.-]{2,39}$/.test(u.username)) {
    throw new UserInputError('username: 3–40 characters, lower-case letters, digits, "_", "." or "-", starting with a letter or digit');
  }
  if (!isRole(u.role)) throw new UserInputError(`role must be one of admin, commander, planner, grid_worker, department, viewer`);
  if (!isAreaCode(u.areaCode)) throw new UserInputError('area must be * or a 6/9/12-digit area code or a 15-digit grid code');
  if (u.areaCode === '*' && u.role !== 'admin') throw new UserInputError('only admins may have the whole installation (*) as their area');
  const weak = passwordProblem(u.password);
  if (weak) throw new UserInputError(weak);
}

/**
 * Creates an account in one transaction; a grid worker gets its responder record (linked to the
 * account, home grid when the area is a grid) unless one is linked already.
 */
export async function createUser(pool: pg.Pool, u: NewUser): Promise<{ id: string; responderId: string | null }> {
  validateNewUser(u);
  const hash = await hashPassword(u.password);
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const exists = await client.query('SELECT 1 FROM users WHERE username = $1', [u.username]);
    if (exists.rowCount) throw new UserInputError(`username "${u.username}" is taken`);
    if (u.areaCode !== '*') {
      const known = await client.query(
        `SELECT 1 FROM areas WHERE code = $1 UNION ALL SELECT 1 FROM grids WHERE code = $1`,
        [u.areaCode],
      );
      if (!known.rowCount) throw new UserInputError(`no area or grid with code ${u.areaCode}`);
    }
    const { rows } = await client.query<{ id: string }>(
      `INSERT INTO users (username, display_name, password_hash, role, area_code) VALUES ($1, $2, $3, $4, $5) RETURNING id::text`,
      [u.username, u.displayName ?? null, hash, u.role, u.areaCode],
    );
    let responderId: string | null = null;
    if (u.role === 'grid_worker') {
      const r = await client.query<{ id: string }>(
        `INSERT INTO responders (kind, name, status, home_grid_id, user_id)
         SELECT 'grid_worker', $2, 'off_duty', (SELECT id FROM grids WHERE code = $3), $1
         RETURNING id::text`,
        [rows[0].id, u.displayName ?? u.username, u.areaCode],
      );
      responderId = r.rows[0].id;
    }
    await client.query('COMMIT');
    return { id: rows[0].id, responderId };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}
