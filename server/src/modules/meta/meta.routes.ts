/**
 * What the web app follows instead of keeping copies: the lifecycle table, priorities, photo
 * limits, categories and departments, each read from the server's own source of truth.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { DEFAULT_COMMAND_CONFIG, type CommandConfig } from '../../config.js';
import { ROLES } from '../../auth/permissions.js';
import {
  INCIDENT_ACTIONS, INCIDENT_STATUSES, LIFECYCLE, OPEN_STATUSES, isCommand, mayAct, noteRequired, takesMinutes, takesScore,
} from '../incidents/lifecycle.js';
import { MAX_PENDING_PHOTOS, MAX_PHOTOS_PER_INCIDENT, PHOTO_TYPES, PRIORITIES } from '../incidents/incidents.schemas.js';
import { listCategories, listDepartments } from '../incidents/incidents.repository.js';
import { Meta } from './meta.schemas.js';

/** The lifecycle table as data: the note rule spelled out per from-status, the actors as roles. */
export function lifecycleTable(): Meta['lifecycle'] {
  const assigned = { isAssignee: true, isAssignedDepartment: true };
  return {
    statuses: [...INCIDENT_STATUSES],
    openStatuses: [...OPEN_STATUSES],
    actions: INCIDENT_ACTIONS.map((action) => {
      const rule = LIFECYCLE[action];
      return {
        action,
        from: [...rule.from],
        to: rule.to,
        by: rule.by,
        noteRequiredFrom: rule.from.filter((from) => noteRequired(action, from)),
        photos: rule.photos,
        minutes: takesMinutes(action),
        score: takesScore(action),
      };
    }),
    actors: {
      command: ROLES.filter(isCommand),
      // Roles that may take a handler's action on an incident assigned to them.
      handler: ROLES.filter((role) => !isCommand(role) && INCIDENT_ACTIONS.some((a) => LIFECYCLE[a].by === 'handler' && mayAct(a, { role, ...assigned }))),
      community: ROLES.filter((role) => !isCommand(role) && INCIDENT_ACTIONS.some((a) => mayAct(a, { role, isAssignee: false, isAssignedDepartment: false, isGridWorkerOfGrid: true }))),
    },
  };
}

const metaRoutes: FastifyPluginAsyncTypebox<{ command?: Partial<CommandConfig> }> = async (app, opts) => {
  const command: CommandConfig = { ...DEFAULT_COMMAND_CONFIG, ...opts.command };
  const lifecycle = lifecycleTable();

  app.get(
    '/api/meta',
    {
      config: { permission: 'map.read' },
      schema: {
        tags: ['incidents'],
        summary: 'The incident lifecycle table, priorities, photo limits, categories and departments (what the web app follows)',
        response: { 200: Meta },
      },
    },
    async () => {
      const [categories, departments] = await Promise.all([listCategories(app.db), listDepartments(app.db)]);
      return {
        lifecycle,
        priorities: [...PRIORITIES],
        photos: {
          maxBytes: command.photoMaxBytes,
          types: [...PHOTO_TYPES],
          maxPendingPerStep: MAX_PENDING_PHOTOS,
          maxPerIncident: MAX_PHOTOS_PER_INCIDENT,
        },
        categories,
        departments,
      };
    },
  );
};

export default metaRoutes;
