import path from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { generate } from '@wangge/geo-data';
import { addUser, signIn as apiSignIn } from '../support/auth.js';
import { artifacts, e2eEnvironment, externalRequests, REQUIRED, signIn, submitLogin, UNAVAILABLE, watchedPage, type Account } from './harness.js';

/** The user API's refusals this test provokes on purpose (409 taken username, 400 bad input). */
const provoked = (url: string, text: string) => new URL(url).pathname.startsWith('/api/users') && (text.includes('409') || text.includes('400'));

/** The users table row of `username`. */
const userRow = (page: Page, username: string) =>
  page.locator('[data-testid="users-table"] tr.el-table__row', {
    has: page.locator('[data-testid="user-username"]', { hasText: new RegExp(`^${username}$`) }),
  });

/** Text of a form item's validation message in the open dialog, or '' when there is none. */
const fieldError = (page: Page, testid: string) =>
  page
    .locator('.el-form-item', { has: page.locator(`[data-testid="${testid}"]`) })
    .locator('.el-form-item__error')
    .textContent({ timeout: 1000 })
    .catch(() => '');

describe.skipIf(Boolean(UNAVAILABLE) && !REQUIRED)('administration page in Chromium', () => {
  let district: string;
  let gridCode: string;
  let admin: Account & { id: string };

  const env = e2eEnvironment(async (database) => {
    await generate(database.pool, { preset: 'tiny', seed: 1 });
    district = (await database.pool.query<{ code: string }>(`SELECT code FROM areas WHERE level = 'district' ORDER BY code LIMIT 1`)).rows[0].code;
    gridCode = (await database.pool.query<{ code: string }>('SELECT code FROM grids ORDER BY code LIMIT 1')).rows[0].code;
    admin = await addUser(database.pool, 'admin', '*');
  });

  it('lets an admin add a grid worker, disable it, reset its password, and read it all in the audit log', async () => {
    // A viewer in another time zone: times must still be Beijing time.
    const context = await env.browser.newContext({ viewport: { width: 1440, height: 900 }, locale: 'zh-CN', timezoneId: 'America/New_York' });
    const other = await env.browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'zh-CN' });
    try {
      const { page, requests, errors } = await watchedPage(context, provoked);
      await page.goto(`${env.base}/admin`);
      await signIn(page, admin);
      expect(new URL(page.url()).pathname).toBe('/admin');
      // The admin's navigation lists the map and the administration page.
      const nav = page.locator('[data-testid="app-nav"]');
      await expect.poll(() => nav.textContent()).toContain('系统管理');
      expect(await nav.textContent()).toContain('指挥地图');
      await expect.poll(() => userRow(page, admin.username).count()).toBe(1);
      expect(await userRow(page, admin.username).locator('[data-testid="user-role-label"]').textContent()).toBe('管理员');
      // One's own account cannot be switched off.
      expect(await userRow(page, admin.username).locator('[data-testid="user-toggle"] input').isDisabled()).toBe(true);

      // Add user: the form checks what it can, the server's objection shows in the dialog.
      const worker = { username: 'e2e.worker1', displayName: '测试网格员', password: 'initial-pass-123' };
      await page.click('[data-testid="user-add"]');
      const dialog = page.locator('.wg-admin-dialog', { hasText: '新增用户' });
      await dialog.waitFor({ state: 'visible' });
      expect(await dialog.locator('[data-testid="dialog-area-hint"]').textContent()).toContain('15 位网格编码');
      await dialog.locator('input[data-testid="dialog-username"]').fill(admin.username);
      await dialog.locator('input[data-testid="dialog-display-name"]').fill(worker.displayName);
      await dialog.locator('.el-select').click();
      await page.locator('.wg-admin-role-popper .el-select-dropdown__item', { hasText: '网格员' }).click();
      await dialog.locator('input[data-testid="dialog-area"]').fill('12345');
      await dialog.locator('input[data-testid="dialog-password"]').fill('short');
      await dialog.locator('[data-testid="dialog-submit"]').click();
      await expect.poll(() => fieldError(page, 'dialog-area')).toContain('辖区编码格式不正确');
      await expect.poll(() => fieldError(page, 'dialog-password')).toContain('至少 10 个字符');
      await dialog.locator('input[data-testid="dialog-area"]').fill(gridCode);
      await dialog.locator('input[data-testid="dialog-password"]').fill(worker.password);
      // The admin's own username is taken: 409 CONFLICT, its detail in the dialog.
      const conflict = page.waitForResponse((r) => r.url().endsWith('/api/users') && r.request().method() === 'POST');
      await dialog.locator('[data-testid="dialog-submit"]').click();
      expect((await conflict).status()).toBe(409);
      await expect.poll(() => dialog.locator('[data-testid="dialog-error"]').textContent()).toContain(`"${admin.username}" is taken`);
      await dialog.locator('input[data-testid="dialog-username"]').fill(worker.username);
      await dialog.locator('[data-testid="dialog-submit"]').click();
      await dialog.waitFor({ state: 'hidden' });

      // In the list, and in the database with its responder record.
      const row = userRow(page, worker.username);
      await expect.poll(() => row.count()).toBe(1);
      expect(await row.locator('[data-testid="user-role-label"]').textContent()).toBe('网格员');
      expect(await row.locator('[data-testid="user-area"]').textContent()).toBe(gridCode);
      expect(await row.locator('[data-testid="user-display-name"]').textContent()).toBe(worker.displayName);
      expect(await row.locator('[data-testid="user-status"]').getAttribute('data-disabled')).toBe('false');
      const { rows: created } = await env.database.pool.query<{ id: string; responder: string; kind: string; disabled: boolean }>(
        `SELECT u.id::text, r.id::text AS responder, r.kind, u.disabled FROM users u JOIN responders r ON r.user_id = u.id WHERE u.username = $1`,
        [worker.username],
      );
      expect(created).toHaveLength(1);
      expect(created[0].kind).toBe('grid_worker');
      const workerId = created[0].id;

      // The search finds it by display name.
      await page.fill('input[data-testid="users-search"]', '测试网格');
      await expect.poll(() => page.locator('[data-testid="users-table"] tr.el-table__row').count()).toBe(1);
      await page.fill('input[data-testid="users-search"]', '');
      await expect.poll(() => userRow(page, admin.username).count()).toBe(1);

      // Disable, after confirming.
      await row.locator('[data-testid="user-toggle"]').click();
      const confirmBox = page.locator('.wg-confirm-box');
      await confirmBox.waitFor({ state: 'visible' });
      expect(await confirmBox.textContent()).toContain(worker.displayName);
      await confirmBox.locator('.wg-confirm-ok').click();
      await expect.poll(() => row.locator('[data-testid="user-status"]').getAttribute('data-disabled')).toBe('true');
      expect(await row.locator('[data-testid="user-status"]').textContent()).toContain('已停用');
      expect((await env.database.pool.query('SELECT disabled FROM users WHERE id = $1', [workerId])).rows[0].disabled).toBe(true);
      await confirmBox.waitFor({ state: 'hidden' });
      await expect.poll(() => row.locator('.el-switch').getAttribute('class')).not.toContain('is-checked');
      // The toasts gone, for the screenshot.
      await expect.poll(() => page.locator('.el-message').count(), { timeout: 10_000 }).toBe(0);
      await page.screenshot({ path: path.join(artifacts, 'admin-users.png') });

      // The disabled account cannot sign in.
      const refused = await watchedPage(other);
      await refused.page.goto(`${env.base}/login`);
      await submitLogin(refused.page, worker);
      const loginError = () => refused.page.locator('[data-testid="login-error"]').textContent({ timeout: 1000 }).catch(() => '');
      await expect.poll(loginError).toContain('用户名或密码错误');
      expect(new URL(refused.page.url()).pathname).toBe('/login');
      expect(refused.errors).toEqual([]);

      // Reset its password: too short is refused in the form, then set.
      const before = (await env.database.pool.query<{ hash: string }>('SELECT password_hash AS hash FROM users WHERE id = $1', [workerId])).rows[0].hash;
      await row.locator('[data-testid="user-reset-password"]').click();
      const pwDialog = page.locator('.wg-admin-dialog', { hasText: '重置密码' });
      await pwDialog.waitFor({ state: 'visible' });
      await pwDialog.locator('input[data-testid="password-new"]').fill('123');
      await pwDialog.locator('[data-testid="password-submit"]').click();
      await expect.poll(() => fieldError(page, 'password-new')).toContain('至少 10 个字符');
      const newPassword = 'a-new-password-456';
      await pwDialog.locator('input[data-testid="password-new"]').fill(newPassword);
      await pwDialog.locator('input[data-testid="password-confirm"]').fill(newPassword);
      const reset = page.waitForResponse((r) => r.url().endsWith(`/api/users/${workerId}/password`));
      await pwDialog.locator('[data-testid="password-submit"]').click();
      expect((await reset).status()).toBe(204);
      await pwDialog.waitFor({ state: 'hidden' });
      const after = (await env.database.pool.query<{ hash: string }>('SELECT password_hash AS hash FROM users WHERE id = $1', [workerId])).rows[0].hash;
      expect(after).not.toBe(before);
      // Still disabled: the new password does not let it in either.
      await submitLogin(refused.page, { username: worker.username, password: newPassword });
      await expect.poll(loginError).toContain('用户名或密码错误');

      // The audit log: the account's entries, newest first, in Beijing time, before/after as text.
      await page.click('[data-testid="admin-tab-audit"]');
      await page.waitForSelector('[data-testid="audit-panel"]');
      await page.fill('input[data-testid="audit-filter-entity-id"]', workerId);
      await page.click('[data-testid="audit-search"]');
      const actions = () => page.locator('[data-testid="audit-action"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-action')));
      await expect.poll(actions).toEqual(['user.reset_password', 'user.update', 'user.create']);
      expect(await page.locator('[data-testid="audit-entity-id"]').allTextContents()).toEqual([workerId, workerId, workerId]);
      expect(await page.locator('[data-testid="audit-actor"]').allTextContents()).toEqual([admin.username, admin.username, admin.username]);
      const { rows: logged } = await env.database.pool.query<{ at: string }>(
        `SELECT to_char(at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI:SS') AS at FROM audit_log WHERE entity_id = $1 ORDER BY id DESC`,
        [workerId],
      );
      expect(await page.locator('[data-testid="audit-time"]').allTextContents()).toEqual(logged.map((r) => r.at));
      const updateRow = page.locator('[data-testid="audit-table"] tr.el-table__row', { has: page.locator('[data-action="user.update"]') });
      await updateRow.locator('.el-table__expand-icon').click();
      const json = page.locator('[data-testid="audit-json"]');
      await json.waitFor({ state: 'visible' });
      expect(JSON.parse((await json.locator('[data-testid="audit-before"]').textContent())!)).toMatchObject({ id: workerId, disabled: false });
      expect(JSON.parse((await json.locator('[data-testid="audit-after"]').textContent())!)).toMatchObject({ id: workerId, disabled: true });
      await expect.poll(() => page.locator('.el-message').count(), { timeout: 10_000 }).toBe(0);
      await page.screenshot({ path: path.join(artifacts, 'admin-audit.png') });

      // The action filter.
      await page.click('[data-testid="audit-reset"]');
      await page.locator('[data-testid="audit-panel"] .el-select').click();
      await page.locator('.el-select-dropdown__item', { hasText: 'user.create' }).click();
      await page.click('[data-testid="audit-search"]');
      await expect.poll(actions).toEqual(['user.create']);

      // English.
      await page.click('[data-testid="lang-switch"]');
      await expect.poll(() => page.textContent('[data-testid="admin-tab-users"]')).toBe('Users');
      expect(await page.textContent('[data-testid="audit-action"]')).toContain('Create user');

      const violations = await page.evaluate(() => (window as unknown as { __cspViolations?: string[] }).__cspViolations ?? []);
      expect(violations).toEqual([]);
      expect(errors).toEqual([]);
      expect(externalRequests([...requests, ...refused.requests])).toEqual([]);
    } finally {
      await context.close();
      await other.close();
    }
  }, 180_000);

  it('makes a department account with its department from the dialog; the department is required', async () => {
    const context = await env.browser.newContext({ viewport: { width: 1440, height: 900 }, locale: 'zh-CN' });
    try {
      const { page, errors } = await watchedPage(context, provoked);
      await page.goto(`${env.base}/admin`);
      await signIn(page, admin);
      await page.click('[data-testid="user-add"]');
      const dialog = page.locator('[data-testid="user-dialog"]');
      await dialog.waitFor({ state: 'visible' });
      expect(await dialog.locator('[data-testid="dialog-department"]').count()).toBe(0);
      await dialog.locator('input[data-testid="dialog-username"]').fill('e2e.dept1');
      await dialog.locator('input[data-testid="dialog-display-name"]').fill('测试城管');
      await dialog.locator('.el-select').first().click();
      await page.locator('.wg-admin-role-popper .el-select-dropdown__item', { hasText: '职能部门' }).click();
      await dialog.locator('input[data-testid="dialog-area"]').fill(district);
      await dialog.locator('input[data-testid="dialog-password"]').fill('initial-pass-123');
      // The department field appears with the role, and is required.
      await dialog.locator('[data-testid="dialog-department"]').waitFor({ state: 'visible' });
      await dialog.locator('[data-testid="dialog-submit"]').click();
      await expect.poll(() => fieldError(page, 'dialog-department')).toContain('须选择所属部门');
      await dialog.locator('[data-testid="dialog-department"]').click();
      await page.locator('.wg-admin-department-popper .el-select-dropdown__item', { hasText: '市场监管所' }).click();
      await page.locator('.el-select__popper.wg-admin-department-popper').waitFor({ state: 'hidden' });
      await expect.poll(() => fieldError(page, 'dialog-department')).toBe('');
      await page.screenshot({ path: path.join(artifacts, 'admin-department-dialog.png') });
      const created = page.waitForResponse((r) => r.url().endsWith('/api/users') && r.request().method() === 'POST');
      await dialog.locator('[data-testid="dialog-submit"]').click();
      expect((await created).status()).toBe(201);
      await dialog.waitFor({ state: 'hidden' });
      const row = userRow(page, 'e2e.dept1');
      await expect.poll(() => row.locator('[data-testid="user-department"]').textContent()).toBe('市场监管所');
      const { rows } = await env.database.pool.query(`SELECT role, department_code FROM users WHERE username = 'e2e.dept1'`);
      expect(rows).toEqual([{ role: 'department', department_code: 'market_regulation' }]);
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  }, 90_000);

  it('shows a contact read in words, and six reads of one incident by one user as one row counting six with the last time', async () => {
    const commander = await addUser(env.database.pool, 'commander', district);
    const cookie = await apiSignIn(env.app, commander.username, commander.password);
    const { rows: [p] } = await env.database.pool.query<{ lon: number; lat: number }>(
      `SELECT ST_X(p) AS lon, ST_Y(p) AS lat FROM (SELECT ST_PointOnSurface(geom) AS p FROM grids WHERE code = $1) t`, [gridCode]);
    const reported = await env.app.inject({
      method: 'POST', url: '/api/incidents', headers: { cookie },
      payload: { category: 'sanitation', description: '审计测试', location: { type: 'Point', coordinates: [p.lon, p.lat] }, reporterContact: '赵女士 13700002222' },
    });
    expect(reported.statusCode, reported.body).toBe(201);
    const incidentId = reported.json().id as string;
    // The drawer's refreshes: six reads of the detail, each with the contact.
    for (let i = 0; i < 6; i++) {
      const detail = await env.app.inject({ url: `/api/incidents/${incidentId}`, headers: { cookie } });
      expect(detail.json().properties.reporterContact).toBe('赵女士 13700002222');
    }
    const { rows: [logged] } = await env.database.pool.query<{ at: string; last: string; count: number }>(
      `SELECT to_char(at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI:SS') AS at, to_char(last_at AT TIME ZONE 'Asia/Shanghai', 'HH24:MI:SS') AS last, count
         FROM audit_log WHERE action = 'incident.read_contact' AND entity_id = $1`, [incidentId]);
    expect(logged.count).toBe(6);

    const context = await env.browser.newContext({ viewport: { width: 1440, height: 900 }, locale: 'zh-CN', timezoneId: 'America/New_York' });
    try {
      const { page, errors } = await watchedPage(context, provoked);
      await page.goto(`${env.base}/admin?tab=audit`);
      await signIn(page, admin);
      await page.waitForSelector('[data-testid="audit-panel"]');
      // Chosen from the known actions, by its name in words.
      await page.locator('[data-testid="audit-panel"] .el-select').click();
      await page.locator('.el-select-dropdown__item', { hasText: '查看报告人联系方式（incident.read_contact）' }).click();
      await page.click('[data-testid="audit-search"]');
      const row = page.locator('[data-testid="audit-table"] tr.el-table__row', { has: page.locator(`[data-testid="audit-entity-id"]`, { hasText: incidentId }) });
      await expect.poll(() => page.locator('[data-testid="audit-action"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-action')))).toEqual(['incident.read_contact']);
      expect(await row.count()).toBe(1);
      expect((await row.locator('[data-testid="audit-action"]').textContent())!.trim()).toBe('查看报告人联系方式');
      expect(await row.locator('[data-testid="audit-entity"]').textContent()).toBe('事件');
      expect(await row.locator('[data-testid="audit-actor"]').textContent()).toBe(commander.username);
      expect(await row.locator('[data-testid="audit-time"]').textContent()).toBe(logged.at);
      expect(await row.locator('[data-testid="audit-count"]').getAttribute('data-count')).toBe('6');
      expect(await row.locator('[data-testid="audit-count"]').textContent()).toBe(`×6，最后 ${logged.last}`);
      expect(await page.textContent('[data-testid="audit-total"]')).toContain('共 1 条记录');
      // The tags zoom in (Element Plus transition): the screenshot after they have.
      // A cancelled animation (one replaced by the next) rejects its `finished` with AbortError: it is settled too.
      const settled = () => page.evaluate(() => Promise.all(document.getAnimations().map((a) => a.finished.catch(() => undefined))).then(() => true));
      await settled();
      await page.screenshot({ path: path.join(artifacts, 'admin-audit-contact-reads.png') });

      await page.click('[data-testid="lang-switch"]');
      await expect.poll(() => row.locator('[data-testid="audit-entity"]').textContent()).toBe('Incident');
      expect((await row.locator('[data-testid="audit-action"]').textContent())!.trim()).toBe('Read reporter contact');
      expect(await row.locator('[data-testid="audit-count"]').textContent()).toBe(`×6, last ${logged.last}`);
      await settled();
      // The English title does not run into the navigation (it did at 1440 px).
      const ink = await page.evaluate(() => {
        const h1 = document.querySelector('[data-testid="app-title"]')!;
        const span = [...h1.querySelectorAll('span')].find((s) => getComputedStyle(s).display !== 'none')!;
        // Where the title's letters end on screen: its text's box, cut by the heading when it clips.
        const right = getComputedStyle(h1).overflow === 'hidden' ? Math.min(span.getBoundingClientRect().right, h1.getBoundingClientRect().right) : span.getBoundingClientRect().right;
        return { right, nav: document.querySelector('[data-testid="app-nav"]')!.getBoundingClientRect().left };
      });
      expect(ink.right).toBeLessThanOrEqual(ink.nav);
      await page.screenshot({ path: path.join(artifacts, 'admin-audit-contact-reads-en.png') });
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  }, 90_000);

  it('fits a phone: the table scrolls sideways inside the page', async () => {
    const context = await env.browser.newContext({
      viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, locale: 'zh-CN',
    });
    try {
      const { page, errors } = await watchedPage(context, provoked);
      await page.goto(`${env.base}/admin`);
      await signIn(page, admin);
      await expect.poll(() => userRow(page, admin.username).count()).toBe(1);
      // The page itself is no wider than the phone; the table scrolls within it.
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
      const panel = await page.locator('[data-testid="users-panel"]').boundingBox();
      expect(panel!.x).toBeGreaterThanOrEqual(0);
      expect(panel!.x + panel!.width).toBeLessThanOrEqual(390);
      const scroll = await page.locator('[data-testid="users-table"] .el-table__body-wrapper .el-scrollbar__wrap').evaluate((e) => ({ sw: e.scrollWidth, cw: e.clientWidth }));
      expect(scroll.sw).toBeGreaterThan(scroll.cw);
      await page.screenshot({ path: path.join(artifacts, 'admin-phone.png') });
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  }, 90_000);

  it('shows a commander no administration entry and refuses /admin', async () => {
    const commander = await addUser(env.database.pool, 'commander', district);
    const context = await env.browser.newContext({ viewport: { width: 1440, height: 900 }, locale: 'zh-CN' });
    try {
      const { page, errors } = await watchedPage(context, provoked);
      await page.goto(`${env.base}/`);
      await signIn(page, commander);
      await expect.poll(() => page.textContent('[data-testid="user-role"]')).toBe('指挥中心');
      // The map, the department scores and the grid plans (read-only); certainly no link to /admin.
      await page.waitForSelector('[data-testid="app-nav"]');
      expect(await page.locator('[data-testid="app-nav"] a').evaluateAll((els) => els.map((e) => e.getAttribute('href')))).toEqual(['/', '/kpis', '/planner']);
      expect(await page.locator('a[href="/admin"]').count()).toBe(0);

      // Typed in: sent back to the map with the "not allowed" banner; the page never shows.
      await page.goto(`${env.base}/admin`);
      await page.waitForSelector('[data-testid="forbidden-alert"]', { timeout: 30_000 });
      expect(new URL(page.url()).pathname).toBe('/');
      expect(await page.textContent('[data-testid="forbidden-alert"]')).toContain('无权');
      expect(await page.locator('[data-testid="admin-page"]').count()).toBe(0);
      // And the API refuses it too.
      const res = await context.request.get(`${env.base}/api/users`);
      expect(res.status()).toBe(403);
      expect(((await res.json()) as { code: string }).code).toBe('FORBIDDEN');
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  }, 90_000);
});
