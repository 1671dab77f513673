import { StoreError, toStoreError } from './errors.js';
import { runMigrations } from './migrate.js';
import { createQueries } from './queries.js';
import { resolveRetention, type RetentionDays } from './retention.js';
import { insertSettings, jsonInsertSettings, type SqlClient } from './sql-client.js';
import { TABLES, type InsertOptions, type MigrationReport, type Store, type TableName } from './store.js';
import { isJsonTable, JSON_TABLES, TABLE_COLUMNS, type JsonTable } from './tables.js';
import { encodeTsv } from './tsv-encoder.js';

/** Options every store takes, whichever backend it runs on. */
export interface StoreOptions {
  /**
   * Days each table keeps rows (ClickHouse TTL), merged over DEFAULT_RETENTION_DAYS; 0 keeps
   * forever. Applied by migrate().
   */
  retentionDays?: RetentionDays;
}

const TABLE_SET: ReadonlySet<string> = new Set(TABLES);

/**
 * One JSONEachRow body: the records' bytes, each followed by '\n', copied once into one buffer
 * sized up front (no per-record string, no intermediate list of pieces).
 */
function jsonLines(records: readonly Uint8Array[]): Buffer {
  let size = records.length;
  for (let i = 0; i < records.length; i++) size += records[i]!.byteLength;
  // Every byte is written below, so the unzeroed allocation exposes nothing.
  const body = Buffer.allocUnsafeSlow(size);
  let at = 0;
  for (let i = 0; i < records.length; i++) {
    const record = records[i]!;
    body.set(record, at);
    at += record.byteLength;
    body[at++] = 0x0a;
  }
  return body;
}

/** The Store, written once over a SqlClient: the embedded and the server store differ only in the client. */
export function createSqlStore(client: SqlClient, options: StoreOptions = {}): Store {
  const retention = resolveRetention(options.retentionDays);
  const columnNames = Object.fromEntries(TABLES.map((t) => [t, TABLE_COLUMNS[t].map((c) => c.name)])) as Record<TableName, string[]>;
  let closed = false;
  // Two migrate() calls at once (two roles starting in one process) run one after the other.
  let migrating: Promise<MigrationReport> | undefined;

  const assertOpen = (what: string): void => {
    if (closed) throw new StoreError('closed', `${what}: expected an open store; it was closed`);
  };

  return {
    kind: client.kind,
    queries: createQueries(client),

    async migrate(): Promise<MigrationReport> {
      assertOpen('migrate');
      const previous = migrating ?? Promise.resolve();
      const run = previous.catch(() => undefined).then(() => runMigrations(client, retention));
      migrating = run;
      try {
        return await run;
      } finally {
        if (migrating === run) migrating = undefined;
      }
    },

    async insert(table: TableName, rows: readonly object[], options: InsertOptions = {}): Promise<void> {
      assertOpen(`insert into ${table}`);
      if (!TABLE_SET.has(table)) {
        throw new StoreError('invalid_row', `insert: expected a table among ${TABLES.join(', ')}; got '${String(table)}'`);
      }
      if (rows.length === 0) return;
      const body = encodeTsv(table, rows);
      try {
        await client.insert({
          table,
          columns: columnNames[table],
          format: 'TabSeparated',
          body,
          settings: insertSettings(options.dedupToken),
        });
      } catch (e) {
        throw toStoreError(e, `insert of ${rows.length} rows into ${table}`, 'insert_failed');
      }
    },

    async insertJson(table: JsonTable, records: readonly Uint8Array[], options: InsertOptions = {}): Promise<void> {
      assertOpen(`insert into ${table}`);
      if (!isJsonTable(table)) {
        throw new StoreError('invalid_row', `insertJson: expected a table among ${JSON_TABLES.join(', ')}; got '${String(table)}'`);
      }
      if (records.length === 0) return;
      try {
        await client.insert({
          table,
          columns: columnNames[table],
          format: 'JSONEachRow',
          body: jsonLines(records),
          settings: jsonInsertSettings(options.dedupToken),
        });
      } catch (e) {
        throw toStoreError(e, `insert of ${records.length} JSON records into ${table}`, 'insert_failed');
      }
    },

    async query<T>(sql: string, params: Readonly<Record<string, unknown>> = {}): Promise<T[]> {
      assertOpen('query');
      return client.query<T>(sql, params);
    },

    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await client.close();
    },
  };
}
