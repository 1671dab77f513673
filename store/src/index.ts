/**
 * @cityops/store — ClickHouse DDL and migrations, the batched idempotent writer, typed queries,
 * and the bus → ClickHouse sink; embedded chDB or a ClickHouse server behind one Store
 * interface. No ClickHouse client type leaves this package.
 */
export {
  TABLES,
  type TableName,
  type Store,
  type StoreQueries,
  type MigrationReport,
  type InsertOptions,
  type TimeRange,
  type RollupPoint,
} from './store.js';
export { StoreError, type StoreErrorCode } from './errors.js';
export { openStore, type StoreConfig } from './open-store.js';
export { openEmbeddedStore, type EmbeddedStoreOptions } from './chdb-store.js';
export { openServerStore, type ServerStoreOptions } from './server-store.js';
export type { StoreOptions } from './sql-store.js';
export { DEFAULT_RETENTION_DAYS, type RetainedTable, type RetentionDays } from './retention.js';
export { JSON_TABLES, type JsonTable, type TableRow, type TableRowMap } from './tables.js';
export {
  createBatchWriter,
  createJsonBatchWriter,
  type BatchWriter,
  type BatchWriterOptions,
  type BatchWriterStats,
  type JsonRows,
} from './batch-writer.js';
export {
  startSink,
  SINK_TOPICS,
  SINK_MAX_BATCH_MESSAGES,
  SINK_MAX_BATCHES_IN_FLIGHT,
  SINK_WRITER_DEFAULTS,
  type SinkOptions,
} from './sink.js';
export {
  createReplayQueries,
  type ReplayQueries,
  type ReplayWindow,
  type ReplaySensorFrames,
  type ReplayAnomaly,
  type ReplayIncidentStep,
} from './replay-queries.js';
