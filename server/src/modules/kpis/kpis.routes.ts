/**
 * The department scores (考评, issue 12): the ranking table (JSON, CSV, XLSX), the incidents
 * behind each figure, and the score's weights (admins change them). The work is in kpis.service.ts.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { auditOf } from '../audit/audit.repository.js';
import { IncidentCollection } from '../incidents/incidents.schemas.js';
import { departmentTable, figureIncidents, setWeights, tableCsv, tableXlsx, weightsAnswer } from './kpis.service.js';
import { KpiAnswer, KpiIncidentsQuery, KpiQuery, WeightsAnswer, WeightsBody } from './kpis.schemas.js';

const XLSX_TYPE = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

const kpisRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/api/kpis/departments',
    {
      config: { permission: 'kpi.read' },
      schema: {
        tags: ['kpis'],
        summary: 'Departments scored over the tasks dispatched to them in a range of days (Asia/Shanghai), in the caller\'s scope; format=csv|xlsx exports the table',
        querystring: KpiQuery,
        response: { 200: KpiAnswer },
      },
    },
    async (request, reply) => {
      const table = await departmentTable(app.db, request.user!, request.query);
      const format = request.query.format ?? 'json';
      if (format === 'json') return table;
      const name = `department-scores-${table.from}-${table.to}${table.area ? `-${table.area}` : ''}.${format}`;
      reply.header('content-disposition', `attachment; filename="${name}"`);
      // A text or a buffer is sent as it is (the JSON schema of 200 describes format=json).
      if (format === 'csv') return reply.type('text/csv; charset=utf-8').send(tableCsv(table) as never);
      return reply.type(XLSX_TYPE).send((await tableXlsx(table)) as never);
    },
  );

  app.get(
    '/api/kpis/departments/:code/incidents',
    {
      config: { permission: 'kpi.read' },
      schema: {
        tags: ['kpis'],
        summary: 'The incidents behind one figure of a department\'s row (same range and area), newest task first',
        params: Type.Object({ code: Type.String({ pattern: '^[a-z_]{1,40}$' }) }),
        querystring: KpiIncidentsQuery,
        response: { 200: IncidentCollection },
      },
    },
    async (request) => figureIncidents(app.db, request.user!, request.params.code, request.query),
  );

  app.get(
    '/api/kpis/department-weights',
    {
      config: { permission: 'kpi.read' },
      schema: { tags: ['kpis'], summary: 'The weights of the department score', response: { 200: WeightsAnswer } },
    },
    async () => weightsAnswer(app.db),
  );

  app.put(
    '/api/kpis/department-weights',
    {
      config: { permission: 'kpi.manage' },
      schema: { tags: ['kpis'], summary: 'Set the weights of the department score (all five; audited)', body: WeightsBody, response: { 200: WeightsAnswer } },
    },
    async (request) => (await setWeights({ db: app.db, live: app.live }, request.user!, request.body.weights, auditOf(request))).body,
  );
};

export default kpisRoutes;
