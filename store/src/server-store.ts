import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { StoreError, toStoreError } from './errors.js';
import { SESSION_SETTINGS, type SqlClient, type SqlInsert } from './sql-client.js';
import { createSqlStore, type StoreOptions } from './sql-store.js';
import type { Store } from './store.js';

/*
 * The server store: a ClickHouse server (or cluster entry point) over HTTP through
 * @clickhouse/client, selected when CLICKHOUSE_URL is set. Same SQL, same serialisation as
 * the embedded store; only this file knows the client's types.
 */

export interface ServerStoreOptions extends StoreOptions {
  /** e.g. `http://localhost:8123`. */
  url: string;
  /** Database holding the CityOps tables; must exist. Default: the user's default database. */
  database?: string;
  username?: string;
  password?: string;
  /** Per-request timeout in milliseconds. Default 60_000 (migrations may alter large tables). */
  requestTimeoutMs?: number;
}

/** A SqlClient over an existing @clickhouse/client client (which it closes on close()). */
export function serverSqlClient(client: ClickHouseClient): SqlClient {
  let closed = false;
  const check = (what: string): void => {
    if (closed) throw new StoreError('closed', `${what}: expected an open server store; it was closed`);
  };
  return {
    kind: 'server',
    async exec(sql) {
      check('exec');
      try {
        await client.command({ query: sql });
      } catch (e) {
        throw toStoreError(e, 'statement', 'query_failed');
      }
    },
    async query<T>(sql: string, params: Readonly<Record<string, unknown>> = {}): Promise<T[]> {
      check('query');
      try {
        const result = await client.query({ query: sql, format: 'JSONEachRow', query_params: { ...params } });
        return await result.json<T>();
      } catch (e) {
        throw toStoreError(e, 'query', 'query_failed');
      }
    },
    async insert(request: SqlInsert) {
      check(`insert into ${request.table}`);
      // exec, not client.insert(): insert() wants JS objects for JSON formats and re-encodes
      // them; the body here is already serialised, so it goes out as raw bytes. Table and
      // column names come from this package's constants, never from input.
      const columns = request.columns.length === 0 ? '' : ` (${request.columns.join(', ')})`;
      try {
        const result = await client.exec({
          query: `INSERT INTO ${request.table}${columns} FORMAT ${request.format}`,
          values: Readable.from([request.body], { objectMode: false }),
          clickhouse_settings: request.settings,
        });
        // The response of an INSERT is empty, but the socket is only released once it is read.
        result.stream.resume();
        await finished(result.stream);
      } catch (e) {
        throw toStoreError(e, `insert into ${request.table}`, 'insert_failed');
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      await client.close();
    },
  };
}

/**
 * Connects to a ClickHouse server and checks it answers (/ping), so a wrong URL fails at start
 * with `connection_failed` rather than at the first write. Call migrate() before use.
 */
export async function openServerStore(options: ServerStoreOptions): Promise<Store> {
  let url: URL;
  try {
    url = new URL(options.url);
  } catch (e) {
    throw new StoreError(
      'invalid_config',
      `url: expected an http(s) URL such as http://localhost:8123; got ${JSON.stringify(options.url)}`,
      { cause: e },
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new StoreError('invalid_config', `url: expected http: or https:; got '${url.protocol}'`);
  }
  const client = createClient({
    url,
    ...(options.database === undefined ? {} : { database: options.database }),
    ...(options.username === undefined ? {} : { username: options.username }),
    ...(options.password === undefined ? {} : { password: options.password }),
    request_timeout: options.requestTimeoutMs ?? 60_000,
    application: 'cityops-store',
    clickhouse_settings: { ...SESSION_SETTINGS },
  });
  const ping = await client.ping();
  if (!ping.success) {
    await client.close();
    throw new StoreError(
      'connection_failed',
      `open server store: expected ClickHouse to answer at ${url.origin}; got ${ping.error.message}`,
      {
        cause: ping.error,
        retriable: true,
      },
    );
  }
  return createSqlStore(serverSqlClient(client), options);
}
