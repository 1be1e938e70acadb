/**
 * Request validation: Fastify's own Ajv compiler (`@fastify/ajv-compiler`: the same defaults —
 * formats such as uuid and date-time, fast-uri — and the app's `ajv.customOptions`), one instance
 * per kind of request part. Querystring, params and headers arrive as text, so their values are
 * coerced to the schema's types (`?limit=10` is the number 10). A JSON body is typed already and
 * is never coerced: `null` or `"5"` where a number belongs, `["admin"]` where a string belongs, is
 * a 400 naming the field (plugins/errors.ts), never 0, 5 or "admin".
 */
import AjvCompiler from '@fastify/ajv-compiler';

/** The Ajv options of every request part; bodies differ only in `coerceTypes: false`. */
export const AJV_OPTIONS = { coerceTypes: 'array', removeAdditional: false, useDefaults: true, allErrors: false } as const;

type BuildValidator = ReturnType<typeof AjvCompiler>;
type RouteDefinition = Parameters<ReturnType<BuildValidator>>[0];

/** Header names are case-insensitive and arrive in lower case: Fastify lowers a headers schema's names itself only for its own compiler. */
function lowerCaseHeaders(route: RouteDefinition): RouteDefinition {
  const schema = route.schema as { properties?: Record<string, unknown>; required?: string[] };
  if (route.httpPart !== 'headers' || typeof schema !== 'object' || schema === null || !schema.properties) return route;
  const lowered = {
    ...schema,
    properties: Object.fromEntries(Object.entries(schema.properties).map(([name, s]) => [name.toLowerCase(), s])),
    ...(Array.isArray(schema.required) ? { required: schema.required.map((name) => name.toLowerCase()) } : {}),
  };
  return { ...route, schema: lowered };
}

/** `schemaController.compilersFactory.buildValidator` of the Fastify options: bodies without coercion, other parts with it. */
export const buildValidator: BuildValidator = (externalSchemas, options) => {
  const coercing = AjvCompiler()(externalSchemas, options);
  // JSON Schema mode (the app's); JTD, the other mode, has no coercion to turn off.
  const strict = AjvCompiler()(externalSchemas, { ...options, mode: undefined, customOptions: { ...options?.customOptions, coerceTypes: false } });
  return (route) => (route.httpPart === 'body' ? strict(route) : coercing(lowerCaseHeaders(route)));
};
