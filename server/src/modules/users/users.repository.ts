import type pg from 'pg';

export interface UserRow {
  id: string;
  username: string;
  displayName: string | null;
  role: string;
  areaCode: string;
  disabled: boolean;
  responderId: string | null;
  createdAt: string;
}

const SELECT_USER = `
  SELECT u.id::text AS id, u.username, u.display_name AS "displayName", u.role, u.area_code AS "areaCode", u.disabled,
         r.id::text AS "responderId", to_char(u.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS "createdAt"
    FROM users u LEFT JOIN responders r ON r.user_id = u.id`;

/** Accounts whose area lies under `scope` ('*' for all). */
export async function listUsers(db: Pick<pg.Pool, 'query'>, scope: string, opts: { limit: number; offset: number; q?: string }) {
  const where = `WHERE ($1 = '*' OR u.area_code LIKE $1 || '%') AND ($2::text IS NULL OR u.username ILIKE '%' || $2 || '%' OR u.display_name ILIKE '%' || $2 || '%')`;
  // The search text is matched literally: its own % and _ are escaped.
  const q = opts.q === undefined ? null : opts.q.replace(/[\\%_]/g, (c) => `\\${c}`);
  const [page, count] = await Promise.all([
    db.query<UserRow>(`${SELECT_USER} ${where} ORDER BY u.username LIMIT $3 OFFSET $4`, [scope, q, opts.limit, opts.offset]),
    db.query<{ n: number }>(`SELECT count(*)::int AS n FROM users u ${where}`, [scope, q]),
  ]);
  return { users: page.rows, numberMatched: count.rows[0].n };
}

export async function getUser(db: Pick<pg.Pool, 'query'>, id: string, scope: string): Promise<UserRow | undefined> {
  const { rows } = await db.query<UserRow>(`${SELECT_USER} WHERE u.id = $1::uuid AND ($2 = '*' OR u.area_code LIKE $2 || '%')`, [id, scope]);
  return rows[0];
}
