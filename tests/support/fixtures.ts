import type pg from 'pg';

/**
 * A small hand-made district (Huangpu codes) for API tests: one district, one street, one
 * community split into two grids, buildings, a road, responders and incidents at known places.
 * Coordinates near the Bund; the community is the box 121.480–121.490 × 31.230–31.240.
 */
export async function insertSmallDistrict(pool: pg.Pool) {
  await pool.query(`
    INSERT INTO areas (code, name, geom) VALUES
      ('310101', '黄浦区', ST_Multi(ST_MakeEnvelope(121.47, 31.22, 121.50, 31.25, 4326))),
      ('310101002', '外滩街道', ST_Multi(ST_MakeEnvelope(121.475, 31.225, 121.495, 31.245, 4326))),
      ('310101002001', '金陵东路社区', ST_Multi(ST_MakeEnvelope(121.48, 31.23, 121.49, 31.24, 4326)));
    INSERT INTO grids (code, name, community_id, geom)
      SELECT '310101002001001', '第1网格', id, ST_Multi(ST_MakeEnvelope(121.48, 31.23, 121.485, 31.24, 4326))
        FROM areas WHERE code = '310101002001'
      UNION ALL
      SELECT '310101002001002', '第2网格', id, ST_Multi(ST_MakeEnvelope(121.485, 31.23, 121.49, 31.24, 4326))
        FROM areas WHERE code = '310101002001';
    INSERT INTO buildings (name, address, floors, households, geom, source, source_id)
      SELECT '楼' || i, '金陵东路' || i || '号', 6, 24, ST_Multi(ST_Buffer(ST_Point(121.4805 + i * 0.0008, 31.235, 4326), 0.0001, 2)), 'fixture', i::text
        FROM generate_series(0, 11) i;
    INSERT INTO roads (name, class, geom) VALUES
      ('金陵东路', 'secondary', ST_GeomFromText('LINESTRING(121.48 31.2325, 121.49 31.2325)', 4326));
    INSERT INTO responders (kind, name, status, position, position_at, home_grid_id)
      SELECT 'grid_worker', '张' || i, CASE WHEN i = 0 THEN 'busy' ELSE 'available' END,
             ST_Point(121.481 + i * 0.002, 31.236, 4326), now() - interval '5 minutes',
             (SELECT id FROM grids WHERE code = CASE WHEN i < 2 THEN '310101002001001' ELSE '310101002001002' END)
        FROM generate_series(0, 3) i;
    INSERT INTO incidents (category, priority, status, location, description, reported_at)
      SELECT CASE WHEN i % 2 = 0 THEN 'dispute' ELSE 'sanitation' END, 'normal',
             CASE WHEN i < 3 THEN 'closed' ELSE 'reported' END,
             ST_Point(121.4812 + i * 0.0009, 31.2331, 4326), '事件' || i, now() - (i || ' hours')::interval
        FROM generate_series(0, 9) i;
  `);
  const { rows } = await pool.query<{ code: string; id: string }>('SELECT code, id::text FROM grids ORDER BY code');
  return { gridIds: rows.map((r) => r.id) };
}
