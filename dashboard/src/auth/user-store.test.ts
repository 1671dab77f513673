import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DashboardError } from '../errors.js';
import { UserStore, usersFilePath } from './user-store.js';

const CHEAP = { N: 2 ** 10, r: 8, p: 1, keyLength: 32 };
const PW = 'correct horse battery staple';

describe('user store', () => {
  let dir: string;
  let path: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cityops-users-'));
    path = usersFilePath(dir);
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const open = () => UserStore.open({ path, clock: Date.now, hashParams: CHEAP });

  it('creates the administrator at first start with a one-time password that is stored only hashed', async () => {
    const store = await open();
    const first = await store.ensureFirstAdmin();
    expect(first).toMatchObject({ login: 'admin', generated: true });
    expect(first?.password).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect(store.get('admin')).toMatchObject({ role: 'admin', must_change_password: true, disabled: false });

    const text = await readFile(path, 'utf8');
    expect(text).not.toContain(first?.password ?? '?');
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(text)).toMatchObject({ version: 1, users: [{ login: 'admin', password: { algorithm: 'scrypt', params: CHEAP } }] });

    // A second start finds the account and creates nothing (the password is never shown again).
    const again = await open();
    expect(await again.ensureFirstAdmin()).toBeUndefined();
    expect((await again.authenticate('admin', first?.password ?? '')).ok).toBe(true);
  });

  it('takes a configured first password for automation, with nothing to change', async () => {
    const store = await open();
    expect(await store.ensureFirstAdmin({ password: PW })).toEqual({ login: 'admin', password: PW, generated: false });
    expect(store.get('admin')?.must_change_password).toBe(false);
  });

  it('authenticates, and says why not (to the audit trail only)', async () => {
    const store = await open();
    await store.create({ login: 'Ann', role: 'commander', department_id: 'dept-traffic', password: PW, mustChangePassword: false });
    expect(await store.authenticate('ann', PW)).toMatchObject({ ok: true, user: { login: 'ann', department_id: 'dept-traffic' } });
    expect(await store.authenticate('ann', 'wrong password!')).toMatchObject({ ok: false, reason: 'wrong-password' });
    expect(await store.authenticate('nobody', PW)).toEqual({ ok: false, reason: 'unknown-login' });
    await store.update('ann', { disabled: true });
    expect(await store.authenticate('ann', PW)).toMatchObject({ ok: false, reason: 'disabled' });
  });

  it('changes a password only with the current one, and clears must_change_password', async () => {
    const store = await open();
    const { oneTimePassword } = await store.create({ login: 'bob', role: 'analyst' });
    expect(store.get('bob')?.must_change_password).toBe(true);
    await expect(store.changePassword('bob', 'not the current', PW)).rejects.toThrow(
      "expected the current password of 'bob' to confirm the change; got a wrong one",
    );
    await expect(store.changePassword('bob', oneTimePassword ?? '', 'short')).rejects.toThrow(
      "field 'new_password': expected a password of at least 12 characters; got 5",
    );
    await store.changePassword('bob', oneTimePassword ?? '', PW);
    expect(store.get('bob')?.must_change_password).toBe(false);
    expect((await store.authenticate('bob', PW)).ok).toBe(true);
    expect((await store.authenticate('bob', oneTimePassword ?? '')).ok).toBe(false);
  });

  it('never disables or demotes the last enabled administrator', async () => {
    const store = await open();
    await store.ensureFirstAdmin();
    await expect(store.update('admin', { disabled: true })).rejects.toThrow(/'admin' is the last one/);
    await expect(store.update('admin', { role: 'analyst' })).rejects.toBeInstanceOf(DashboardError);
    await store.create({ login: 'ops', role: 'admin', password: PW });
    expect((await store.update('admin', { disabled: true })).disabled).toBe(true);
  });

  it('validates logins and departments, and refuses a second account of the same login', async () => {
    const store = await open();
    await expect(store.create({ login: 'a b', role: 'wall' })).rejects.toThrow(/field 'login': expected 2–64 characters/);
    await expect(store.create({ login: 'root', role: 'admin', department_id: 'dept-x' })).rejects.toThrow(
      "field 'department_id': expected none for an administrator (administrators are city-wide); got 'dept-x'",
    );
    await store.create({ login: 'w1', role: 'wall' });
    await expect(store.create({ login: 'W1', role: 'wall' })).rejects.toThrow("expected a new login; got 'w1', which exists already");
  });

  it('re-hashes with stronger parameters at the next successful login', async () => {
    const weak = await UserStore.open({ path, clock: Date.now, hashParams: { ...CHEAP, N: 2 ** 8 } });
    await weak.create({ login: 'cy', role: 'wall', password: PW });
    const strong = await open();
    expect((await strong.authenticate('cy', PW)).ok).toBe(true);
    const file = JSON.parse(await readFile(path, 'utf8')) as { users: { password: { params: { N: number } } }[] };
    expect(file.users[0]?.password.params.N).toBe(2 ** 10);
  });
});
