import { appendFile, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { auditFilePath, createFileAuditLog, type AuditEntry } from './audit.js';

const entry = (action: string, actor = 'admin'): AuditEntry => ({
  actor,
  role: 'admin',
  action,
  target: 't',
  outcome: 'success',
  ip: '127.0.0.1',
  detail: '',
});

describe('file audit log', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cityops-audit-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('appends records in order to a 0600 JSON-lines file and reads them newest first', async () => {
    let now = 1_800_000_000_000;
    const log = createFileAuditLog({ path: auditFilePath(dir), clock: () => now++ });
    await Promise.all([log.append(entry('auth.login')), log.append(entry('user.create')), log.append(entry('auth.logout', 'ann'))]);
    expect((await stat(auditFilePath(dir))).mode & 0o777).toBe(0o600);
    const all = await log.query({ limit: 10 });
    expect(all.map((r) => r.action)).toEqual(['auth.logout', 'user.create', 'auth.login']);
    expect(all[0]).toMatchObject({ actor: 'ann', ts: 1_800_000_000_002, outcome: 'success', ip: '127.0.0.1' });
    expect(all[0]?.id).toMatch(/^[0-9a-f-]{36}$/);
    expect((await log.query({ limit: 10, actor: 'admin' })).map((r) => r.action)).toEqual(['user.create', 'auth.login']);
    expect(await log.query({ limit: 10, action: 'auth.login' })).toHaveLength(1);
    expect((await log.query({ limit: 1 })).map((r) => r.action)).toEqual(['auth.logout']);
    expect((await log.query({ limit: 10, beforeTs: 1_800_000_000_001 })).map((r) => r.action)).toEqual(['auth.login']);
  });

  it('skips a torn last line (a crash mid-write) and keeps the rest readable', async () => {
    const log = createFileAuditLog({ path: auditFilePath(dir), clock: Date.now });
    await log.append(entry('auth.login'));
    await appendFile(auditFilePath(dir), '{"id":"x","ts":');
    expect((await log.query({ limit: 10 })).map((r) => r.action)).toEqual(['auth.login']);
  });

  it('answers an empty list before anything was recorded', async () => {
    expect(await createFileAuditLog({ path: auditFilePath(dir), clock: Date.now }).query({ limit: 5 })).toEqual([]);
  });
});
