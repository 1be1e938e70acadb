import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { buildTestApp } from '../support/app.js';

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database?.drop();
});

describe('default deny at start-up', () => {
  it('a route registered without config.permission makes app.ready() reject, naming the route', async () => {
    const app = await buildTestApp(database, { signedIn: false });
    app.get('/api/forgotten', async () => ({ secret: true }));
    app.post('/api/also-forgotten/:id', { config: {} }, async () => ({}));
    await expect(app.ready()).rejects.toThrow(/GET \/api\/forgotten.*POST \/api\/also-forgotten\/:id|POST \/api\/also-forgotten\/:id.*GET \/api\/forgotten/);
    await app.close().catch(() => {});
  });

  it('one in a plugin (an encapsulated context) is caught too; an unknown permission name counts as none', async () => {
    const app = await buildTestApp(database, { signedIn: false });
    await app.register(async (child) => {
      child.get('/api/nested', { config: { permission: 'map.write' as never } }, async () => ({}));
    });
    await expect(app.ready()).rejects.toThrow(/GET \/api\/nested/);
    await app.close().catch(() => {});
  });

  it('the real application starts: every route it registers declares a permission', async () => {
    const app = await buildTestApp(database, { signedIn: false });
    await expect(app.ready()).resolves.toBeDefined();
    await app.close();
  });
});
