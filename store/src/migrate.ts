import { createHash } from 'node:crypto';
import { StoreError, toStoreError } from './errors.js';
import { MIGRATIONS, type Migration } from './migrations/index.js';
import { TTL_COLUMN, ttlDaysOf, type RetainedTable } from './retention.js';
import type { SqlClient } from './sql-client.js';
import type { MigrationReport } from './store.js';

/*
 * The migration runner. schema_migrations records which numbered migrations ran and a checksum
 * of their text; migrate() applies the missing ones in order, then reconciles TTLs with the
 * configured retention. Running it again changes nothing, so every process may call it at start.
 */

const BOOTSTRAP = `
CREATE TABLE IF NOT EXISTS schema_migrations
(
    id String,
    checksum String,
    description String,
    applied_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(applied_at)
ORDER BY id`;

export function checksumOf(migration: Migration): string {
  const hash = createHash('sha256');
  for (const statement of migration.statements) hash.update(statement.trim()).update('\n;\n');
  return hash.digest('hex');
}

export async function runMigrations(
  client: SqlClient,
  retention: Readonly<Record<RetainedTable, number>>,
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<MigrationReport> {
  await client.exec(BOOTSTRAP);
  const rows = await client.query<{ id: string; checksum: string }>('SELECT id, checksum FROM schema_migrations FINAL');
  const applied = new Map(rows.map((r) => [r.id, r.checksum]));
  const report: MigrationReport = { applied: [], alreadyApplied: [] };

  for (const migration of migrations) {
    const checksum = checksumOf(migration);
    const previous = applied.get(migration.id);
    if (previous !== undefined) {
      if (previous !== checksum) {
        throw new StoreError(
          'migration_changed',
          `migration ${migration.id}: expected the text applied earlier (sha256 ${previous.slice(0, 12)}…); got sha256 ${checksum.slice(0, 12)}… — applied migrations are append-only, add a new one instead`,
        );
      }
      report.alreadyApplied.push(migration.id);
      continue;
    }
    for (const [index, statement] of migration.statements.entries()) {
      try {
        await client.exec(statement);
      } catch (e) {
        const cause = toStoreError(e, `migration ${migration.id} statement ${index + 1}`, 'query_failed');
        throw new StoreError('migration_failed', cause.message, { cause, retriable: cause.retriable });
      }
    }
    await client.insert({
      table: 'schema_migrations',
      columns: ['id', 'checksum', 'description'],
      format: 'JSONEachRow',
      body: Buffer.from(`${JSON.stringify({ id: migration.id, checksum, description: migration.description })}\n`),
      settings: { async_insert: 0 },
    });
    report.applied.push(migration.id);
  }

  await reconcileRetention(client, retention);
  return report;
}

/**
 * Brings every table's TTL to the configured days. Only tables whose TTL differs are altered:
 * MODIFY TTL rewrites existing parts, which is not something to repeat at every start.
 */
async function reconcileRetention(client: SqlClient, retention: Readonly<Record<RetainedTable, number>>): Promise<void> {
  const tables = await client.query<{ name: string; engine_full: string }>(
    'SELECT name, engine_full FROM system.tables WHERE database = currentDatabase() AND name IN {names:Array(String)}',
    { names: Object.keys(retention) },
  );
  for (const { name, engine_full } of tables) {
    const table = name as RetainedTable;
    const wanted = retention[table];
    const current = ttlDaysOf(engine_full);
    if (wanted === 0 && current === undefined) continue;
    if (wanted === current) continue;
    const sql =
      wanted === 0
        ? `ALTER TABLE ${table} REMOVE TTL`
        : `ALTER TABLE ${table} MODIFY TTL toDateTime(${TTL_COLUMN[table]}) + toIntervalDay(${wanted})`;
    try {
      await client.exec(sql);
    } catch (e) {
      const cause = toStoreError(e, `retention of ${table}`, 'query_failed');
      throw new StoreError('migration_failed', cause.message, { cause, retriable: cause.retriable });
    }
  }
}
