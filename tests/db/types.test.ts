import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateDbTypes, TYPES_FILE } from '../../server/scripts/db-types.js';
import { tempDir, usesExternalDatabase } from '../support/database.js';

// The committed types are generated on PostgreSQL 15 + PostGIS (the CI server); PGlite reports
// some catalogue details differently, so the comparison only means something on a real server.
const skipReason = usesExternalDatabase ? undefined : 'the committed types are generated from PostgreSQL 15 (set TEST_DATABASE_URL)';
if (skipReason) console.log(`[tests/db/types] skipped: ${skipReason}`);

describe.skipIf(Boolean(skipReason))('generated table types', () => {
  it('server/src/db/types.ts is what the migrations generate now', { timeout: 120_000 }, async () => {
    const out = path.join(tempDir('db-types'), 'types.ts');
    await generateDbTypes(process.env.TEST_DATABASE_URL!, out);
    const committed = fs.readFileSync(TYPES_FILE, 'utf8');
    expect(fs.readFileSync(out, 'utf8'), 'server/src/db/types.ts is out of date: run pnpm db:types').toBe(committed);
  });
});
