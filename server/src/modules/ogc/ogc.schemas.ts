import { Type } from 'typebox';
import { Link } from '../collections/collections.schemas.js';

/** The OGC API landing page (OGC API - Features - Part 1: Core, 7.2). */
export const LandingPage = Type.Object({
  title: Type.String(),
  description: Type.String(),
  links: Type.Array(Link),
});

/** The conformance declaration (Part 1: Core, 7.4). */
export const Conformance = Type.Object({
  conformsTo: Type.Array(Type.String()),
  links: Type.Array(Link),
});

/** The conformance classes this API implements. */
export const CONFORMS_TO = [
  'http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core',
  'http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson',
  'http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30',
];
