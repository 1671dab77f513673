import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiKeyStore, apiKeysFilePath } from './api-keys.js';

describe('API keys', () => {
  let dir: string;
  let stores: ApiKeyStore[];
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cityops-keys-'));
    stores = [];
  });
  afterEach(async () => {
    for (const s of stores) await s.close();
    await rm(dir, { recursive: true, force: true });
  });
  async function open(bootstrapKeys: string[] = []): Promise<ApiKeyStore> {
    const s = await ApiKeyStore.open({ path: apiKeysFilePath(dir), clock: Date.now, bootstrapKeys, reloadIntervalMs: 0 });
    stores.push(s);
    return s;
  }

  it('shows a new key once and stores only its SHA-256', async () => {
    const store = await open();
    const { key, record } = await store.create('river gauges', 'admin');
    expect(key).toMatch(/^co_[A-Za-z0-9_-]{43}$/);
    expect(record).toMatchObject({ label: 'river gauges', prefix: key.slice(0, 11), created_by: 'admin', last_used_at: 0 });
    expect(record).not.toHaveProperty('sha256');
    const text = await readFile(apiKeysFilePath(dir), 'utf8');
    expect(text).not.toContain(key);
    expect((await stat(apiKeysFilePath(dir))).mode & 0o777).toBe(0o600);
    expect(store.list().map((k) => k.id)).toEqual([record.id]);
  });

  it('accepts a stored key until it is revoked, and records its last use', async () => {
    const store = await open();
    const { key, record } = await store.create('gauges', 'admin');
    expect(store.verify(key)).toBe(true);
    expect(store.verify(`${key}x`)).toBe(false);
    expect(store.verify('')).toBe(false);
    expect(store.list()[0]?.last_used_at).toBeGreaterThan(0);
    const revoked = await store.revoke(record.id, 'admin');
    expect(revoked).toMatchObject({ revoked_by: 'admin' });
    expect(store.verify(key)).toBe(false);
    await expect(store.revoke('no-such-id', 'admin')).rejects.toThrow("expected an existing API key id; got 'no-such-id'");
  });

  it('keeps honouring the bootstrap key from the environment', async () => {
    const store = await open(['env-key-123']);
    expect(store.verify('env-key-123')).toBe(true);
    expect(store.verify('env-key-124')).toBe(false);
  });

  it('sees keys created or revoked by another process once it re-reads the file', async () => {
    const dashboard = await open();
    const ingest = await open();
    const { key, record } = await dashboard.create('gauges', 'admin');
    expect(ingest.verify(key)).toBe(false);
    await ingest.refresh();
    expect(ingest.verify(key)).toBe(true);
    await dashboard.revoke(record.id, 'admin');
    await ingest.refresh();
    expect(ingest.verify(key)).toBe(false);
  });
});
