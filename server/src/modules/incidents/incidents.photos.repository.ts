/**
 * All SQL of incident photos: the counts and the uploader's budget that limit uploads, the new row,
 * one photo to serve, and the hashes rows name (the photo folder's orphan sweep).
 */
import { sql } from 'kysely';
import type { Db } from '../../db/transaction.js';
import { type Viewer } from '../../auth/scope.js';
import { incidentVisible } from '../../auth/scope.repository.js';
import { INCIDENT_REFS } from './incidents.repository.js';

/** Photos of the incident waiting for a step, and in all. */
export async function photoCounts(trx: Db, incidentId: string): Promise<{ pending: number; total: number }> {
  return trx
    .selectFrom('incident_photos')
    .select((eb) => [eb.fn.countAll<number>().filterWhere('transition_id', 'is', null).as('pending'), eb.fn.countAll<number>().as('total')])
    .where('incident_id', '=', incidentId)
    .executeTakeFirstOrThrow();
}

/** Serialises one uploader's uploads (every API process), so two at once cannot both take the budget's last place. */
export async function lockUploaderBudget(trx: Db, userId: string): Promise<void> {
  // A transaction-scoped advisory lock: the builder has no spelling for it.
  await sql`SELECT pg_advisory_xact_lock(hashtext(${`photo-budget:${userId}`}))`.execute(trx);
}

/**
 * When the uploader has uploaded `budget` photos within the last hour: the seconds until the
 * oldest of the newest `budget` leaves the hour (then one more fits); otherwise null.
 */
export async function uploaderBudgetWait(trx: Db, userId: string, budget: number): Promise<number | null> {
  const row = await trx
    .selectFrom('incident_photos')
    .select(sql<number>`greatest(1, ceil(extract(epoch FROM created_at + interval '1 hour' - now())))::int`.as('wait'))
    .where('uploaded_by', '=', userId)
    .where('created_at', '>', sql<Date>`now() - interval '1 hour'`)
    .orderBy('created_at', 'desc')
    .limit(1)
    .offset(budget - 1)
    .executeTakeFirst();
  return row ? row.wait : null;
}

export interface NewPhoto {
  incidentId: string;
  districtId: string | null;
  contentType: string;
  byteSize: number;
  sha256: string;
  /** The bytes when kept in the database; null when they are in the photo folder. */
  data: Buffer | null;
  uploadedBy: string;
}

/** Stores a photo's row; returns its id. */
export async function insertPhoto(trx: Db, p: NewPhoto): Promise<string> {
  const row = await trx
    .insertInto('incident_photos')
    .values({
      incident_id: p.incidentId, district_id: p.districtId, content_type: p.contentType, byte_size: p.byteSize, sha256: p.sha256,
      data: p.data, uploaded_by: p.uploadedBy,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

/** A photo of an incident the viewer sees: its type, hash and (when stored in the database) bytes. */
export async function findPhoto(db: Db, v: Viewer, incidentId: string, photoId: string) {
  return db
    .selectFrom('incident_photos as p')
    .innerJoin('incidents as i', 'i.id', 'p.incident_id')
    .leftJoin('grids as g', 'g.id', 'i.grid_id')
    .select(['p.content_type', 'p.sha256', 'p.data'])
    .where('p.id', '=', photoId)
    .where('p.incident_id', '=', incidentId)
    .where(incidentVisible(v, INCIDENT_REFS))
    .executeTakeFirst();
}

/** Which of the hashes photo rows name (a file of the photo folder that no row names is an orphan). */
export async function namedPhotoHashes(db: Db, shas: string[]): Promise<Set<string>> {
  if (!shas.length) return new Set();
  const rows = await db.selectFrom('incident_photos').select('sha256').distinct().where('sha256', 'in', shas).execute();
  return new Set(rows.map((r) => r.sha256));
}
