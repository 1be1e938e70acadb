import { Type } from 'typebox';
import { ROLES } from '../../auth/permissions.js';
import { Nullable } from '../../lib/schemas.js';

export const Role = Type.Union(ROLES.map((r) => Type.Literal(r)));
export const AreaCode = Type.String({ pattern: '^(\\*|[0-9]{6}([0-9]{3}){0,3})$', description: '* or a 6/9/12-digit area code or a 15-digit grid code' });

/** An account as the API answers it (never its password hash). */
export const User = Type.Object({
  id: Type.String(),
  username: Type.String(),
  displayName: Nullable(Type.String()),
  role: Type.String(),
  areaCode: Type.String(),
  disabled: Type.Boolean(),
  responderId: Nullable(Type.String({ description: 'the responder record linked to the account (grid workers)' })),
  departmentCode: Nullable(Type.String({ description: 'the department a department account works for (GET /api/meta: departments); null for other roles' })),
  createdAt: Type.String({ description: 'ISO 8601, UTC, whole seconds' }),
});

/** A department's code (GET /api/meta: departments); required for, and only for, a department account. */
export const DepartmentCode = Type.String({ minLength: 1, maxLength: 40, description: 'a department code (GET /api/meta: departments); required for role department, refused for other roles' });
