/** All SQL of incident photos: the counts that limit uploads, the new row, and one photo to serve. */
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
