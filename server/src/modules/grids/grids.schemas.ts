import { Type } from 'typebox';

export const GridSummary = Type.Object({
  id: Type.String(),
  code: Type.String(),
  name: Type.String(),
  communityCode: Type.String(),
  communityName: Type.String(),
  streetCode: Type.String(),
  streetName: Type.String(),
  areaSquareMetres: Type.Number(),
  buildingCount: Type.Integer(),
  householdCount: Type.Integer(),
  openIncidentCount: Type.Integer(),
  incidentCountByStatus: Type.Record(Type.String(), Type.Integer()),
  responderCount: Type.Integer(),
  respondersByStatus: Type.Record(Type.String(), Type.Integer()),
});
