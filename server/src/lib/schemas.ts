import { Type, type TSchema } from 'typebox';

/**
 * A uuid in a path, query or body. With the route hint `validation.paramsNotFound` (plugins/errors.ts)
 * a malformed id in a path answers 404 like an unknown one. maxLength keeps out the `urn:uuid:`
 * form that the format also accepts.
 */
export const Uuid = Type.String({ format: 'uuid', maxLength: 36 });

/** `{ id }` path parameters of a resource addressed by uuid. */
export const IdParams = Type.Object({ id: Uuid });

export const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
