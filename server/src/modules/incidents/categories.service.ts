/**
 * Incident categories as an admin changes them (today: whether resolving needs a photo). The
 * categories are the whole installation's, so only an admin of the whole installation ('*') changes
 * them; each change in one transaction with its audit row.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../../db/types.js';
import { inTransaction } from '../../db/transaction.js';
import { ApiError } from '../../plugins/errors.js';
import type { SessionUser } from '../../auth/sessions.js';
import { appendAudit } from '../audit/audit.repository.js';
import { listCategories, updateCategory } from './incidents.repository.js';

export type CategoryView = Awaited<ReturnType<typeof listCategories>>[number];

export async function changeCategory(
  db: Kysely<DB>,
  who: { user: SessionUser; ip: string; requestId: string },
  code: string,
  change: { photoRequired?: boolean },
): Promise<CategoryView> {
  if (who.user.areaCode !== '*') {
    throw new ApiError(403, 'FORBIDDEN', 'categories are the whole installation\'s: only an admin of the whole installation (*) may change them');
  }
  return inTransaction(db, async (trx) => {
    const find = async () => (await listCategories(trx)).find((c) => c.code === code);
    const before = await find();
    if (!before || !(await updateCategory(trx, code, change))) throw new ApiError(404, 'NOT_FOUND', `no category "${code}"`);
    const after = (await find())!;
    await appendAudit(trx, who, { action: 'category.update', entity: 'category', entityId: code, before, after });
    return after;
  });
}
