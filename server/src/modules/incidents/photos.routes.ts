/**
 * Photos of an incident: uploaded as a raw image body (JPEG, PNG or WebP, checked by magic bytes,
 * at most `photoMaxBytes`), kept in the database or in `command.photoDir` (photos.store.ts). At
 * most 6 photos wait to be attached to a step, 24 per incident, `photoBudgetPerHour` per uploader
 * (incidents.service.ts addPhoto). With a photo folder, its orphans are removed when the app is ready.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { ApiError } from '../../plugins/errors.js';
import { IdParams } from '../../lib/schemas.js';
import { addPhoto, readPhoto, removeOrphanPhotosForSystem, type IncidentsDeps } from './incidents.service.js';
import { INCIDENT_VALIDATION, PHOTO_TYPES, PhotoCreated, PhotoParams } from './incidents.schemas.js';

const photosRoutes: FastifyPluginAsyncTypebox<{ deps: IncidentsDeps }> = async (app, { deps }) => {
  const { photoMaxBytes, photoDir } = deps.command;
  // Raw image bodies, only in this plugin's routes.
  app.addContentTypeParser([...PHOTO_TYPES], { parseAs: 'buffer', bodyLimit: photoMaxBytes }, (_request, body, done) => done(null, body));

  if (photoDir) {
    // Files of failed or interrupted uploads (no row names them) go at start; a failure is logged, not fatal.
    app.addHook('onReady', async () => {
      try {
        const removed = await removeOrphanPhotosForSystem(app.db, photoDir);
        if (removed) app.log.info(`photos: removed ${removed} orphaned files from ${photoDir}`);
      } catch (err) {
        app.log.warn({ err }, 'photos: the orphan sweep of the photo folder failed');
      }
    });
  }

  app.post(
    '/api/incidents/:id/photos',
    {
      config: { permission: 'incident.handle', validation: INCIDENT_VALIDATION },
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
      const answer = await addPhoto(deps, request.user!, request.params.id, request.body, String(request.headers['content-type'] ?? ''));
      return reply.code(201).send(answer.body);
    },
  );

  app.get(
    '/api/incidents/:id/photos/:photoId',
    {
      config: { permission: 'map.read', validation: INCIDENT_VALIDATION },
      schema: {
        tags: ['incidents'],
        summary: 'A photo of an incident (the image bytes)',
        params: PhotoParams,
        response: { 200: Type.Unsafe<Buffer>({ type: 'string', format: 'binary' }) },
      },
    },
    async (request, reply) => {
      const photo = await readPhoto(app.db, photoDir, request.user!, request.params.id, request.params.photoId);
      return reply
        .header('Cache-Control', 'private, max-age=86400')
        .header('ETag', `"${photo.sha256}"`)
        .type(photo.contentType)
        .send(photo.bytes);
    },
  );
};

export default photosRoutes;
