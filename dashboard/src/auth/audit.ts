import { randomUUID } from 'node:crypto';
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Clock } from '@cityops/schemas';
import { WriteQueue } from './json-file.js';

/*
 * The security audit trail: who did what, when, from where, and whether it worked. Every login
 * (success and failure), logout, password change, user and API-key change and every
 * state-changing API call, plus every refused (403) request, is one record. The trail is
 * append-only JSON lines in `<dataDir>/auth/audit.jsonl` (mode 0600) behind the AuditLog
 * interface, so it can be routed to ClickHouse later without touching the callers.
 * Never in a record: passwords, one-time passwords, API keys, session ids.
 */

export type AuditOutcome = 'success' | 'failure' | 'denied';

export interface AuditRecord {
  id: string;
  /** epoch ms */
  ts: number;
  /** The login, `api-key:<prefix>`, or '' when unknown (a failed login names the login tried in `target`). */
  actor: string;
  /** The actor's role at the time, '' when none. */
  role: string;
  /** What was attempted, e.g. 'auth.login', 'user.create', 'api-key.revoke' (authorize.ts POLICY names them). */
  action: string;
  /** What it was done to: a login, a key id, a path. */
  target: string;
  outcome: AuditOutcome;
  /** Client address as the server saw it. */
  ip: string;
  /** Why it failed, what changed; free text, no secrets. */
  detail: string;
}

export type AuditEntry = Omit<AuditRecord, 'id' | 'ts'>;

export interface AuditQuery {
  /** Newest first, at most this many. */
  limit: number;
  /** Only records before this time (paging), epoch ms. */
  beforeTs?: number;
  actor?: string;
  action?: string;
}

export interface AuditLog {
  /** Resolves once the record is durable (written to the file); a failed write rejects. */
  append(entry: AuditEntry): Promise<AuditRecord>;
  /** Newest first. */
  query(query: AuditQuery): Promise<AuditRecord[]>;
}

export function auditFilePath(dataDir: string): string {
  return join(dataDir, 'auth', 'audit.jsonl');
}

/**
 * JSON lines, appended in order. Queries read the whole file: fine for the months of a district
 * box (a record is ~250 bytes; a million is 250 MB read per query, which is when it belongs in
 * ClickHouse — hence the interface).
 */
export function createFileAuditLog(options: { path: string; clock: Clock }): AuditLog {
  const writes = new WriteQueue();
  let dirReady: Promise<unknown> | undefined;
  return {
    append(entry) {
      const record: AuditRecord = { id: randomUUID(), ts: options.clock(), ...entry };
      return writes.run(async () => {
        await (dirReady ??= mkdir(dirname(options.path), { recursive: true, mode: 0o700 }));
        await appendFile(options.path, `${JSON.stringify(record)}\n`, { mode: 0o600 });
        return record;
      });
    },
    async query(query) {
      let text: string;
      try {
        text = await readFile(options.path, 'utf8');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
        throw error;
      }
      const out: AuditRecord[] = [];
      const lines = text.split('\n');
      for (let i = lines.length - 1; i >= 0 && out.length < query.limit; i--) {
        const line = lines[i];
        if (line === undefined || line === '') continue;
        let r: AuditRecord;
        try {
          r = JSON.parse(line) as AuditRecord;
        } catch {
          continue; // a torn last line after a crash: skip it, keep the rest readable
        }
        if (matches(r, query)) out.push(r);
      }
      return out;
    },
  };
}

/** In memory, for tests and for a process without a data directory. */
export function createMemoryAuditLog(clock: Clock): AuditLog & { records: AuditRecord[] } {
  const records: AuditRecord[] = [];
  return {
    records,
    append(entry) {
      const record: AuditRecord = { id: randomUUID(), ts: clock(), ...entry };
      records.push(record);
      return Promise.resolve(record);
    },
    query(query) {
      return Promise.resolve(
        records
          .filter((r) => matches(r, query))
          .reverse()
          .slice(0, query.limit),
      );
    },
  };
}

function matches(r: AuditRecord, q: AuditQuery): boolean {
  return (
    (q.beforeTs === undefined || r.ts < q.beforeTs) &&
    (q.actor === undefined || r.actor === q.actor) &&
    (q.action === undefined || r.action === q.action)
  );
}
