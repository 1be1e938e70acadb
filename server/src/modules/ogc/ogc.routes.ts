import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { CONFORMS_TO, Conformance, LandingPage } from './ogc.schemas.js';

const JSON_TYPE = 'application/json';

/**
 * The OGC API Features landing page and conformance declaration. Public: they are metadata (what
 * the API is, where its description and data are); the collections they point to need a session
 * (`map.read`). The SPA keeps `/`; `/api` is a route of its own, so the web app's fallback never
 * sees it.
 */
const ogcRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/api',
    {
      config: { permission: 'public' },
      schema: { tags: ['features'], summary: 'Landing page (OGC API Features)', response: { 200: LandingPage } },
    },
    async (request) => {
      const base = `${app.linkBase(request)}/api`;
      return {
        title: 'wangge API',
        description: '网格化管理 — grid-management data of the district: areas, grids, buildings, roads, responders and incidents (OGC API Features; the collections need a signed-in session).',
        links: [
          { href: base, rel: 'self', type: JSON_TYPE, title: 'This document' },
          { href: `${base}/docs/json`, rel: 'service-desc', type: 'application/vnd.oai.openapi+json;version=3.0', title: 'The API definition (OpenAPI 3.0)' },
          { href: `${base}/docs`, rel: 'service-doc', type: 'text/html', title: 'The API documentation' },
          { href: `${base}/conformance`, rel: 'conformance', type: JSON_TYPE, title: 'Conformance classes implemented by this API' },
          { href: `${base}/collections`, rel: 'data', type: JSON_TYPE, title: 'Feature collections' },
        ],
      };
    },
  );

  app.get(
    '/api/conformance',
    {
      config: { permission: 'public' },
      schema: { tags: ['features'], summary: 'Conformance classes (OGC API Features)', response: { 200: Conformance } },
    },
    async (request) => {
      const base = `${app.linkBase(request)}/api`;
      return {
        conformsTo: CONFORMS_TO,
        links: [
          { href: `${base}/conformance`, rel: 'self', type: JSON_TYPE, title: 'This document' },
          { href: base, rel: 'root', type: JSON_TYPE, title: 'Landing page' },
        ],
      };
    },
  );
};

export default ogcRoutes;
