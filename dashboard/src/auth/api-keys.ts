import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { join } from 'node:path';
import type { Clock } from '@cityops/schemas';
import { DashboardError } from '../errors.js';
import { readJsonFile, WriteQueue, writeJsonAtomic } from './json-file.js';

/*
 * Ingest API keys, managed by administrators. A key is 32 random bytes shown once at creation;
 * only its SHA-256 is kept (`<dataDir>/auth/api-keys.json`, mode 0600). A fast hash is right
 * here, unlike for passwords: a 256-bit random key cannot be guessed offline, so the hash only
 * has to be one-way, and it is checked on every ingest request. The first characters stay
 * visible (the "prefix") so an administrator can tell keys apart in logs and in the list.
 *
 * The bootstrap key from the environment (CITYOPS_API_KEY) keeps working next to them, so
 * existing scripts and the first sensors can send data before anybody has logged in.
 *
 * An ingest process started on its own (`cityops ingest`) reads the same file: it re-reads it
 * every `reloadIntervalMs`, so a key created or revoked from the dashboard takes effect there
 * within seconds. Every write re-reads the file first (read, change, write), so neither process
 * overwrites the other's changes with an older picture.
 */

export interface ApiKeyRecord {
  id: string;
  label: string;
  /** `co_` and the first 8 characters of the secret part: enough to recognise, useless to use. */
  prefix: string;
  /** hex SHA-256 of the whole key */
  sha256: string;
  created_at: number;
  created_by: string;
  /** 0 = never used. Kept in a file of its own (see ApiKeyStore), merged in when listed. */
  last_used_at: number;
  revoked_at?: number;
  revoked_by?: string;
}

/** What the admin API lists: never the hash. */
export type PublicApiKey = Omit<ApiKeyRecord, 'sha256'>;

interface ApiKeysFile {
  version: 1;
  keys: ApiKeyRecord[];
}

export interface ApiKeyStoreOptions {
  path: string;
  clock: Clock;
  /** Keys accepted besides the stored ones (CITYOPS_API_KEY). */
  bootstrapKeys?: readonly string[];
  /** How often to look for changes made by another process, in ms. Default 5000; 0 disables. */
  reloadIntervalMs?: number;
}

export function apiKeysFilePath(dataDir: string): string {
  return join(dataDir, 'auth', 'api-keys.json');
}

/** Last uses live beside the keys, not in them: see ApiKeyStore. */
function usageFilePath(keysPath: string): string {
  return keysPath.replace(/\.json$/, '') + '.last-used.json';
}

const KEY_PREFIX = 'co_';
/** last_used_at is for "is this key still in use?", not an access log: a write per ingest batch would be waste. */
const LAST_USED_FLUSH_MS = 60_000;

export class ApiKeyStore {
  private readonly keys = new Map<string, ApiKeyRecord>();
  /** sha256 hex → record, for the per-request lookup. */
  private readonly byHash = new Map<string, ApiKeyRecord>();
  private readonly bootstrap: Buffer[];
  private readonly writes = new WriteQueue();
  private readonly options: ApiKeyStoreOptions;
  /** Key id → last use seen by this process, not yet written. */
  private readonly usedHere = new Map<string, number>();
  /** Key id → last use, as last read from the usage file (any process). */
  private usedAnywhere = new Map<string, number>();
  private readonly usageWrites = new WriteQueue();
  private lastFlush = 0;
  private timer: NodeJS.Timeout | undefined;

  private constructor(options: ApiKeyStoreOptions) {
    this.options = options;
    this.bootstrap = (options.bootstrapKeys ?? []).filter((k) => k !== '').map(sha256);
  }

  static async open(options: ApiKeyStoreOptions): Promise<ApiKeyStore> {
    const store = new ApiKeyStore(options);
    await store.reload();
    const interval = options.reloadIntervalMs ?? 5000;
    if (interval > 0) {
      store.timer = setInterval(() => void store.refresh().catch(() => undefined), interval);
      store.timer.unref();
    }
    return store;
  }

  /** Stops the reload timer and writes pending last-used times. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flushUsage();
  }

  list(): PublicApiKey[] {
    return [...this.keys.values()]
      .map((k) => ({
        ...toPublic(k),
        last_used_at: Math.max(k.last_used_at, this.usedAnywhere.get(k.id) ?? 0, this.usedHere.get(k.id) ?? 0),
      }))
      .sort((a, b) => b.created_at - a.created_at);
  }

  /** A new key; the returned `key` is the only time anybody sees it. */
  async create(label: string, createdBy: string): Promise<{ key: string; record: PublicApiKey }> {
    const trimmed = label.trim();
    if (trimmed.length < 1 || trimmed.length > 100) {
      throw new DashboardError('bad-request', `field 'label': expected 1–100 characters saying who uses the key; got ${trimmed.length}`);
    }
    const key = `${KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
    const record: ApiKeyRecord = {
      id: randomUUID(),
      label: trimmed,
      prefix: key.slice(0, KEY_PREFIX.length + 8),
      sha256: sha256(key).toString('hex'),
      created_at: this.options.clock(),
      created_by: createdBy,
      last_used_at: 0,
    };
    await this.persist(() => this.index(record));
    return { key, record: toPublic(record) };
  }

  async revoke(id: string, revokedBy: string): Promise<PublicApiKey> {
    let found: ApiKeyRecord | undefined;
    await this.persist(() => {
      found = this.keys.get(id);
      if (found !== undefined && found.revoked_at === undefined) {
        found.revoked_at = this.options.clock();
        found.revoked_by = revokedBy;
      }
    });
    if (found === undefined) throw new DashboardError('not-found', `expected an existing API key id; got '${id.slice(0, 80)}'`);
    return toPublic(found);
  }

  /**
   * Whether a presented X-API-Key is valid. The lookup is by hash (the attacker cannot choose a
   * hash, so the map lookup leaks nothing useful); the bootstrap keys are compared in constant time.
   */
  verify(presented: string): boolean {
    if (presented === '' || presented.length > 512) return false;
    const digest = sha256(presented);
    let ok = false;
    for (const b of this.bootstrap) ok = timingSafeEqual(b, digest) || ok;
    if (ok) return true;
    const record = this.byHash.get(digest.toString('hex'));
    if (record === undefined || record.revoked_at !== undefined) return false;
    const now = this.options.clock();
    this.usedHere.set(record.id, now);
    if (now - this.lastFlush >= LAST_USED_FLUSH_MS) {
      this.lastFlush = now;
      void this.flushUsage().catch(() => undefined);
    }
    return true;
  }

  /** Re-reads the files: picks up keys created or revoked by another process (a few KB; the timer calls it every few seconds). */
  async refresh(): Promise<void> {
    await this.writes.run(() => this.reload());
    await this.flushUsage();
  }

  /**
   * Last uses go to their own file, merged by maximum: an ingest process records uses all day,
   * and if it rewrote the keys file it could overwrite a revocation the dashboard made a moment
   * before. The keys file is written by administrators' changes only.
   */
  private flushUsage(): Promise<void> {
    return this.usageWrites.run(async () => {
      const path = usageFilePath(this.options.path);
      const raw = await readJsonFile(path).catch(() => undefined);
      const merged = new Map<string, number>();
      if (typeof raw === 'object' && raw !== null) {
        for (const [id, ts] of Object.entries(raw)) if (typeof ts === 'number') merged.set(id, ts);
      }
      for (const [id, ts] of this.usedHere) merged.set(id, Math.max(ts, merged.get(id) ?? 0));
      this.usedAnywhere = merged;
      if (this.usedHere.size === 0) return;
      this.usedHere.clear();
      await writeJsonAtomic(path, Object.fromEntries(merged));
    });
  }

  private async reload(): Promise<void> {
    const raw = await readJsonFile(this.options.path);
    if (raw === undefined) return;
    const file = raw as Partial<ApiKeysFile>;
    if (typeof file !== 'object' || file === null || file.version !== 1 || !Array.isArray(file.keys)) {
      throw new Error(
        `${this.options.path}: expected {"version": 1, "keys": [...]}; got ${JSON.stringify(raw)?.slice(0, 120) ?? typeof raw}`,
      );
    }
    this.keys.clear();
    this.byHash.clear();
    for (const k of file.keys) {
      if (typeof k.id !== 'string' || typeof k.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(k.sha256)) {
        throw new Error(`${this.options.path}: expected keys with an id and a hex sha256; got ${JSON.stringify(k).slice(0, 200)}`);
      }
      this.index(k);
    }
  }

  private index(record: ApiKeyRecord): void {
    this.keys.set(record.id, record);
    this.byHash.set(record.sha256, record);
  }

  /** Read, change, write: the file is re-read first, so a change made meanwhile by another dashboard process is kept. */
  private persist(change: () => void): Promise<void> {
    return this.writes.run(async () => {
      await this.reload();
      change();
      await writeJsonAtomic(this.options.path, { version: 1, keys: [...this.keys.values()] } satisfies ApiKeysFile);
    });
  }
}

function toPublic(record: ApiKeyRecord): PublicApiKey {
  const rest: Partial<ApiKeyRecord> = { ...record };
  delete rest.sha256;
  return rest as PublicApiKey;
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
