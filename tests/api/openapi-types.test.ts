import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateApiTypes, REGENERATE_COMMAND, SCHEMA_FILE } from '../../web/scripts/api-types.js';
import { tempDir } from '../support/database.js';

// The document is made from the route schemas alone (no database is reached), so this runs the
// same on the embedded and on an external database.
describe('web API types (web/src/api/schema.d.ts)', () => {
  it('match the OpenAPI document the server generates from its route schemas', async () => {
    const fresh = await generateApiTypes();
    const committed = fs.existsSync(SCHEMA_FILE) ? fs.readFileSync(SCHEMA_FILE, 'utf8') : '';
    if (fresh !== committed) {
      const file = path.join(tempDir('api-types'), 'schema.d.ts');
      fs.writeFileSync(file, fresh);
      expect.fail(`web/src/api/schema.d.ts is stale (the route schemas changed): run \`${REGENERATE_COMMAND}\` and commit it (fresh output: ${file})`);
    }
  });
});
