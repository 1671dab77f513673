export { TOPICS, DEFAULT_PARTITIONS, type TopicName } from './topics.js';
export { stableId, randomId, entityTimeId, MAX_ID_LENGTH } from './ids.js';
export { WARNING_LEVELS, WARNING_LEVEL_INFO, levelRank, maxLevel, type WarningLevel, type WarningLevelInfo } from './levels.js';
export {
  SENSOR_KINDS,
  SENSOR_KIND_INFO,
  EVENT_KINDS,
  EVENT_KIND_LABELS,
  type SensorKind,
  type SensorKindInfo,
  type EventKind,
} from './sensor-kinds.js';
export * from './records.js';
export { validator, type Validator } from './validate.js';
export {
  encodeRecord,
  recordMessage,
  decodeRecord,
  rememberDecoded,
  encodeFrame,
  decodeFrame,
  truncate,
  SCHEMA_HEADER,
  FRAME_HEADER,
  SNAPSHOT_HEADER,
  encodeSnapshot,
  decodeSnapshot,
  MAX_DEAD_LETTER_PAYLOAD_CHARS,
  type DecodeResult,
} from './codec.js';
export {
  RECORDS_HEADER,
  decodeRecords,
  rememberDecodedRecords,
  recordBatchHeaders,
  type DecodedRecords,
  type LineFailure,
} from './record-batch.js';
export { rememberReadingColumns, readingColumnsOf, readingAt, type ReadingColumns } from './reading-columns.js';
export { readingDomainErrors, readingInDomain } from './domain-checks.js';
export { DIMENSION_SCHEMAS, encodeDimension, decodeDimension, type DimensionName, type DimensionRecord } from './dimensions.js';
export type { RunningWorker, Clock } from './worker.js';
export { jsonSchemaDocuments } from './json-schema.js';
export type { TSchema, Static } from '@sinclair/typebox';
