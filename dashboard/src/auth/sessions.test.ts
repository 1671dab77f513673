import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SESSION_COOKIE, SessionStore, sessionIdFrom, type Session } from './sessions.js';

function fakeClock() {
  let now = 1_800_000_000_000;
  return { clock: () => now, advance: (ms: number) => (now += ms) };
}
const HOUR = 3_600_000;

describe('sessions', () => {
  it('issues opaque 256-bit ids and keeps only their hash', () => {
    const store = new SessionStore({ clock: Date.now });
    const { id, session } = store.create({ login: 'ann', role: 'commander' }, { mustChangePassword: false, ip: '10.0.0.1' });
    expect(Buffer.from(id, 'base64url')).toHaveLength(32);
    expect(session.key).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(session)).not.toContain(id);
    expect(store.get(id)?.principal).toEqual({ login: 'ann', role: 'commander' });
    expect(store.get(`${id}x`)).toBeUndefined();
    expect(store.get(undefined)).toBeUndefined();
  });

  it("ends a person's session after 8 idle hours, and after 12 hours whatever the activity", () => {
    const t = fakeClock();
    const store = new SessionStore({ clock: t.clock });
    const a = store.create({ login: 'ann', role: 'analyst' }, { mustChangePassword: false, ip: '' });
    t.advance(8 * HOUR - 1);
    expect(store.get(a.id)).toBeDefined();
    t.advance(8 * HOUR + 1);
    expect(store.get(a.id)).toBeUndefined();

    const b = store.create({ login: 'bob', role: 'commander' }, { mustChangePassword: false, ip: '' });
    for (let i = 0; i < 12; i++) {
      expect(store.get(b.id), `hour ${i}`).toBeDefined();
      t.advance(HOUR);
    }
    expect(store.get(b.id)).toBeUndefined();
  });

  it('keeps a wall display logged in for days', () => {
    const t = fakeClock();
    const store = new SessionStore({ clock: t.clock });
    const w = store.create({ login: 'wall-1', role: 'wall' }, { mustChangePassword: false, ip: '' });
    t.advance(7 * 24 * HOUR);
    expect(store.get(w.id)).toBeDefined();
    expect(store.cookie(w.id, w.session)).toContain(`Max-Age=${90 * 86_400}`);
  });

  it('sets an HttpOnly, SameSite=Strict cookie on Path=/, Secure when configured', () => {
    const plain = new SessionStore({ clock: Date.now });
    const { id, session } = plain.create({ login: 'ann', role: 'admin' }, { mustChangePassword: false, ip: '' });
    expect(plain.cookie(id, session)).toBe(`${SESSION_COOKIE}=${id}; Path=/; HttpOnly; SameSite=Strict`);
    const secure = new SessionStore({ clock: Date.now, secureCookie: true });
    expect(secure.cookie(id, session)).toBe(`${SESSION_COOKIE}=${id}; Path=/; HttpOnly; SameSite=Strict; Secure`);
    expect(secure.clearCookie()).toBe(`${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0; Secure`);
  });

  it('tells listeners about every session that ends: logout, account change, sweep of expired ones', () => {
    const t = fakeClock();
    const store = new SessionStore({ clock: t.clock });
    const ended: string[] = [];
    store.onEnd((s: Session) => ended.push(s.principal.login));
    const a = store.create({ login: 'ann', role: 'analyst' }, { mustChangePassword: false, ip: '' });
    const a2 = store.create({ login: 'ann', role: 'analyst' }, { mustChangePassword: false, ip: '' });
    store.create({ login: 'bob', role: 'analyst' }, { mustChangePassword: false, ip: '' });
    expect(store.endAllFor('ann', a2.session)).toBe(1);
    expect(store.get(a.id)).toBeUndefined();
    expect(store.get(a2.id)).toBeDefined();
    store.end(a2.session);
    t.advance(9 * HOUR);
    expect(store.sweep()).toBe(1);
    expect(ended).toEqual(['ann', 'ann', 'bob']);
    expect(store.size).toBe(0);
  });

  it('reads the session cookie among others', () => {
    expect(sessionIdFrom({ cookie: `theme=dark; ${SESSION_COOKIE}=abc_-123; x=y` })).toBe('abc_-123');
    expect(sessionIdFrom({ cookie: 'theme=dark' })).toBeUndefined();
    expect(sessionIdFrom({})).toBeUndefined();
  });
});

describe('sessions across a restart', () => {
  it('come back from the file for unchanged accounts, without the file holding any usable id', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cityops-sessions-'));
    try {
      const t = fakeClock();
      const persistPath = join(dir, 'auth', 'sessions.json');
      const before = new SessionStore({ clock: t.clock, persistPath });
      const wall = before.create({ login: 'wall-1', role: 'wall' }, { mustChangePassword: false, ip: '10.0.0.9' });
      const ann = before.create({ login: 'ann', role: 'commander', department_id: 'water' }, { mustChangePassword: false, ip: '' });
      const bob = before.create({ login: 'bob', role: 'analyst' }, { mustChangePassword: false, ip: '' });
      const gone = before.create({ login: 'carl', role: 'analyst' }, { mustChangePassword: false, ip: '' });
      before.end(gone.session);
      await before.close();

      const file = await readFile(persistPath, 'utf8');
      for (const { id } of [wall, ann, bob]) expect(file).not.toContain(id);
      expect((await stat(persistPath)).mode & 0o777).toBe(0o600);

      // Nine hours later: people's sessions have idled out, the wall's has not; bob's role changed.
      t.advance(9 * HOUR);
      const after = new SessionStore({ clock: t.clock, persistPath });
      const restored = await after.load((p) => p.login !== 'bob');
      expect(restored).toBe(1);
      expect(after.get(wall.id)?.principal).toEqual({ login: 'wall-1', role: 'wall' });
      expect(after.get(wall.id)?.csrfToken).toBe(wall.session.csrfToken);
      expect(after.get(ann.id)).toBeUndefined();
      expect(after.get(bob.id)).toBeUndefined();
      expect(after.get(gone.id)).toBeUndefined();
      await after.close();

      // What was dropped at load is gone from the file too.
      const again = new SessionStore({ clock: t.clock, persistPath });
      expect(await again.load(() => true)).toBe(1);
      await again.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses a sessions file of another shape, naming it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cityops-sessions-'));
    try {
      const persistPath = join(dir, 'sessions.json');
      await writeFile(persistPath, '{"sessions": {}}');
      await expect(new SessionStore({ clock: Date.now, persistPath }).load(() => true)).rejects.toThrow(
        `${persistPath}: expected a sessions file of version 1`,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
