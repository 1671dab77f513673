import { resolve } from 'node:path';
import { drainPending, Session } from 'chdb';
import { StoreError, toStoreError } from './errors.js';
import { SESSION_SETTINGS, settingsClause, type SqlClient, type SqlInsert } from './sql-client.js';
import { createSqlStore, type StoreOptions } from './sql-store.js';
import type { Store } from './store.js';

/*
 * The embedded store: ClickHouse in this process (chDB), data in a directory. The default for
 * `npm start` and one-box deployments.
 *
 * chDB binds ONE data directory per process: a Session on a second path throws while the first
 * is open, and after closing, the next path may only be opened once native work has drained
 * (drainPending). Several sessions on the same path are allowed by chDB, but each is a separate
 * native connection; this registry gives every store on one path the same Session, counts
 * users, and closes (and drains) when the last one closes. Opening a different path while one
 * is open fails with `data_dir_in_use` naming both paths.
 */

export interface EmbeddedStoreOptions extends StoreOptions {
  /** Directory holding the database files; created if missing. One per process at a time. */
  dataDir: string;
}

interface OpenSession {
  readonly path: string;
  readonly session: Session;
  readonly ready: Promise<void>;
  users: number;
}

let current: OpenSession | undefined;
/** Set while the last user closes the session, so an open in between waits for it. */
let closing: Promise<void> | undefined;

async function acquire(path: string): Promise<OpenSession> {
  if (closing !== undefined) await closing;
  if (current !== undefined) {
    if (current.path !== path) {
      throw new StoreError(
        'data_dir_in_use',
        `open embedded store at '${path}': expected no other data directory open in this process (chDB binds one per process); '${current.path}' is open — close its store first`,
      );
    }
    current.users += 1;
    await current.ready;
    return current;
  }
  let session: Session;
  try {
    session = new Session(path);
  } catch (e) {
    throw toStoreError(e, `open embedded store at '${path}'`, 'query_failed');
  }
  // Pinned output formats: both backends must print the same text (see sql-client.ts).
  const ready = session.queryAsync(`SET ${settingsClause(SESSION_SETTINGS)}`).then(() => undefined);
  const opened: OpenSession = { path, session, ready, users: 1 };
  current = opened;
  try {
    await ready;
  } catch (e) {
    current = undefined;
    session.close();
    throw toStoreError(e, `open embedded store at '${path}'`, 'query_failed');
  }
  return opened;
}

async function release(opened: OpenSession): Promise<void> {
  opened.users -= 1;
  if (opened.users > 0 || current !== opened) return;
  current = undefined;
  opened.session.close();
  // close() returns before the native connection is gone if work is still running on it; wait,
  // so that a store on another path can be opened right after this resolves.
  closing = drainPending().finally(() => {
    closing = undefined;
  });
  await closing;
}

function parseJsonEachRow<T>(text: string): T[] {
  const rows: T[] = [];
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    if (end > start) rows.push(JSON.parse(text.slice(start, end)) as T);
    start = end + 1;
  }
  return rows;
}

function chdbClient(opened: OpenSession): SqlClient {
  const { session } = opened;
  let closed = false;
  const check = (what: string): void => {
    if (closed) throw new StoreError('closed', `${what}: expected an open embedded store; it was closed`);
  };
  return {
    kind: 'chdb',
    async exec(sql) {
      check('exec');
      try {
        await session.queryAsync(sql);
      } catch (e) {
        throw toStoreError(e, 'statement', 'query_failed');
      }
    },
    async query<T>(sql: string, params: Readonly<Record<string, unknown>> = {}): Promise<T[]> {
      check('query');
      try {
        const result =
          Object.keys(params).length === 0
            ? await session.queryAsync(sql, { format: 'JSONEachRow' })
            : await session.queryBindAsync(sql, params, { format: 'JSONEachRow' });
        return parseJsonEachRow<T>(result.text());
      } catch (e) {
        throw toStoreError(e, 'query', 'query_failed');
      }
    },
    async insert(request: SqlInsert) {
      check(`insert into ${request.table}`);
      try {
        await session.insert({
          table: request.table,
          values: request.body,
          format: request.format,
          columns: request.columns,
          settings: { ...request.settings },
        });
      } catch (e) {
        throw toStoreError(e, `insert into ${request.table}`, 'insert_failed');
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      await release(opened);
    },
  };
}

/** Opens (creating if needed) an embedded ClickHouse store in `dataDir`. Call migrate() before use. */
export async function openEmbeddedStore(options: EmbeddedStoreOptions): Promise<Store> {
  if (typeof options.dataDir !== 'string' || options.dataDir.trim() === '') {
    throw new StoreError('invalid_config', `dataDir: expected a directory path; got ${JSON.stringify(options.dataDir)}`);
  }
  const opened = await acquire(resolve(options.dataDir));
  return createSqlStore(chdbClient(opened), options);
}
