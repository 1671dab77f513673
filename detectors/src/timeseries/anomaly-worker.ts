import {
  deadLetter,
  startConsumerLoop,
  type Bus,
  type ConsumerLoop,
  type DeadLetterInput,
  type IncomingMessage,
  type MessageBatch,
  type Producer,
  Outbox,
} from '@cityops/bus';
import {
  Anomaly as AnomalySchema,
  DEFAULT_PARTITIONS,
  EVENT_KIND_LABELS,
  EarlyWarning as EarlyWarningSchema,
  WarningCleared as WarningClearedSchema,
  SENSOR_KIND_INFO,
  SensorReading as SensorReadingSchema,
  TOPICS,
  decodeDimension,
  decodeRecords,
  type DecodedRecords,
  randomId,
  readingAt,
  readingColumnsOf,
  readingDomainErrors,
  readingInDomain,
  type ReadingColumns,
  SENSOR_KINDS,
  stableId,
  WARNING_LEVELS,
  levelRank,
  truncate,
  validator,
  type Anomaly,
  type Area,
  type Clock,
  type EarlyWarning,
  type WarningCleared,
  type FieldError,
  type RunningWorker,
  type Sensor,
  type SensorKind,
  type SensorReading,
  type WorkerHealth,
  recordMessage,
} from '@cityops/schemas';
import { DetectorError, toDetectorError } from '../errors.js';
import type { TimeseriesDetectorConfig } from './detector-config.js';
import { EpisodeTracker, type EpisodeDecision } from './episode-tracker.js';
import { createTimeseriesDetector } from './registry.js';
import { decodeWorkerCheckpoint, encodeWorkerCheckpoint, readCheckpointFile, writeCheckpointFile } from './worker-checkpoint.js';
import type { ScoreDetail, SeriesScorer, TimeseriesDetector } from './timeseries-detector.js';
import { POINT_STATUS, scorerOf } from './timeseries-detector.js';
import {
  DEFAULT_PHYSICAL_LINES_BY_KIND,
  defaultWarningPolicyFor,
  describeLevel,
  physicalLevelOf,
  reachesFirstLine,
  validatePhysicalLines,
  validateWarningPolicy,
  type Direction,
  type PhysicalLines,
  type WarningPolicy,
} from './warning-policy.js';

/*
 * The time-series anomaly role: sensor readings in; anomalies and early warnings out.
 *
 * - Dimensions (city.dimensions) are read from the beginning by a consumer group of this start's
 *   own, so every replica learns every sensor's kind, area and location; the worker waits for it
 *   to reach the end before taking readings, and keeps following it for new sensors.
 * - Readings are decoded and checked at the edge; a bad one goes to the dead letters with its
 *   reason and the batch goes on. Valid ones are scored in one detector call per batch.
 * - At-least-once without loss: a batch's results are produced before the handler resolves (the
 *   bus commits then). Results that could not be produced stay in an outbox sent first on the
 *   next attempt — the redelivered readings are duplicates to the detector by then (same
 *   timestamps), so without the outbox their results would be lost.
 * - Ids are stable (anomaly: sensor, ts, detector; warning: sensor, episode start, level), so a
 *   replay produces the same records and the store keeps one copy.
 */

export interface AnomalyWorkerConfig {
  /** Detector plugin config, chosen by `type`. Default: rolling-robust-z with its defaults. */
  detector?: TimeseriesDetectorConfig | Record<string, unknown>;
  /**
   * Smallest MAD per sensor kind, in the kind's unit (about the sensor's resolution), so a flat
   * series does not score a one-step wiggle as an anomaly. Defaults in DEFAULT_SCALE_FLOOR_BY_KIND.
   */
  scaleFloorByKind?: Partial<Record<SensorKind, number>>;
  /** Episode hysteresis and level lines; see DEFAULT_WARNING_POLICY. */
  warningPolicy?: Partial<WarningPolicy>;
  /**
   * Physical level lines per sensor kind, over DEFAULT_PHYSICAL_LINES_BY_KIND; `null` removes a
   * kind's default. A reading beyond its sensor's first line counts towards an episode even when
   * the detector does not flag it, and the line it reaches is a level (see warning-policy.ts).
   */
  physicalLinesByKind?: Partial<Record<SensorKind, PhysicalLines | null>>;
  /**
   * Physical lines of single sensors by sensor id (a river gauge's warning stage, a feeder's rating
   * via `powerLoadLines(ratedMw)`), over their kind's. The Sensor contract has no such field yet.
   */
  physicalLinesBySensor?: Readonly<Record<string, PhysicalLines>>;
  /**
   * Where a warning is placed when its sensor's location is not known (no Sensor record on
   * city.dimensions yet) — normally the city center. Default lon 0, lat 0; the warning's reasons
   * say the location is unknown either way.
   */
  fallbackLocation?: { lon: number; lat: number };
  /**
   * The file the worker keeps its state in between starts (the CLI: `<dataDir>/anomaly-state.bin`):
   * every series' detector state, which sensor it is, and the open warning episodes. Read at
   * start (a file of another detector type, version or config is refused with a log line, and
   * series warm up from their first readings), written between batches every
   * `checkpointIntervalMs` and once more at stop. Without it, a restart starts every series afresh.
   */
  checkpointPath?: string;
  /** Least time between two checkpoints while running, by the worker's clock. Default 60 000 ms. */
  checkpointIntervalMs?: number;
  /** Largest batch of readings handed to the detector at once. Default 1000. */
  maxBatchSize?: number;
  /** Longest wait at start for city.dimensions to be read to its end. Default 30 000 ms. */
  dimensionsCatchUpTimeoutMs?: number;
  /**
   * How a detector with a network (the ensemble's neural member) runs it: ONNX Runtime execution
   * provider (default 'cpu'; one that cannot start falls back to cpu with a log line) and CPU threads.
   */
  runtime?: { executionProvider?: string; intraOpThreads?: number };
}

export interface AnomalyWorkerOptions {
  bus: Bus;
  /** Consumer group for readings; replicas of the role share it. Default 'cityops-anomaly'. */
  groupId?: string;
  /** Time source for health timestamps. Default Date.now. */
  clock?: Clock;
  config?: AnomalyWorkerConfig;
  /** Where operator-facing lines go (the learned member's execution provider, fallbacks). Default console.log. */
  log?: (line: string) => void;
}

/** About one step of resolution per kind, in the kind's unit. */
export const DEFAULT_SCALE_FLOOR_BY_KIND: Readonly<Record<SensorKind, number>> = {
  traffic_speed: 1,
  traffic_occupancy: 0.5,
  water_level: 0.5,
  air_quality_pm25: 1,
  power_load: 0.5,
};

const WORKER_NAME = 'anomaly';
/**
 * Slots remembered at most (4 MB of Int32Array): far above a city's sensors; past it, a producer
 * cycling through ever new ids costs Map lookups, not memory.
 */
const MAX_SLOTS = 1 << 20;

/** A stuck run gets one anomaly record on its first stuck reading and then every this many. */
const STUCK_ANOMALY_EVERY = 60;
const TOPICS_USED = [
  TOPICS.dimensions,
  TOPICS.sensorReadings,
  TOPICS.anomalies,
  TOPICS.warnings,
  TOPICS.warningsCleared,
  TOPICS.deadLetters,
] as const;

interface Counters {
  points_scored: number;
  anomalies_emitted: number;
  warnings_emitted: number;
  warnings_cleared_emitted: number;
  skipped_out_of_order: number;
  skipped_nan: number;
  skipped_duplicate: number;
  points_warming_up: number;
  gap_resets: number;
  stuck_points: number;
  dimension_records_skipped: number;
  invalid_outputs: number;
  /** Batched predictions of the learned member that failed (scoring fell back to the reference pass). */
  prediction_errors: number;
  /** Series resumed from the checkpoint at start. */
  series_restored: number;
  /** 1 when a checkpoint file was found at start but could not be used. */
  checkpoint_refused: number;
  checkpoints_written: number;
  checkpoint_errors: number;
  /** Size of the last checkpoint written. */
  checkpoint_bytes: number;
  /** The worker's clock when the last checkpoint was written (0: none yet). */
  last_checkpoint_at_ms: number;
}

/**
 * Starts the anomaly role. Resolves once topics exist, dimensions are read to their end (or the
 * catch-up timeout passed) and the readings consumer has joined its group.
 */
export async function startAnomalyWorker(options: AnomalyWorkerOptions): Promise<RunningWorker> {
  const { bus } = options;
  const groupId = options.groupId ?? 'cityops-anomaly';
  const clock = options.clock ?? Date.now;
  const config = options.config ?? {};
  const detector = createTimeseriesDetector(config.detector ?? {});
  // Level lines follow the detector's score scale unless the config gives its own.
  const policy = validateWarningPolicy({ ...defaultWarningPolicyFor(detector.type), ...config.warningPolicy });
  const floors: Record<SensorKind, number> = { ...DEFAULT_SCALE_FLOOR_BY_KIND, ...config.scaleFloorByKind };
  const linesByKind: Partial<Record<SensorKind, PhysicalLines | null>> = {
    ...DEFAULT_PHYSICAL_LINES_BY_KIND,
    ...config.physicalLinesByKind,
  };
  for (const [kind, lines] of Object.entries(linesByKind))
    if (lines !== null && lines !== undefined) validatePhysicalLines(lines, `kind ${kind}`);
  const linesBySensor = config.physicalLinesBySensor ?? {};
  for (const [id, lines] of Object.entries(linesBySensor)) validatePhysicalLines(lines, `sensor ${id}`);
  const physicalLinesOf = (sensorId: string, kind: SensorKind): PhysicalLines | undefined =>
    (Object.hasOwn(linesBySensor, sensorId) ? linesBySensor[sensorId] : undefined) ?? linesByKind[kind] ?? undefined;
  const fallbackLocation = config.fallbackLocation ?? { lon: 0, lat: 0 };
  const maxBatchSize = config.maxBatchSize ?? 5000;
  const producedBy = `anomaly-worker/${detector.type}@${detector.version.split('.')[0] ?? '1'}`;
  const tracker = new EpisodeTracker(policy);

  let state: WorkerHealth['state'] = 'starting';
  let lastError = '';
  let processed = 0;
  let deadLettered = 0;
  let lastBatchAtMs = 0;
  const counters: Counters = {
    points_scored: 0,
    anomalies_emitted: 0,
    warnings_emitted: 0,
    warnings_cleared_emitted: 0,
    skipped_out_of_order: 0,
    skipped_nan: 0,
    skipped_duplicate: 0,
    points_warming_up: 0,
    gap_resets: 0,
    stuck_points: 0,
    dimension_records_skipped: 0,
    invalid_outputs: 0,
    prediction_errors: 0,
    series_restored: 0,
    checkpoint_refused: 0,
    checkpoints_written: 0,
    checkpoint_errors: 0,
    checkpoint_bytes: 0,
    last_checkpoint_at_ms: 0,
  };
  const sensors = new Map<string, Sensor>();
  const areas = new Map<string, Area>();
  // Per series, by detector index: a Map from sensor id to the index (one lookup per reading,
  // a number in the table rather than an object to follow), then flat arrays for the rest.
  const series = new Map<string, number>();
  /**
   * The series index by the slot ingest in this process gave a sensor (ReadingColumns.slots), -1
   * where not yet known: an array read per reading instead of the Map's hash lookup, which cost
   * about a tenth of the worker's time with 10k sensors. The Map stays the truth.
   */
  let seriesBySlot = new Int32Array(0);
  const seriesKind: SensorKind[] = [];
  /** Physical lines of each series' sensor (undefined: none). */
  const seriesLines: (PhysicalLines | undefined)[] = [];
  /** The sensor id of each series index (the reverse of `series`). */
  const seriesSensor: string[] = [];
  /** Consecutive stuck points, to thin out their anomaly records. */
  const stuckRun: number[] = [];
  /**
   * Each series' moving average for its physical lines (policy.physicalSmoothingMs) and the
   * timestamp it is at; NaN before its first reading. Only series with lines keep one.
   */
  const average: number[] = [];
  const averageTs: number[] = [];
  const smoothingMs = policy.physicalSmoothingMs;
  const deadband = policy.physicalDeadband;
  /** Times a sensor changed kind (step 2 compares the count before and during its loop). */
  let kindResets = 0;
  // Anomalies first, so a warning's evidence exists when it lands.
  const outbox = new Outbox([TOPICS.anomalies, TOPICS.warnings, TOPICS.warningsCleared]);
  const scratch = new Scratch(maxBatchSize, detector.memberNames?.length ?? 0);
  const threshold = detector.threshold;
  const checkAnomaly = validator(AnomalySchema);
  const checkWarning = validator(EarlyWarningSchema);
  const checkCleared = validator(WarningClearedSchema);
  const log = options.log ?? ((line: string) => console.log(line));
  const checkpointPath = config.checkpointPath;
  const checkpointIntervalMs = config.checkpointIntervalMs ?? 60_000;

  try {
    // A detector with a network loads it into ONNX Runtime once, here (absent on statistical ones).
    await detector.open?.({
      executionProvider: config.runtime?.executionProvider ?? 'cpu',
      intraOpThreads: config.runtime?.intraOpThreads ?? 1,
      log,
    });
  } catch (e) {
    state = 'failed';
    throw toDetectorError('start-failed', `expected the ${detector.type} detector's network to load`, e, false);
  }

  let producer: Producer;
  try {
    await bus.ensureTopics(TOPICS_USED.map((name) => ({ name, partitions: DEFAULT_PARTITIONS[name] })));
    producer = bus.producer();
  } catch (e) {
    state = 'failed';
    throw toDetectorError('start-failed', 'expected to create the anomaly worker topics', e, true);
  }

  /**
   * Resumes from the checkpoint file, if there is one that fits. Anything wrong with it (damaged,
   * another detector version or config, unreadable) costs the warm-up, not the start.
   */
  const resume = async (path: string): Promise<void> => {
    const empty = detector.checkpoint();
    try {
      const bytes = await readCheckpointFile(path);
      if (bytes === undefined) {
        log(`no checkpoint at ${path} yet: every series warms up from its first readings`);
        return;
      }
      const c = decodeWorkerCheckpoint(bytes);
      detector.restore(c.detectorState);
      if (detector.seriesCount !== c.series.length) {
        throw new DetectorError('invalid-argument', `expected detector state for ${c.series.length} series; got ${detector.seriesCount}`);
      }
      for (const [index, s] of c.series.entries()) {
        if (series.has(s.sensorId)) throw new DetectorError('invalid-argument', `expected each sensor once; ${s.sensorId} is listed twice`);
        series.set(s.sensorId, index);
        seriesSensor[index] = s.sensorId;
        seriesKind[index] = s.kind;
        seriesLines[index] = physicalLinesOf(s.sensorId, s.kind);
        stuckRun[index] = s.stuckRun;
        average[index] = s.average;
        averageTs[index] = s.averageTs;
      }
      tracker.restore(c.episodes, (index) => seriesLines[index]);
      counters.series_restored = c.series.length;
      log(
        `resumed ${c.series.length} series and ${tracker.activeCount} open warning episodes from ${path} (written ${iso(c.writtenAtMs)})`,
      );
    } catch (e) {
      // Back to no series at all, whatever the failed restore had already replaced.
      detector.restore(empty);
      series.clear();
      seriesSensor.length = seriesKind.length = seriesLines.length = stuckRun.length = average.length = averageTs.length = 0;
      tracker.restore([], () => undefined);
      counters.checkpoint_refused = 1;
      lastError = `checkpoint ${path} not used: ${e instanceof Error ? e.message : String(e)}; every series warms up again`;
      log(lastError);
    }
  };

  /** Every series' state now, as the checkpoint file's bytes. Call only between batches. */
  const takeCheckpoint = (): Uint8Array =>
    encodeWorkerCheckpoint({
      writtenAtMs: clock(),
      series: seriesSensor.map((sensorId, index) => ({
        sensorId,
        kind: seriesKind[index]!,
        stuckRun: stuckRun[index]!,
        average: average[index]!,
        averageTs: averageTs[index]!,
      })),
      episodes: tracker.snapshot(),
      detectorState: detector.checkpoint(),
    });

  let checkpointWrite: Promise<void> | undefined;
  let lastCheckpointTry = clock();
  const writeCheckpoint = async (path: string, bytes: Uint8Array): Promise<void> => {
    try {
      await writeCheckpointFile(path, bytes);
      counters.checkpoints_written++;
      counters.checkpoint_bytes = bytes.byteLength;
      counters.last_checkpoint_at_ms = clock();
    } catch (e) {
      counters.checkpoint_errors++;
      lastError = `checkpoint not written to ${path} (the previous one stays): ${e instanceof Error ? e.message : String(e)}`;
    }
  };

  /**
   * After a batch whose results were all produced: the state then holds only readings whose
   * results are out, so a restart from it loses none (the bus redelivers what was not committed,
   * and the detector skips what it has seen). The bytes are taken now; the file is written in
   * the background, one write at a time.
   */
  const maybeCheckpoint = (): void => {
    if (checkpointPath === undefined || checkpointWrite !== undefined || outbox.size > 0) return;
    const now = clock();
    if (now - lastCheckpointTry < checkpointIntervalMs) return;
    lastCheckpointTry = now;
    checkpointWrite = writeCheckpoint(checkpointPath, takeCheckpoint()).finally(() => (checkpointWrite = undefined));
  };

  if (checkpointPath !== undefined) await resume(checkpointPath);

  const onDimensions = (batch: MessageBatch): Promise<void> => {
    for (const message of batch.messages) {
      if (message.value.byteLength === 0) {
        // A compaction tombstone: the record named by the key was deleted.
        const [name, id] = splitKey(message.key);
        if (name === 'Sensor') sensors.delete(id);
        else if (name === 'Area') areas.delete(id);
        continue;
      }
      const decoded = decodeDimension(message.headers, message.value);
      if (!decoded.ok) {
        // Counted, not dead-lettered: this topic is read from the beginning at every start,
        // and the dead letters would fill with copies of the same record.
        counters.dimension_records_skipped++;
        lastError = `skipped ${TOPICS.dimensions}[${batch.partition}]@${message.offset}: ${decoded.reason}`;
        continue;
      }
      const d = decoded.value;
      if (d.name === 'Sensor') sensors.set(d.record.id, d.record);
      else if (d.name === 'Area') areas.set(d.record.id, d.record);
    }
    return Promise.resolve();
  };

  /** The detector series of a reading's sensor, added on first sight. */
  const seriesFor = (sensorId: string, kind: SensorKind): number => {
    let index = series.get(sensorId);
    if (index === undefined) {
      index = detector.addSeries();
      detector.setScaleFloor(index, floors[kind]);
      series.set(sensorId, index);
      seriesSensor[index] = sensorId;
      seriesKind[index] = kind;
      seriesLines[index] = physicalLinesOf(sensorId, kind);
      stuckRun[index] = 0;
      average[index] = Number.NaN;
      averageTs[index] = Number.NaN;
    } else if (seriesKind[index] !== kind) {
      // The same sensor id now reports another kind (re-provisioned): old values are not
      // comparable, so its baseline starts over.
      detector.resetSeries(index);
      detector.setScaleFloor(index, floors[kind]);
      tracker.end(index);
      seriesKind[index] = kind;
      seriesLines[index] = physicalLinesOf(sensorId, kind);
      average[index] = Number.NaN;
      kindResets++;
    }
    return index;
  };

  /**
   * Step 1: decodes and checks every record of every message (a message holds one reading or a
   * batch of them, see @cityops/schemas record-batch.ts). Valid readings go to scratch in order
   * (sensor, kind, value, ts, and their series if it needs no setting up) and their count is
   * returned; the bad ones go to `scratch.rejects` as dead letters, indexed by their position
   * among all records of the batch. Reads state, changes none.
   *
   * Readings that ingest in this process checked arrive as columns (see @cityops/schemas
   * reading-columns.ts) and are read from them: no record is built for a reading unless it is
   * flagged (`scratch.readingOf`). Others are decoded and checked here.
   */
  const intake = (messages: readonly IncomingMessage[]): number => {
    const { decodedOf, columnsOf: columnsOfMessage } = scratch;
    // Left over if a dead letter of the previous attempt failed to send.
    scratch.rejects.length = 0;
    let count = 0;
    for (let m = 0; m < messages.length; m++) {
      const message = messages[m]!;
      const columns = readingColumnsOf(message.value);
      columnsOfMessage[m] = columns;
      if (columns !== undefined) {
        decodedOf[m] = undefined;
        count += columns.count;
        continue;
      }
      const decoded = decodeRecords(SensorReadingSchema, message.headers, message.value);
      decodedOf[m] = decoded;
      count += decoded.values.length + decoded.failures.length;
    }
    scratch.ensure(count);
    const { rejects } = scratch;
    let n = 0;
    let at = 0; // position among all records of the batch, accepted or not
    for (let m = 0; m < messages.length; m++) {
      const message = messages[m]!;
      const columns = columnsOfMessage[m];
      columnsOfMessage[m] = undefined;
      if (columns !== undefined) {
        for (let j = columns.start, end = columns.start + columns.count; j < end; j++, at++) {
          if (acceptColumns(n, columns, j)) n++;
          else rejects.push(implausible(at, readingAt(columns, j)));
        }
        continue;
      }
      const decoded = decodedOf[m]!;
      decodedOf[m] = undefined;
      // Failed lines take their place in order, so dead letters and counts follow the input.
      const lines = decoded.values.length + decoded.failures.length;
      let v = 0;
      let f = 0;
      for (let line = 0; line < lines; line++, at++) {
        const failure = decoded.failures[f];
        if (failure !== undefined && failure.line === line) {
          f++;
          rejects.push({
            index: at,
            letter: {
              source: TOPICS.sensorReadings,
              reason: failure.reason,
              errors: failure.errors,
              payload: failure.payload,
              key: message.key,
            },
          });
          continue;
        }
        const r = decoded.values[v++]!;
        if (acceptRecord(n, r)) n++;
        else rejects.push(implausible(at, r));
      }
    }
    scratch.filled = count;
    return n;
  };

  /**
   * Puts entry j of `columns` into scratch as accepted reading n, if it is plausible for its kind
   * (ingest checked it, but a consumer checks what it reads). Numbers go from the columns
   * straight into scratch, so none is boxed on the way.
   */
  const acceptColumns = (n: number, columns: ReadingColumns, j: number): boolean => {
    const kind = columns.kinds[j]!;
    if (!readingInDomain(kind, columns.values[j]!, columns.units[j]!)) return false;
    scratch.readings[n] = undefined;
    scratch.columns[n] = columns;
    scratch.columnIndex[n] = j;
    scratch.values[n] = columns.values[j]!;
    scratch.ts[n] = columns.ts[j]!;
    setSensor(n, columns.sensorIds[j]!, kind, columns.slots?.[j] ?? -1);
    return true;
  };

  /** Like acceptColumns, for a reading that came as a record. */
  const acceptRecord = (n: number, r: SensorReading): boolean => {
    if (!readingInDomain(r.kind, r.value, r.unit)) return false;
    scratch.readings[n] = r;
    scratch.columns[n] = undefined;
    scratch.values[n] = r.value;
    scratch.ts[n] = r.ts;
    setSensor(n, r.sensor_id, r.kind, -1);
    return true;
  };

  /**
   * Accepted reading n's sensor and kind, and its series, looked up while the reading is at hand
   * (a lookup changes nothing); -1 when it is new or changed kind, for `scoreAccepted` to set up.
   * `slot` is the one ingest gave the sensor (ReadingColumns.slots), or -1.
   */
  const setSensor = (n: number, sensorId: string, kind: SensorKind, slot: number): void => {
    scratch.sensorIds[n] = sensorId;
    scratch.kinds[n] = kind;
    const index = seriesIndexOf(sensorId, slot);
    scratch.series[n] = index >= 0 && seriesKind[index] === kind ? index : -1;
  };

  /** The series of `sensorId` (-1: none yet): by its slot where known, else from the Map, then remembered by slot. */
  const seriesIndexOf = (sensorId: string, slot: number): number => {
    const known = slot >= 0 && slot < seriesBySlot.length ? seriesBySlot[slot]! : -1;
    // A slot is never another sensor's, but the check costs only a pointer compare.
    if (known >= 0 && seriesSensor[known] === sensorId) return known;
    const index = series.get(sensorId) ?? -1;
    if (index >= 0 && slot >= 0 && slot < MAX_SLOTS) {
      if (slot >= seriesBySlot.length) {
        const grown = new Int32Array(Math.min(MAX_SLOTS, Math.max(1024, slot + 1, seriesBySlot.length * 2))).fill(-1);
        grown.set(seriesBySlot);
        seriesBySlot = grown;
      }
      seriesBySlot[slot] = index;
    }
    return index;
  };

  /** The dead letter of a reading outside what a sensor of its kind can report. */
  const implausible = (index: number, r: SensorReading): Reject => {
    const domain = readingDomainErrors(r);
    return {
      index,
      letter: {
        source: TOPICS.sensorReadings,
        reason: `not a plausible ${r.kind} reading: ${domain.map((e) => `${e.path} ${e.message}`).join('; ')}`,
        errors: domain,
        payload: truncate(JSON.stringify(r)),
        key: r.sensor_id,
      },
    };
  };

  /** Step 2: the series of each accepted reading, then one detector call for the batch. */
  const scoreAccepted = (n: number): void => {
    const { sensorIds, kinds, series: seriesOf } = scratch;
    // Series found in step 1 are still right unless a reading before them in this batch
    // changed a series' kind; from then on each is checked again.
    const resetsBefore = kindResets;
    for (let i = 0; i < n; i++) {
      const index = seriesOf[i]!;
      if (index < 0 || (kindResets !== resetsBefore && seriesKind[index] !== kinds[i]!)) seriesOf[i] = seriesFor(sensorIds[i]!, kinds[i]!);
    }
    const before = detector.stats();
    detector.scoreBatch(
      seriesOf.subarray(0, n),
      scratch.values.subarray(0, n),
      scratch.ts.subarray(0, n),
      scratch.out.subarray(0, n),
      scratch.detail(n),
    );
    const after = detector.stats();
    counters.points_scored += after.pointsScored - before.pointsScored;
    counters.points_warming_up += after.pointsWarmingUp - before.pointsWarmingUp;
    counters.skipped_nan += after.skippedNan - before.skippedNan;
    counters.skipped_out_of_order += after.skippedOutOfOrder - before.skippedOutOfOrder;
    counters.skipped_duplicate += after.skippedDuplicate - before.skippedDuplicate;
    counters.gap_resets += after.gapResets - before.gapResets;
    counters.stuck_points += after.stuckPoints - before.stuckPoints;
  };

  /**
   * Step 3 for every scored point. Nearly all are below the threshold and not stuck: they only
   * end a stuck run and tell the tracker, with nothing built for them. The rest go to `decideFlagged`.
   */
  const decide = (n: number, invalid: InvalidOutput[]): void => {
    const { status: statusOf, series: seriesOf, out } = scratch;
    for (let i = 0; i < n; i++) {
      const status = statusOf[i]!;
      const index = seriesOf[i]!;
      if (status === POINT_STATUS.scored && !(Math.abs(out[i]!) >= threshold)) {
        stuckRun[index] = 0;
        const lines = seriesLines[index];
        if (lines !== undefined && onLine(index, lines, advanceAverage(index, i))) decidePhysical(i, index, lines, invalid);
        else tracker.observeNormal(index, scratch.ts[i]!);
      } else if (status === POINT_STATUS.gapReset) {
        tracker.end(index);
        // After a long silence the average starts over from the reading at hand.
        average[index] = Number.NaN;
      } else if (status === POINT_STATUS.warmup) {
        // No statistics yet, but a physical line needs none.
        const lines = seriesLines[index];
        if (lines !== undefined && onLine(index, lines, advanceAverage(index, i))) decidePhysical(i, index, lines, invalid);
      } else if (status === POINT_STATUS.scored || status === POINT_STATUS.stuck) {
        if (seriesLines[index] !== undefined) advanceAverage(index, i);
        decideFlagged(i, index, status, invalid);
      }
    }
  };

  /**
   * Moves series `index`'s moving average to point i of the batch and returns it: an exponential
   * average by elapsed time, so readings a second apart are averaged over about a minute and
   * readings minutes apart barely at all.
   */
  const advanceAverage = (index: number, i: number): number => {
    const x = scratch.values[i]!;
    const t = scratch.ts[i]!;
    const previous = average[index]!;
    let next = x;
    if (previous === previous && smoothingMs > 0) {
      const dt = t - averageTs[index]!;
      next = dt > 0 ? previous + (1 - Math.exp(-dt / smoothingMs)) * (x - previous) : previous;
    }
    average[index] = next;
    averageTs[index] = t;
    return next;
  };

  /**
   * Whether an average on its series' first line counts towards an episode: reaching the line, or
   * within its deadband while an episode is open; and, below the level its lines open episodes
   * from (traffic: orange), only while the statistics have one under way in the line's direction.
   */
  const onLine = (index: number, lines: PhysicalLines, value: number): boolean => {
    if (!reachesFirstLine(lines, value, tracker.isOpen(index) ? deadband : 0)) return false;
    const from = lines.opensEpisodesFrom;
    if (from === undefined || tracker.isUnderWay(index, lines.direction)) return true;
    const level = physicalLevelOf(lines, value);
    return level !== undefined && levelRank(level) >= levelRank(from);
  };

  /**
   * Step 3, last: an all-clear (WarningCleared) for each episode the batch's normal points closed,
   * so the incidents role can verify a resolved case by the data rather than by a person's word.
   */
  const clearEnded = (invalid: InvalidOutput[]): void => {
    for (const c of tracker.takeClosed()) {
      const sensorId = seriesSensor[c.series]!;
      const sensor = sensors.get(sensorId);
      const cleared: WarningCleared = {
        id: stableId('cleared', sensorId, c.startTs),
        schema_version: 1,
        ts: c.endTs,
        kind: c.event,
        area_id: sensor?.area_id ?? '',
        source_kind: 'sensor',
        source_id: sensorId,
        started_at: c.startTs,
        // Every level the episode can have raised (ids are stable per source, start and level).
        warning_ids: WARNING_LEVELS.slice(0, WARNING_LEVELS.indexOf(c.level) + 1).map((level) => stableId(sensorId, c.startTs, level)),
        reason: clip(
          `back within the expected range for ${policy.closeAfterPoints} consecutive readings at ${iso(c.endTs)}; the ${c.level} ${c.event} episode since ${iso(c.startTs)} (peak score ${fmt(c.peakScore)}) has ended`,
          500,
        ),
        produced_by: producedBy,
        machine_made: true,
      };
      if (checkCleared.check(cleared)) outbox.push(TOPICS.warningsCleared, recordMessage(sensorId, cleared, 'WarningCleared', cleared.ts));
      else invalid.push({ topic: TOPICS.warningsCleared, key: sensorId, record: cleared, errors: checkCleared.errors(cleared) });
    }
  };

  /** Step 3 for a point over the threshold or stuck: its anomaly record, and a warning if its episode opens or rises. */
  const decideFlagged = (i: number, index: number, status: number, invalid: InvalidOutput[]): void => {
    const r = scratch.readingOf(i);
    const z = scratch.out[i]!;
    const absZ = Math.abs(z);
    const overThreshold = absZ >= threshold;
    const stuck = status === POINT_STATUS.stuck;
    const direction: Direction = overThreshold ? (z > 0 ? 'high' : 'low') : 'flat';
    // A stuck point has no meaningful z (it sits on its own median); it is scored at the
    // threshold so it ranks with the mildest anomalies rather than above real excursions.
    const score = overThreshold ? absZ : threshold;
    const run = stuck && !overThreshold ? stuckRun[index]! + 1 : 0;
    stuckRun[index] = run;
    // A stuck sensor can stay stuck for days; one anomaly record per STUCK_ANOMALY_EVERY
    // readings says so without filling the store with a row per reading. The episode still
    // sees every stuck point, so its warning stays open.
    const thinnedOut = run > 0 && (run - 1) % STUCK_ANOMALY_EVERY !== 0;
    const sensor = sensors.get(r.sensor_id);
    let anomalyId: string | undefined;
    if (!thinnedOut) {
      const anomaly = buildAnomaly(r, scorerOf(detector, index), {
        z,
        score,
        expected: scratch.expected[i]!,
        scale: scratch.scale[i]!,
        stuck: stuck && !overThreshold,
        areaId: sensor?.area_id ?? '',
        members: scratch.membersOf(i),
      });
      if (checkAnomaly.check(anomaly)) {
        outbox.push(TOPICS.anomalies, recordMessage(anomaly.source_id, anomaly, 'Anomaly', anomaly.ts));
        anomalyId = anomaly.id;
      } else {
        invalid.push({ topic: TOPICS.anomalies, key: r.sensor_id, record: anomaly, errors: checkAnomaly.errors(anomaly) });
      }
    }
    const lines = seriesLines[index];
    // The lines judge the series' average, as for a point no statistics flag.
    const value = lines === undefined ? r.value : average[index]!;
    const decision = tracker.observe(index, r.kind, { ts: r.ts, anomalous: true, direction, score, anomalyId, value, lines });
    if (decision === undefined) return;
    publishWarning(r, decision, i, index, score, sensor, invalid);
  };

  /**
   * Step 3 for a point the detector does not flag but whose value is beyond its sensor's first
   * physical line: it continues (or opens) a hazard episode with no anomaly record of its own.
   */
  const decidePhysical = (i: number, index: number, lines: PhysicalLines, invalid: InvalidOutput[]): void => {
    const z = scratch.out[i]!;
    const score = z === z ? Math.abs(z) : 0;
    const decision = tracker.observe(index, scratch.kinds[i]!, {
      ts: scratch.ts[i]!,
      anomalous: true,
      direction: lines.direction,
      score,
      value: average[index]!,
      lines,
    });
    if (decision === undefined) return;
    // The record only for a warning: a whole district can sit beyond a line for hours.
    publishWarning(scratch.readingOf(i), decision, i, index, score, sensors.get(scratch.sensorIds[i]!), invalid);
  };

  const publishWarning = (
    r: SensorReading,
    decision: EpisodeDecision,
    i: number,
    index: number,
    score: number,
    sensor: Sensor | undefined,
    invalid: InvalidOutput[],
  ): void => {
    const warning = buildWarning(r, decision, {
      scorer: scorerOf(detector, index),
      threshold,
      policy,
      producedBy,
      expected: scratch.expected[i]!,
      scale: scratch.scale[i]!,
      score,
      sensor,
      areas,
      fallbackLocation,
    });
    if (checkWarning.check(warning)) outbox.push(TOPICS.warnings, recordMessage(warning.source_id, warning, 'EarlyWarning', warning.ts));
    else invalid.push({ topic: TOPICS.warnings, key: r.sensor_id, record: warning, errors: checkWarning.errors(warning) });
  };

  /*
   * A batch in four steps. The per-reading work of steps 1–3 is in the synchronous functions
   * above, not in this async function, and builds nothing for a point that is not anomalous:
   * written inline here it allocated about 330 bytes per reading (iterator results, boxed
   * numbers, a point object and an empty array per reading…), now about 50, nearly all of it
   * decodeRecord's result (bench/anomaly-worker.ts, `alloc_bytes_per_reading`).
   */
  const handleReadings = async (batch: MessageBatch): Promise<void> => {
    const messages = batch.messages;
    // 1. Decode and check at the edge. Bad input is dead-lettered before any state changes, so
    //    a failure to dead-letter leaves nothing half done.
    scratch.ensureMessages(messages.length);
    const n = intake(messages);
    // `processed` counts readings up to each bad one before its dead letter is sent, as a count
    // per reading would: a send that throws leaves it where a per-reading loop would have stopped.
    let counted = 0;
    for (const bad of scratch.rejects) {
      processed += bad.index + 1 - counted;
      counted = bad.index + 1;
      await deadLetter(producer, bad.letter);
      deadLettered++;
    }
    processed += scratch.filled - counted;

    // 2. Score the batch in one call (synchronous from here to the outbox: no other batch can
    //    interleave with the detector state).
    scoreAccepted(n);

    // 3. Decide: anomalies per point over threshold, warnings per episode open / level raise.
    const invalid: InvalidOutput[] = [];
    decide(n, invalid);
    clearEnded(invalid);
    scratch.release();

    // 4. Produce, then let the bus commit.
    for (const bad of invalid) {
      // A record that fails its own contract is a bug here; it is dead-lettered (visible, with
      // the reason) instead of sent to consumers that would reject it.
      counters.invalid_outputs++;
      lastError = `produced an invalid record for ${bad.topic}: ${bad.errors.map((e) => `${e.path} ${e.message}`).join('; ')}`;
      await deadLetter(producer, {
        source: bad.topic,
        reason: lastError,
        errors: bad.errors,
        payload: truncate(safeJson(bad.record)),
        key: bad.key,
      });
      deadLettered++;
    }
    await flushOutbox();

    // 5. The learned member's predictions of every touched series' next value, in one batched
    //    runtime call, ready before the next batch. A failure costs speed, not results: points
    //    without a prediction get the reference forward pass inside scoreBatch.
    if (detector.predictAhead !== undefined) {
      try {
        await detector.predictAhead();
      } catch (e) {
        counters.prediction_errors++;
        lastError = `learned member's batched prediction failed (scoring falls back to the reference pass): ${e instanceof Error ? e.message : String(e)}`;
      }
    }
    lastBatchAtMs = clock();
    maybeCheckpoint();
  };

  const flushOutbox = async (): Promise<void> => {
    const sent = await outbox.flush(producer);
    counters.anomalies_emitted += sent[TOPICS.anomalies] ?? 0;
    counters.warnings_emitted += sent[TOPICS.warnings] ?? 0;
    counters.warnings_cleared_emitted += sent[TOPICS.warningsCleared] ?? 0;
  };

  let loop: ConsumerLoop;
  try {
    // One batch at a time: batches of several partitions share one detector and one outbox.
    loop = await startConsumerLoop({
      // Listed first so the follower's consumer is created before the main one.
      follow: {
        consumer: bus.consumer({ groupId: `${groupId}.dimensions.${randomId()}`, topics: [TOPICS.dimensions], fromBeginning: true }),
        topic: TOPICS.dimensions,
        handle: onDimensions,
        timeoutMs: config.dimensionsCatchUpTimeoutMs ?? 30_000,
        // Not fatal: dimensions only enrich (area, location); warnings say when they are missing.
        onBehind: () => {
          lastError = `${TOPICS.dimensions} was not read to its end within the catch-up timeout; some sensors may lack area and location`;
        },
      },
      consumer: bus.consumer({ groupId, topics: [TOPICS.sensorReadings], fromBeginning: true, maxBatchSize }),
      handle: handleReadings,
      flush: flushOutbox,
      producer,
      onError: (message) => (lastError = message),
      onState: (next) => (state = next),
      wrapBatchError: (e, batch) => toDetectorError('produce-failed', `expected to process ${batch.topic}[${batch.partition}]`, e, true),
      wrapStopError: (e) => toDetectorError('invalid-state', 'expected the anomaly worker to stop cleanly', e, false),
    });
  } catch (e) {
    throw toDetectorError('start-failed', `expected the anomaly worker consumers of group '${groupId}' to start`, e, true);
  }
  state = 'running';

  return {
    name: WORKER_NAME,
    health: (): WorkerHealth => ({
      name: WORKER_NAME,
      state,
      lag: loop.lag(),
      processed,
      dead_lettered: deadLettered,
      last_error: lastError,
      counters: {
        ...counters,
        ...predictionCounters(detector),
        warnings_active: tracker.activeCount,
        series: detector.seriesCount,
        sensors_known: sensors.size,
        last_batch_at_ms: lastBatchAtMs,
      },
    }),
    stop: async () => {
      await loop.stop();
      await checkpointWrite;
      if (checkpointPath !== undefined) {
        // Results left unsent in the outbox would be lost with a checkpoint that has seen their
        // readings; the previous checkpoint (or none) is the safer one to resume from.
        if (outbox.size === 0) await writeCheckpoint(checkpointPath, takeCheckpoint());
        else log(`checkpoint not written at stop: ${outbox.size} results were not sent; the previous one stays`);
      }
      await detector.close?.();
    },
  };
}

/** A message that failed decoding or its domain check, with its position in the batch. */
interface Reject {
  index: number;
  letter: DeadLetterInput;
}

/** An output record that failed its own contract, to be dead-lettered. */
interface InvalidOutput {
  topic: string;
  key: string;
  record: object;
  errors: FieldError[];
}

/** Reusable arrays for one batch (no allocation per batch or per reading once warm). */
class Scratch {
  /**
   * Per accepted reading of the batch, in order: its record where it came as one, or else its
   * columns and its index in them (see readingOf). Emptied by `release` after the batch.
   */
  readings: (SensorReading | undefined)[];
  columns: (ReadingColumns | undefined)[];
  columnIndex: Int32Array;
  sensorIds: string[];
  kinds: SensorKind[];
  /** Records in the batch (accepted or not), for counting and `release`. */
  filled = 0;
  rejects: Reject[] = [];
  /** Each message's decoded records or columns, between the two passes of step 1. */
  decodedOf: (DecodedRecords<SensorReading> | undefined)[] = [];
  columnsOf: (ReadingColumns | undefined)[] = [];
  series: Int32Array;
  values: Float64Array;
  ts: Float64Array;
  out: Float64Array;
  expected: Float64Array;
  scale: Float64Array;
  status: Uint8Array;
  /** Member scores per point, `memberCount` each, for detectors that combine several. */
  members: Float64Array;

  constructor(
    size: number,
    readonly memberCount: number,
  ) {
    this.readings = new Array<SensorReading | undefined>(size).fill(undefined);
    this.columns = new Array<ReadingColumns | undefined>(size).fill(undefined);
    this.columnIndex = new Int32Array(size);
    this.sensorIds = new Array<string>(size).fill('');
    this.kinds = new Array<SensorKind>(size).fill(SENSOR_KINDS[0]);
    this.series = new Int32Array(size);
    this.values = new Float64Array(size);
    this.ts = new Float64Array(size);
    this.out = new Float64Array(size);
    this.expected = new Float64Array(size);
    this.scale = new Float64Array(size);
    this.status = new Uint8Array(size);
    this.members = new Float64Array(size * memberCount);
  }

  ensure(size: number): void {
    if (size <= this.series.length) return;
    const next = new Scratch(Math.max(size, this.series.length * 2), this.memberCount);
    next.decodedOf = this.decodedOf;
    next.columnsOf = this.columnsOf;
    Object.assign(this, next);
  }

  ensureMessages(count: number): void {
    if (this.decodedOf.length < count) {
      this.decodedOf.length = count;
      this.columnsOf.length = count;
    }
  }

  /** Accepted reading i as a record: the one it came as, or one built from its columns. */
  readingOf(i: number): SensorReading {
    return this.readings[i] ?? readingAt(this.columns[i]!, this.columnIndex[i]!);
  }

  detail(n: number): ScoreDetail {
    const detail: ScoreDetail = {
      expected: this.expected.subarray(0, n),
      scale: this.scale.subarray(0, n),
      status: this.status.subarray(0, n),
    };
    if (this.memberCount > 0) detail.members = this.members.subarray(0, n * this.memberCount);
    return detail;
  }

  /** Point i's member scores (empty for a detector without members). */
  membersOf(i: number): Float64Array {
    return this.members.subarray(i * this.memberCount, (i + 1) * this.memberCount);
  }

  /** Drops the batch's readings so they can be collected before the next batch. */
  release(): void {
    this.readings.fill(undefined, 0, this.filled);
    this.columns.fill(undefined, 0, this.filled);
    this.filled = 0;
  }
}

interface AnomalyInputs {
  z: number;
  score: number;
  expected: number;
  scale: number;
  stuck: boolean;
  areaId: string;
  /** The point's member scores, in `detector.memberNames` order (empty without members). */
  members: Float64Array;
}

/**
 * An anomaly in the words and on the scale of the detector that scored its series (`scorer`:
 * the routed one under the cadence router; `a.score` is on the worker's scale).
 */
function buildAnomaly(r: SensorReading, scorer: SeriesScorer, a: AnomalyInputs): Anomaly {
  const k = scorer.expectedBandScales ?? scorer.threshold;
  const score = scorer.nativeScore(a.score);
  const lower = a.expected - k * a.scale;
  const upper = a.expected + k * a.scale;
  const unit = SENSOR_KIND_INFO[r.kind].unit;
  const what = SENSOR_KIND_INFO[r.kind].en.toLowerCase();
  const reason = a.stuck
    ? `${what} has repeated exactly ${fmt(r.value)} ${unit} for many consecutive readings after varying before (expected ${fmt(lower)}…${fmt(upper)} ${unit}): the sensor looks stuck`
    : `${what} ${fmt(r.value)} ${unit} is ${a.z > 0 ? 'above' : 'below'} the expected range ${fmt(lower)}…${fmt(upper)} ${unit} ` +
      `(median ${fmt(a.expected)} ${unit}); ${whichMembers(scorer, score, a.members)}${scorer.describe().replace(/^robust z/, `robust z ${fmt(score)}`)}`;
  return {
    id: stableId(r.sensor_id, r.ts, scorer.type),
    schema_version: 1,
    ts: r.ts,
    source_kind: 'sensor',
    source_id: r.sensor_id,
    metric: r.kind,
    area_id: a.areaId,
    value: r.value,
    expected: a.expected,
    lower,
    upper,
    score,
    probability: scorer.probability(score),
    detector: scorer.type,
    detector_version: scorer.version,
    reason: clip(reason, 1000),
  };
}

/**
 * Which of a combining detector's members fired, before its description: the members at or over
 * the threshold (or the highest, when only their blend is), then the others' scores. Empty for a
 * single detector.
 */
function whichMembers(scorer: SeriesScorer, score: number, members: Float64Array): string {
  const names = scorer.memberNames;
  if (names === undefined || members.length !== names.length) return '';
  const scored = names.map((name, k) => ({ name, score: members[k]! })).filter((m) => m.score === m.score);
  if (scored.length === 0) return '';
  scored.sort((x, y) => y.score - x.score);
  const over = scored.filter((m) => m.score >= scorer.threshold);
  const fired = over.length > 0 ? over : scored.slice(0, 1);
  const rest = scored.filter((m) => !fired.includes(m));
  const each = (ms: typeof scored) => ms.map((m) => `${m.name} (${fmt(m.score)})`);
  const lead =
    over.length === 0
      ? `fired by the blend of its members, the highest ${each(fired).join('')}`
      : over.length === 1
        ? `fired by its ${each(fired).join('')} member`
        : `fired by its members ${each(fired).slice(0, -1).join(', ')} and ${each(fired).at(-1)!}`;
  return `${scorer.type} score ${fmt(score)} ${lead}${rest.length > 0 ? `; others ${each(rest).join(', ')}` : ''}; `;
}

interface WarningInputs {
  /** The detector that scored the series; `score` and the policy's lines are on the worker's scale, at `threshold`. */
  scorer: SeriesScorer;
  threshold: number;
  policy: WarningPolicy;
  producedBy: string;
  expected: number;
  scale: number;
  score: number;
  sensor: Sensor | undefined;
  areas: ReadonlyMap<string, Area>;
  fallbackLocation: { lon: number; lat: number };
}

function buildWarning(r: SensorReading, d: EpisodeDecision, w: WarningInputs): EarlyWarning {
  const info = SENSOR_KIND_INFO[r.kind];
  const label = EVENT_KIND_LABELS[d.event];
  const k = w.scorer.expectedBandScales ?? w.scorer.threshold;
  const area = w.sensor === undefined ? undefined : w.areas.get(w.sensor.area_id);
  const where = w.sensor === undefined ? r.sensor_id : `${w.sensor.name}${area === undefined ? '' : ` · ${area.name_zh}`}`;
  const title = `${label.zh} ${label.en} · ${where} · ${info.en} ${fmt(r.value)} ${info.unit}`;
  const baseline =
    w.expected === w.expected && w.scale === w.scale
      ? `expected ${fmt(w.expected - k * w.scale)}…${fmt(w.expected + k * w.scale)} ${info.unit} (median ${fmt(w.expected)} ${info.unit})`
      : 'no statistical baseline yet (the series is warming up)';
  const reasons = [
    `observed ${info.en.toLowerCase()} ${fmt(r.value)} ${info.unit} at ${iso(r.ts)}; ${baseline}`,
    d.direction === 'flat'
      ? `the sensor has repeated one exact value for many consecutive readings after varying before: it looks stuck`
      : `${w.scorer.type === 'rolling-robust-z' ? 'robust z-score' : `${w.scorer.type} score`} ${fmt(w.scorer.nativeScore(w.score))} (peak ${fmt(w.scorer.nativeScore(d.peakScore))}), threshold ${w.scorer.threshold}${onWorkerScale(w)}: ${w.scorer.describe()}`,
    `${d.direction === 'flat' ? 'stuck' : d.direction === 'high' ? 'above' : 'below'} the expected range for ${d.anomalousPoints} consecutive readings over ${duration(d.durationMs)}, since ${iso(d.startTs)}`,
    describeLevel(w.policy, d.level, d.event, d.physical === undefined ? undefined : { ...d.physical, unit: info.unit }) +
      (d.previousLevel === undefined ? '' : `; raised from ${d.previousLevel}`),
  ];
  if (w.sensor === undefined) {
    reasons.push(
      `sensor location unknown (no Sensor record for ${r.sensor_id} on ${TOPICS.dimensions} yet): placed at the fallback location`,
    );
  }
  return {
    id: stableId(r.sensor_id, d.startTs, d.level),
    schema_version: 1,
    ts: r.ts,
    level: d.level,
    kind: d.event,
    area_id: w.sensor?.area_id ?? '',
    source_kind: 'sensor',
    source_id: r.sensor_id,
    lon: w.sensor?.lon ?? w.fallbackLocation.lon,
    lat: w.sensor?.lat ?? w.fallbackLocation.lat,
    title: clip(title, 300),
    reasons: reasons.map((s) => clip(s, 500)),
    score: w.scorer.nativeScore(d.peakScore),
    evidence_ids: [...d.evidenceIds],
    produced_by: w.producedBy,
    machine_made: true,
  };
}

/**
 * Where the routed detector's scale is not the one the level lines are drawn on (the cadence
 * router's ensemble route), the score in the lines' terms, so "peak score ≥ 8" can be checked.
 */
function onWorkerScale(w: WarningInputs): string {
  if (w.scorer.nativeScore(w.threshold) === w.threshold) return '';
  return ` (${fmt(w.score)} on the robust-z scale of the level lines below, threshold ${w.threshold})`;
}

/** The learned member's prediction counts as health counters (none for a purely statistical detector). */
function predictionCounters(detector: TimeseriesDetector): Record<string, number> {
  const c = detector.predictionCounts?.();
  if (c === undefined) return {};
  return { predictions_batched: c.batched, predictions_inline: c.inline, prediction_runtime_calls: c.runtimeCalls };
}

function splitKey(key: string): [string, string] {
  const at = key.indexOf(':');
  return at < 0 ? ['', key] : [key.slice(0, at), key.slice(at + 1)];
}

/** A number for people: 3 significant decimals at most, no trailing zeros. */
function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  const digits = a >= 1000 ? 0 : a >= 100 ? 1 : a >= 1 ? 2 : 3;
  const s = v.toFixed(digits);
  return s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s;
}

/**
 * Shortens text to a contract's length limit. (schemas' `truncate` appends a marker after the
 * limit, which is right for dead-letter payloads but would break a bounded field.)
 */
function clip(text: string, maxChars: number): string {
  return text.length <= maxChars ? text : `${text.slice(0, maxChars - 1)}…`;
}

function iso(ts: number): string {
  return new Date(ts).toISOString().replace('.000Z', 'Z');
}

function duration(ms: number): string {
  if (ms < 60_000) return `${Math.round(ms / 1000)} s`;
  if (ms < 3_600_000) return `${(ms / 60_000).toFixed(ms < 600_000 ? 1 : 0)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

function safeJson(record: object): string {
  try {
    return JSON.stringify(record);
  } catch (e) {
    return `<record not serialisable: ${e instanceof Error ? e.message : 'unknown error'}>`;
  }
}
