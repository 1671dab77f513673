import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createInProcessBus, type Bus } from '@cityops/bus';
import { TOPICS, encodeRecord, type Incident } from '@cityops/schemas';
import type { ApiErrorBody, AuditRecord, DashboardServer, MeResponse, PublicApiKey, PublicUser } from '../../src/index.js';
import { createDashboardServer } from '../../src/index.js';
import { serveOnLocalhost, type ServedDashboard } from '../fixtures/serve.js';
import { addUser, ApiClient, createTestAuth, TEST_PASSWORD, type TestAuth } from '../fixtures/auth.js';
import { BASEMAP, createMemoryQueries, incident } from '../fixtures/demo-city.js';
import { SseClient } from '../fixtures/sse-client.js';

/*
 * The security layer against a real createDashboardServer on an ephemeral port: every role logs
 * in and is shown what it may see and refused (403, from the API, not a hidden button) what it
 * may not; no session → 401; writes without the CSRF token → 403; the login rate limit → 429;
 * the first-start administrator must change its one-time password before anything else.
 */

interface Harness {
  bus: Bus;
  dashboard: DashboardServer;
  served: ServedDashboard;
  base: string;
  t: TestAuth;
}

const now = Date.now();
const INCIDENTS: Incident[] = [
  incident({ opened_at: now - 60_000, department_id: 'dept-traffic', kind: 'congestion' }),
  incident({ opened_at: now - 120_000, department_id: 'dept-drainage', kind: 'waterlogging' }),
];

async function start(): Promise<Harness> {
  const bus = createInProcessBus();
  const t = await createTestAuth();
  const { queries } = createMemoryQueries({ incidents: INCIDENTS });
  const dashboard = createDashboardServer({
    store: { queries },
    bus,
    basemap: BASEMAP,
    auth: t.auth,
    staticDir: join(tmpdir(), 'cityops-no-such-dir'),
    liveGroupId: `auth-test-${Math.random().toString(36).slice(2)}`,
  });
  await dashboard.start();
  const served = await serveOnLocalhost(dashboard);
  const base = served.base;
  await addUser(t.auth, 'wall-1', 'wall');
  await addUser(t.auth, 'chief', 'commander');
  await addUser(t.auth, 'traffic-duty', 'commander', 'dept-traffic');
  await addUser(t.auth, 'ana', 'analyst');
  await addUser(t.auth, 'ops', 'admin');
  return { bus, dashboard, served, base, t };
}

async function stop(h: Harness): Promise<void> {
  await h.served.close();
  await h.bus.close();
  await h.t.cleanup();
}

const errorOf = (body: unknown) => (body as ApiErrorBody).error;

describe('authentication and authorisation (integration)', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await start();
  });
  afterEach(async () => {
    await stop(h);
  });

  it('answers 401 without a session on every data route, but serves /api/health elsewhere and the pages', async () => {
    const anon = new ApiClient(h.base);
    for (const path of [
      '/api/city',
      '/api/warnings',
      '/api/incidents',
      '/api/dispatches',
      '/api/stream',
      '/api/auth/me',
      '/api/admin/users',
    ]) {
      const res = await anon.get(path);
      expect(res.status, path).toBe(401);
      expect(errorOf(res.body).code, path).toBe('unauthorized');
    }
    expect((await anon.get('/api/city')).body).toEqual({
      error: { code: 'unauthorized', message: 'GET /api/city: expected a session (log in at /login); got no session cookie' },
    });
    expect((await anon.get('/api/health')).text).toBe('platform 404'); // left to the platform's own handler
    expect((await anon.get('/login')).status).toBe(503); // static file path (nothing built in this test): not a 401
    const forged = await anon.get('/api/city', { headers: { cookie: 'cityops_session=forged' } });
    expect(forged.status).toBe(401);
    expect(forged.headers.get('set-cookie')).toContain('Max-Age=0');
  });

  it('logs each role in with a hardened cookie and tells it who it is', async () => {
    const res = await new ApiClient(h.base).post<MeResponse>('/api/auth/login', { login: 'traffic-duty', password: TEST_PASSWORD });
    expect(res.status).toBe(200);
    expect(res.headers.get('set-cookie')).toMatch(/^cityops_session=[\w-]{43}; Path=\/; HttpOnly; SameSite=Strict$/);
    expect(res.body.user).toMatchObject({ login: 'traffic-duty', role: 'commander', department_id: 'dept-traffic' });
    expect(res.body.user).not.toHaveProperty('password');
    expect(res.body.permissions).toEqual(['city:read', 'incidents:act', 'analytics:read']);
    expect(res.body.csrf_token).toMatch(/^[\w-]{43}$/);
    const wall = await new ApiClient(h.base).post('/api/auth/login', { login: 'wall-1', password: TEST_PASSWORD });
    expect(wall.headers.get('set-cookie')).toContain('Max-Age=7776000');
  });

  it.each([
    ['wall-1', { read: 200, admin: 403 }],
    ['chief', { read: 200, admin: 403 }],
    ['traffic-duty', { read: 200, admin: 403 }],
    ['ana', { read: 200, admin: 403 }],
    ['ops', { read: 200, admin: 200 }],
  ])('%s: reads the city, and is %o on the admin API', async (login, expected) => {
    const c = await ApiClient.login(h.base, login);
    for (const path of ['/api/city', '/api/warnings', '/api/incidents', '/api/dispatches', '/api/auth/me']) {
      expect((await c.get(path)).status, path).toBe(expected.read);
    }
    for (const path of ['/api/admin/users', '/api/admin/api-keys', '/api/admin/audit']) {
      expect((await c.get(path)).status, path).toBe(expected.admin);
    }
    const create = await c.post('/api/admin/users', { login: `new-${login}`, role: 'wall' });
    expect(create.status).toBe(expected.admin === 200 ? 201 : 403);
  });

  it('refuses a role lacking the right with a 403 that says what was required and what it has', async () => {
    const c = await ApiClient.login(h.base, 'ana');
    const res = await c.post('/api/admin/api-keys', { label: 'sneaky' });
    expect(res.status).toBe(403);
    expect(errorOf(res.body)).toEqual({
      code: 'forbidden',
      message: "expected a principal with 'api-keys:manage' (role admin); got 'ana' (analyst) with city:read, analytics:read",
    });
    const audit = await h.t.auth.audit.query({ limit: 5, actor: 'ana' });
    expect(audit[0]).toMatchObject({ action: 'api-key.create', outcome: 'denied', role: 'analyst' });
  });

  it('shows a department user its own incidents and dispatches only, in the API and the live stream', async () => {
    const c = await ApiClient.login(h.base, 'traffic-duty');
    const list = await c.get<{ incidents: Incident[] }>('/api/incidents');
    expect(list.body.incidents.map((i) => i.department_id)).toEqual(['dept-traffic']);
    const chief = await ApiClient.login(h.base, 'chief');
    expect((await chief.get<{ incidents: Incident[] }>('/api/incidents')).body.incidents).toHaveLength(2);

    const stream = await SseClient.connect(`${h.base}/api/stream`, { cookie: c.cookie });
    expect(stream.status).toBe(200);
    await stream.next((e) => e.event === 'hello');
    const other = incident({ opened_at: Date.now(), department_id: 'dept-drainage', title: 'not yours' });
    const own = incident({ opened_at: Date.now(), department_id: 'dept-traffic', title: 'yours' });
    await h.bus.producer().send(
      TOPICS.incidents,
      [other, own].map((i) => ({ key: i.id, value: encodeRecord(i) })),
    );
    const seen = await stream.next((e) => e.event === 'incident');
    expect((JSON.parse(seen.data) as Incident).title).toBe('yours');
    expect(stream.events.filter((e) => e.event === 'incident')).toHaveLength(1);
    stream.close();
  });

  it('refuses a write with a session cookie but without the CSRF token, or from another origin', async () => {
    const c = await ApiClient.login(h.base, 'ops');
    const missing = await c.post('/api/admin/users', { login: 'x1', role: 'wall' }, { headers: { 'x-csrf-token': '' } });
    expect(missing.status).toBe(403);
    expect(errorOf(missing.body).code).toBe('csrf-failed');
    const wrong = await c.post('/api/auth/logout', {}, { headers: { 'x-csrf-token': 'guess' } });
    expect(wrong.status).toBe(403);
    const crossSite = await c.post('/api/admin/users', { login: 'x2', role: 'wall' }, { headers: { origin: 'https://evil.example' } });
    expect(crossSite.status).toBe(403);
    const form = await c.send('POST', '/api/admin/users', undefined, {
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'login=x3&role=wall',
    });
    expect(form.status).toBe(415);
    expect(h.t.auth.users.list().map((u) => u.login)).not.toContain('x1');
    // The session still works: the refused calls changed nothing.
    expect((await c.get('/api/auth/me')).status).toBe(200);
  });

  it('limits login attempts per login (5/min) with 429 and Retry-After, and audits the failures', async () => {
    const anon = new ApiClient(h.base);
    for (let i = 0; i < 5; i++) expect((await anon.post('/api/auth/login', { login: 'chief', password: `wrong-${i}` })).status).toBe(401);
    const limited = await anon.post('/api/auth/login', { login: 'chief', password: TEST_PASSWORD });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(errorOf(limited.body).code).toBe('rate-limited');
    // Another account from the same address is still allowed (20/min per IP).
    expect((await anon.post('/api/auth/login', { login: 'ana', password: TEST_PASSWORD })).status).toBe(200);
    const trail = await h.t.auth.audit.query({ limit: 20, action: 'auth.login' });
    expect(trail.filter((r) => r.target === 'chief').map((r) => r.outcome)).toEqual([
      'denied',
      'failure',
      'failure',
      'failure',
      'failure',
      'failure',
    ]);
    expect(trail.find((r) => r.target === 'chief' && r.outcome === 'failure')?.detail).toBe('wrong-password');
  });

  it('answers the same 401 for an unknown login and a wrong password', async () => {
    const anon = new ApiClient(h.base);
    const unknown = await anon.post('/api/auth/login', { login: 'nobody', password: TEST_PASSWORD });
    const wrong = await anon.post('/api/auth/login', { login: 'chief', password: 'not the password' });
    expect(unknown.status).toBe(401);
    expect(unknown.body).toEqual(wrong.body);
  });

  it('makes the first-start administrator change its one-time password before anything else', async () => {
    const first = h.t.firstAdmin;
    expect(first).toMatchObject({ login: 'admin', generated: true });
    const c = await ApiClient.login(h.base, 'admin', first?.password);
    const me = await c.get<MeResponse>('/api/auth/me');
    expect(me.body.must_change_password).toBe(true);
    const blocked = await c.get('/api/admin/users');
    expect(blocked.status).toBe(403);
    expect(errorOf(blocked.body).code).toBe('password-change-required');
    expect((await c.get('/api/city')).status).toBe(403);

    const weak = await c.post('/api/auth/password', { current_password: first?.password, new_password: 'short' });
    expect(weak.status).toBe(400);
    const oldCookie = c.cookie;
    const changed = await c.post<MeResponse>('/api/auth/password', {
      current_password: first?.password,
      new_password: 'a much better passphrase',
    });
    expect(changed.status).toBe(200);
    expect(changed.body.must_change_password).toBe(false);
    // A new session id after the change; the old cookie is dead.
    expect(c.cookie).not.toBe(oldCookie);
    expect((await c.get('/api/admin/users')).status).toBe(200);
    expect((await new ApiClient(h.base).get('/api/auth/me', { headers: { cookie: oldCookie } })).status).toBe(401);
    expect((await new ApiClient(h.base).post('/api/auth/login', { login: 'admin', password: first?.password })).status).toBe(401);
  });

  it('lets an administrator manage users: create with a one-time password, scope, disable (ending their sessions), reset', async () => {
    const admin = await ApiClient.login(h.base, 'ops');
    const created = await admin.post<{ user: PublicUser; one_time_password: string }>('/api/admin/users', {
      login: 'drain-duty',
      role: 'commander',
      department_id: 'dept-drainage',
    });
    expect(created.status).toBe(201);
    expect(created.body.user).toMatchObject({ login: 'drain-duty', department_id: 'dept-drainage', must_change_password: true });
    expect(created.body.one_time_password).toMatch(/^[\w-]{24}$/);
    const typo = await admin.post('/api/admin/users', { login: 'x', role: 'commander', department_id: 'dept-nope' });
    expect(errorOf(typo.body).message).toMatch(/^field 'department_id': expected one of dept-/);
    expect(errorOf((await admin.post('/api/admin/users', { login: 'xy', role: 'boss' })).body).message).toBe(
      'field \'role\': expected one of wall, commander, analyst, admin; got "boss"',
    );

    const victim = await ApiClient.login(h.base, 'chief');
    const stream = await SseClient.connect(`${h.base}/api/stream`, { cookie: victim.cookie });
    await stream.next((e) => e.event === 'hello');
    const disabled = await admin.patch<{ user: PublicUser }>('/api/admin/users/chief', { disabled: true });
    expect(disabled.body.user.disabled).toBe(true);
    expect((await victim.get('/api/city')).status).toBe(401);
    await stream.whenClosed();
    expect((await new ApiClient(h.base).post('/api/auth/login', { login: 'chief', password: TEST_PASSWORD })).status).toBe(401);

    const reset = await admin.patch<{ one_time_password: string }>('/api/admin/users/ana', { reset_password: true });
    expect(
      (await ApiClient.login(h.base, 'ana', reset.body.one_time_password).then((c) => c.get<MeResponse>('/api/auth/me'))).body
        .must_change_password,
    ).toBe(true);

    const self = await admin.patch('/api/admin/users/ops', { role: 'analyst' });
    expect(self.status).toBe(409);
    expect((await admin.patch('/api/admin/users/nobody', { disabled: true })).status).toBe(404);
    expect((await admin.patch('/api/admin/users/ana', { disable: true })).status).toBe(400);

    const trail = (await admin.get<{ records: AuditRecord[] }>('/api/admin/audit?limit=50')).body.records;
    expect(trail.find((r) => r.action === 'user.update' && r.target === 'chief')).toMatchObject({
      actor: 'ops',
      outcome: 'success',
      detail: 'disabled; 1 session(s) ended',
    });
    expect(trail.find((r) => r.action === 'user.create' && r.target === 'drain-duty')).toMatchObject({
      detail: 'role=commander department=dept-drainage',
    });
    expect(JSON.stringify(trail)).not.toContain(created.body.one_time_password);
  });

  it('lets an administrator create, list and revoke ingest API keys; the key is shown once', async () => {
    const admin = await ApiClient.login(h.base, 'ops');
    const created = await admin.post<{ key: string; api_key: PublicApiKey }>('/api/admin/api-keys', { label: 'river gauges' });
    expect(created.status).toBe(201);
    expect(h.t.auth.apiKeys.verify(created.body.key)).toBe(true);
    const list = await admin.get<{ api_keys: PublicApiKey[] }>('/api/admin/api-keys');
    expect(list.body.api_keys).toHaveLength(1);
    expect(list.text).not.toContain(created.body.key);
    expect(list.body.api_keys[0]).toMatchObject({ label: 'river gauges', prefix: created.body.key.slice(0, 11) });
    const revoked = await admin.delete<{ api_key: PublicApiKey }>(`/api/admin/api-keys/${created.body.api_key.id}`);
    expect(revoked.body.api_key.revoked_by).toBe('ops');
    expect(h.t.auth.apiKeys.verify(created.body.key)).toBe(false);
    const trail = await h.t.auth.audit.query({ limit: 10, actor: 'ops' });
    expect(trail.map((r) => r.action)).toEqual(expect.arrayContaining(['api-key.create', 'api-key.revoke']));
    expect(JSON.stringify(trail)).not.toContain(created.body.key);
  });

  it('ends the session at logout and audits it', async () => {
    const c = await ApiClient.login(h.base, 'ana');
    const cookie = c.cookie;
    const out = await c.post('/api/auth/logout', {});
    expect(out.status).toBe(200);
    expect(out.headers.get('set-cookie')).toContain('Max-Age=0');
    expect((await new ApiClient(h.base).get('/api/city', { headers: { cookie } })).status).toBe(401);
    expect((await h.t.auth.audit.query({ limit: 1, actor: 'ana' }))[0]).toMatchObject({ action: 'auth.logout', outcome: 'success' });
  });
});
