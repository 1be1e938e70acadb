import { Type } from 'typebox';

export const Entry = Type.Object({
  id: Type.Integer(),
  at: Type.String({ description: 'when it happened (the first time, for a counted row)' }),
  count: Type.Integer({
    minimum: 1,
    description: 'how many times: repeated reads of one incident\'s reporter contact by one user from one address within 15 minutes of the first are one row; else 1',
  }),
  lastAt: Type.String({ description: 'the last time (equal to `at` when count is 1)' }),
  actorId: Type.Union([Type.String(), Type.Null()]),
  actorUsername: Type.Union([Type.String(), Type.Null()]),
  actorRole: Type.Union([Type.String(), Type.Null()]),
  action: Type.String(),
  entity: Type.String(),
  entityId: Type.Union([Type.String(), Type.Null()]),
  before: Type.Unknown(),
  after: Type.Unknown(),
  ip: Type.Union([Type.String(), Type.Null()]),
});
