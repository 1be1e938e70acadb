/**
 * Photos of an incident: uploaded as a raw image body (JPEG, PNG or WebP, checked by magic bytes,
 * at most `photoMaxBytes`), kept in the database (bytea) or, when `command.photoDir` is set, in
 * that folder under their SHA-256 (the row then holds only the hash). At most 6 photos wait to
 * be attached to a step, 24 per incident.
 */
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { CommandConfig } from '../../config.js';
import { ApiError } from '../../plugins/errors.js';
import { withTransaction } from '../../db/transaction.js';
import { publishEvents } from '../../live/publish.js';
import { isCommand } from './lifecycle.js';
import { incidentError } from './incidents.errors.js';
import { photoUrl, scopeSql, UUID_RE, viewerOf } from './incidents.repository.js';
import { MAX_PENDING_PHOTOS, MAX_PHOTOS_PER_INCIDENT, PHOTO_TYPES, PhotoCreated, PhotoParams, IdParams } from './incidents.schemas.js';

export type PhotoType = (typeof PHOTO_TYPES)[number];

/** The image type the bytes say they are (magic numbers), if one we accept. */
export function sniffImage(b: Buffer): PhotoType | undefined {
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'image/jpeg';
  if (b.length >= 8 && b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'image/png';
  if (b.length >= 12 && b.toString('latin1', 0, 4) === 'RIFF' && b.toString('latin1', 8, 12) === 'WEBP') return 'image/webp';
  return undefined;
}

const photoPath = (dir: string, sha: string) => path.join(dir, sha.slice(0, 2), sha);

/** Writes the bytes under their hash unless already there (content-addressed: same bytes, same file). */
async function writePhotoFile(dir: string, sha: string, data: Buffer): Promise<void> {
  const file = photoPath(dir, sha);
  try {
    await fs.access(file);
    return;
  } catch {
    // not there yet
  }
  await fs.mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${crypto.randomBytes(6).toString('hex')}.tmp`;
  await fs.writeFile(tmp, data);
  await fs.rename(tmp, file);
}

const photosRoutes: FastifyPluginAsyncTypebox<{ command: CommandConfig }> = async (app, opts) => {
  const { photoMaxBytes, photoDir } = opts.command;
  // Raw image bodies, only in this plugin's routes.
  app.addContentTypeParser([...PHOTO_TYPES], { parseAs: 'buffer', bodyLimit: photoMaxBytes }, (_request, body, done) => done(null, body));

  app.post(
    '/api/incidents/:id/photos',
    {
      config: { permission: 'incident.handle' },
      bodyLimit: photoMaxBytes,
      // A declared length over the limit is refused before the body is read.
      onRequest: async (request) => {
        const length = Number(request.headers['content-length'] ?? 0);
        if (length > photoMaxBytes) throw new ApiError(413, 'PAYLOAD_TOO_LARGE', `a photo may have at most ${photoMaxBytes} bytes`);
      },
      schema: {
        tags: ['incidents'],
        summary: 'Upload a photo (raw JPEG, PNG or WebP body) to an incident; attach it to resolve/verify with photoIds',
        consumes: [...PHOTO_TYPES],
        params: IdParams,
        response: { 201: PhotoCreated },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const data = request.body as unknown;
      if (!Buffer.isBuffer(data) || data.length === 0) throw new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', 'send the image as the raw body with Content-Type image/jpeg, image/png or image/webp');
      if (data.length > photoMaxBytes) throw new ApiError(413, 'PAYLOAD_TOO_LARGE', `a photo may have at most ${photoMaxBytes} bytes`);
      const declared = String(request.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
      const sniffed = sniffImage(data);
      if (!sniffed || sniffed !== declared) {
        throw new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', `the bytes are not a ${declared || 'supported image'} (JPEG, PNG or WebP, checked by content)`);
      }
      if (!UUID_RE.test(id)) throw new ApiError(404, 'NOT_FOUND', `no incident "${id}"`);
      const v = await viewerOf(app.pool, request.user!);
      const sha = crypto.createHash('sha256').update(data).digest('hex');
      if (photoDir) await writePhotoFile(photoDir, sha, data);
      const created = await withTransaction(app.pool, async (client) => {
        const { rows } = await client.query<{
          id: string; status: string; district_id: string | null; grid_code: string | null; priority: string; lon: number; lat: number;
          reported_by: string | null; assignee_id: string | null; assignee_department: string | null; pending: number; total: number;
        }>(
          `SELECT i.id::text, i.status, i.district_id::text, g.code AS grid_code, i.priority, ST_X(i.location) AS lon, ST_Y(i.location) AS lat,
                  i.reported_by::text, i.assignee_responder_id::text AS assignee_id, i.assignee_department
             FROM incidents i LEFT JOIN grids g ON g.id = i.grid_id
            WHERE i.id = $1::uuid AND ${scopeSql('$2', '$3')} FOR UPDATE OF i`,
          [id, v.areaCode, v.responderId],
        );
        const inc = rows[0];
        if (!inc) throw new ApiError(404, 'NOT_FOUND', `no incident "${id}"`);
        const mayUpload =
          isCommand(v.role) || inc.reported_by === v.id || (v.responderId !== null && inc.assignee_id === v.responderId) ||
          (v.departmentCode !== null && inc.assignee_department === v.departmentCode);
        if (!mayUpload) throw new ApiError(403, 'FORBIDDEN', 'only the command centre, the reporter or the assignee may add photos');
        if (inc.status === 'closed') throw new ApiError(409, 'CONFLICT', 'the incident is closed');
        const { rows: counts } = await client.query<{ pending: number; total: number }>(
          `SELECT count(*) FILTER (WHERE transition_id IS NULL)::int AS pending, count(*)::int AS total FROM incident_photos WHERE incident_id = $1`,
          [inc.id],
        );
        if (counts[0].pending >= MAX_PENDING_PHOTOS) {
          throw incidentError(409, 'TOO_MANY_PHOTOS', `at most ${MAX_PENDING_PHOTOS} photos may wait to be attached to a step`);
        }
        if (counts[0].total >= MAX_PHOTOS_PER_INCIDENT) throw incidentError(409, 'TOO_MANY_PHOTOS', `at most ${MAX_PHOTOS_PER_INCIDENT} photos per incident`);
        const { rows: ins } = await client.query<{ id: string }>(
          `INSERT INTO incident_photos (incident_id, district_id, content_type, byte_size, sha256, data, uploaded_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id::text`,
          [inc.id, inc.district_id, sniffed, data.length, sha, photoDir ? null : data, v.id],
        );
        await publishEvents(client, [{
          type: 'incident.updated',
          entityId: inc.id,
          scopeCode: inc.grid_code ?? '',
          districtId: inc.district_id,
          data: {
            incidentId: inc.id, status: inc.status, priority: inc.priority, gridCode: inc.grid_code, lon: inc.lon, lat: inc.lat, action: 'photo',
            changes: { photoCount: { from: counts[0].total, to: counts[0].total + 1 } },
          },
        }]);
        return { id: ins[0].id, url: photoUrl(inc.id, ins[0].id), contentType: sniffed, byteSize: data.length };
      });
      app.live.wake();
      return reply.code(201).send(created);
    },
  );

  app.get(
    '/api/incidents/:id/photos/:photoId',
    {
      config: { permission: 'map.read' },
      schema: {
        tags: ['incidents'],
        summary: 'A photo of an incident (the image bytes)',
        params: PhotoParams,
        response: { 200: Type.Unsafe<Buffer>({ type: 'string', format: 'binary' }) },
      },
    },
    async (request, reply) => {
      const { id, photoId } = request.params;
      if (!UUID_RE.test(id) || !UUID_RE.test(photoId)) throw new ApiError(404, 'NOT_FOUND', 'no such photo');
      const u = request.user!;
      const { rows } = await app.pool.query<{ content_type: string; sha256: string; data: Buffer | null }>(
        `SELECT p.content_type, p.sha256, p.data FROM incident_photos p
           JOIN incidents i ON i.id = p.incident_id LEFT JOIN grids g ON g.id = i.grid_id
          WHERE p.id = $1::uuid AND p.incident_id = $2::uuid AND ${scopeSql('$3', '$4')}`,
        [photoId, id, u.areaCode, u.responderId],
      );
      const p = rows[0];
      if (!p) throw new ApiError(404, 'NOT_FOUND', 'no such photo');
      let bytes = p.data;
      if (!bytes && photoDir) bytes = await fs.readFile(photoPath(photoDir, p.sha256)).catch(() => null);
      if (!bytes) throw new ApiError(404, 'NOT_FOUND', 'the photo file is missing');
      return reply
        .header('Cache-Control', 'private, max-age=86400')
        .header('ETag', `"${p.sha256}"`)
        .type(p.content_type)
        .send(bytes);
    },
  );
};

export default photosRoutes;
