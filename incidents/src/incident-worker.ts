import {
  deadLetter,
  startConsumerLoop,
  type Bus,
  type Consumer,
  type ConsumerLoop,
  type MessageBatch,
  type Producer,
  Outbox,
} from '@cityops/bus';
import {
  DEFAULT_PARTITIONS,
  EarlyWarning,
  Incident as IncidentSchema,
  TOPICS,
  decodeRecord,
  encodeDimension,
  randomId,
  truncate,
  type Clock,
  type Incident,
  type RunningWorker,
  type WorkerHealth,
  recordMessage,
} from '@cityops/schemas';
import { IncidentsError, wrapError } from './errors.js';
import { IncidentEngine, type IncidentChange, type WarningOutcome } from './incident-engine.js';
import { departmentsAsDimensions, type ResponsibilityTable } from './responsibility-table.js';

/*
 * The incidents role: warnings in; incidents, lifecycle events and dispatch orders out.
 *
 * At-least-once, no duplicates: a batch's results are published before its offsets are committed
 * (the bus commits when the handler resolves), and the engine ignores a warning it has seen. What
 * the engine decided but could not publish stays in an outbox that is sent first on the next
 * attempt — the redelivered warnings are then no-ops in the engine, so without the outbox their
 * results would be lost.
 *
 * State survives restarts through the incidents topic: at start the worker reads it from the
 * beginning (latest revision per incident wins) before it takes any warning, and keeps following
 * it afterwards so incidents written by another replica are seen too.
 */

export interface IncidentWorkerOptions {
  bus: Bus;
  /** The responsibility table (权责清单); see readResponsibilityTableFile(). */
  table: ResponsibilityTable;
  /** Time source for dispatch and SLA times. Default Date.now. */
  clock?: Clock;
  /** Consumer group for warnings; replicas of the role share it. Default 'cityops-incidents'. */
  groupId?: string;
  /** See IncidentEngineOptions.joinWindowMs. Default 30 min. */
  joinWindowMs?: number;
  /** See IncidentEngineOptions.autoCloseAfterMs. Default undefined: incidents are never auto-closed. */
  autoCloseAfterMs?: number;
  /** How often to look for idle incidents when autoCloseAfterMs is set. Default 60 000 ms. */
  autoCloseCheckIntervalMs?: number;
  /** Longest wait at start for the incidents topic to be read to its end. Default 120 000 ms. */
  restoreTimeoutMs?: number;
  /** Largest batch of warnings handed to the engine at once. Default 500. */
  maxBatchSize?: number;
  /**
   * Incidents to start from, applied before the incidents topic is read (the higher revision
   * wins). For the in-process bus, which keeps no history once every group has read it: pass the
   * store's latest revisions of incidents not closed. Default none.
   */
  initialIncidents?: Iterable<Incident>;
}

const WORKER_NAME = 'incidents';
const RESTORE_POLL_MS = 20;

/** Topics this role reads or writes; created if missing (existing ones are left as they are). */
const TOPICS_USED = [
  TOPICS.warnings,
  TOPICS.incidents,
  TOPICS.incidentEvents,
  TOPICS.dispatches,
  TOPICS.deadLetters,
  TOPICS.dimensions,
] as const;

interface Counters {
  warnings_in: number;
  warnings_duplicate: number;
  incidents_opened: number;
  dispatches: number;
  incidents_auto_closed: number;
  incidents_restored: number;
  /** Records on the incidents topic that failed validation at restore (not dead-lettered: see readState). */
  incident_records_skipped: number;
}

/**
 * Starts the incidents role. Resolves once department dimensions are published, state is rebuilt
 * from the incidents topic and the warnings consumer has joined its group.
 */
export async function startIncidentWorker(options: IncidentWorkerOptions): Promise<RunningWorker> {
  const { bus, table } = options;
  const clock = options.clock ?? Date.now;
  const groupId = options.groupId ?? 'cityops-incidents';
  const engine = new IncidentEngine({
    table,
    clock,
    ...(options.joinWindowMs === undefined ? {} : { joinWindowMs: options.joinWindowMs }),
    ...(options.autoCloseAfterMs === undefined ? {} : { autoCloseAfterMs: options.autoCloseAfterMs }),
  });

  let state: WorkerHealth['state'] = 'starting';
  let lastError = '';
  let deadLettered = 0;
  const counters: Counters = {
    warnings_in: 0,
    warnings_duplicate: 0,
    incidents_opened: 0,
    dispatches: 0,
    incidents_auto_closed: 0,
    incidents_restored: 0,
    incident_records_skipped: 0,
  };
  const outbox = new Outbox(OUTBOX_LANES);

  let producer: Producer;
  try {
    await bus.ensureTopics(TOPICS_USED.map((name) => ({ name, partitions: DEFAULT_PARTITIONS[name] })));
    producer = bus.producer();
    // Departments come from the table, so the dashboard and the store can name them.
    await producer.send(TOPICS.dimensions, departmentsAsDimensions(table).map(encodeDimension));
  } catch (e) {
    throw wrapError('bus-failure', 'expected to create topics and publish departments at start', e, true);
  }

  if (options.initialIncidents !== undefined) {
    engine.restore(options.initialIncidents);
    counters.incidents_restored += engine.liveCount;
  }
  const follower = await readState(bus, groupId, engine, options.restoreTimeoutMs ?? 120_000, {
    onRestored: (n) => (counters.incidents_restored += n),
    onSkipped: (reason) => {
      counters.incident_records_skipped++;
      lastError = reason;
    },
  });

  const collect = (change: IncidentChange): void => {
    addChange(outbox, change);
    if (change.dispatch) counters.dispatches++;
  };

  const flush = async (): Promise<void> => {
    await outbox.flush(producer);
  };

  const closeIdle = (): void => {
    for (const change of engine.closeIdle()) {
      counters.incidents_auto_closed++;
      collect(change);
    }
  };

  const handleWarnings = async (batch: MessageBatch): Promise<void> => {
    for (const message of batch.messages) {
      counters.warnings_in++;
      const decoded = decodeRecord(EarlyWarning, message.value);
      if (!decoded.ok) {
        await deadLetter(producer, {
          source: TOPICS.warnings,
          reason: decoded.reason,
          errors: decoded.errors,
          payload: decoded.payload,
          key: message.key,
        });
        deadLettered++;
        continue;
      }
      let outcome: WarningOutcome;
      try {
        outcome = engine.onWarning(decoded.value);
      } catch (e) {
        // A warning the engine cannot take is a bug, not bad input; retrying it forever would
        // stall every warning behind it, so it goes to the dead letters with the reason.
        const reason = `expected the incident engine to take the warning; it threw ${e instanceof Error ? e.message : String(e)}`;
        await deadLetter(producer, {
          source: TOPICS.warnings,
          reason,
          errors: [],
          payload: truncate(new TextDecoder().decode(message.value)),
          key: message.key,
        });
        deadLettered++;
        lastError = reason;
        continue;
      }
      if (outcome.outcome === 'duplicate') {
        counters.warnings_duplicate++;
        continue;
      }
      if (outcome.outcome === 'opened') counters.incidents_opened++;
      collect(outcome);
    }
    closeIdle();
    await flush();
  };

  let loop: ConsumerLoop;
  try {
    // One batch at a time: batches of both partitions and the auto-close timer share one engine
    // and one outbox. Results a failed attempt could not publish go first; the redelivered
    // warnings are duplicates for the engine by now.
    loop = await startConsumerLoop({
      consumer: bus.consumer({ groupId, topics: [TOPICS.warnings], fromBeginning: true, maxBatchSize: options.maxBatchSize ?? 500 }),
      handle: handleWarnings,
      flush,
      alsoStop: [follower],
      producer,
      onError: (message) => (lastError = message),
      onState: (next) => (state = next),
      wrapStopError: (e) => wrapError('bus-failure', 'expected the incidents worker to stop cleanly', e, false),
    });
  } catch (e) {
    throw wrapError('bus-failure', `expected the warnings consumer of group '${groupId}' to start`, e, true);
  }
  state = 'running';

  let timer: NodeJS.Timeout | undefined;
  if (options.autoCloseAfterMs !== undefined) {
    timer = setInterval(() => {
      void loop
        .serial(async () => {
          closeIdle();
          await flush();
        })
        .catch((e: unknown) => {
          lastError = e instanceof Error ? e.message : String(e);
        });
    }, options.autoCloseCheckIntervalMs ?? 60_000);
    // The consumers keep the process alive while the role runs; this timer alone must not.
    timer.unref();
  }

  return {
    name: WORKER_NAME,
    health: (): WorkerHealth => ({
      name: WORKER_NAME,
      state,
      lag: loop.lag(),
      processed: counters.warnings_in,
      dead_lettered: deadLettered,
      last_error: lastError,
      counters: { ...counters, incidents_open: engine.liveCount },
    }),
    stop: () => {
      if (timer !== undefined) clearInterval(timer);
      // Whatever the timer decided last is sent before the producer is let go.
      return loop.stop();
    },
  };
}

/**
 * Reads the incidents topic from the beginning into the engine, waits until it has reached the
 * end, and leaves the consumer following the topic.
 *
 * The Bus has no group-less reader, so this uses a consumer group of its own per start (a fixed
 * one would resume from its committed offsets and skip the history). It keeps consuming after the
 * restore because an idle group would hold the in-process bus's log (and its backpressure) at its
 * offset; following also lets this replica see incidents another one writes.
 *
 * A record that fails validation is counted and named in last_error, not dead-lettered: it is
 * read again at every start, and the dead letters would fill with copies of it.
 */
async function readState(
  bus: Bus,
  groupId: string,
  engine: IncidentEngine,
  timeoutMs: number,
  report: { onRestored: (count: number) => void; onSkipped: (reason: string) => void },
): Promise<Consumer> {
  const consumer = bus.consumer({ groupId: `${groupId}.state.${randomId()}`, topics: [TOPICS.incidents], fromBeginning: true });
  try {
    await consumer.run((batch) => {
      const records: Incident[] = [];
      for (const message of batch.messages) {
        const decoded = decodeRecord(IncidentSchema, message.value);
        if (decoded.ok) records.push(decoded.value);
        else report.onSkipped(`skipped ${TOPICS.incidents}[${batch.partition}]@${message.offset} at restore: ${decoded.reason}`);
      }
      const before = engine.liveCount;
      engine.restore(records);
      report.onRestored(Math.max(0, engine.liveCount - before));
      return Promise.resolve();
    });
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const lag = (await consumer.lag())[TOPICS.incidents] ?? 0;
      if (lag === 0) return consumer;
      if (Date.now() > deadline) {
        throw new IncidentsError(
          'restore-timeout',
          `expected to read ${TOPICS.incidents} to its end within ${timeoutMs} ms; got ${lag} records still unread`,
          { retriable: true },
        );
      }
      await new Promise((resolve) => setTimeout(resolve, RESTORE_POLL_MS));
    }
  } catch (e) {
    await consumer.stop().catch(() => undefined);
    throw wrapError('bus-failure', `expected to rebuild incidents from ${TOPICS.incidents}`, e, true);
  }
}

/*
 * Results are published in an order that keeps a crash harmless: dispatch orders and events
 * before the incident records. Restore reads only incident records, so an incident that reached
 * its topic has had its dispatch sent; one that did not is recomputed from the redelivered
 * warning, with the same stable ids, and the store keeps one copy. Only the latest revision of
 * each incident is kept pending: earlier ones in the same flush add nothing.
 */
const OUTBOX_LANES = [TOPICS.dispatches, TOPICS.incidentEvents, { topic: TOPICS.incidents, latestPerKey: true }] as const;

function addChange(outbox: Outbox, change: IncidentChange): void {
  if (change.dispatch)
    outbox.push(TOPICS.dispatches, recordMessage(change.dispatch.incident_id, change.dispatch, 'DispatchOrder', change.dispatch.ts));
  for (const e of change.events) outbox.push(TOPICS.incidentEvents, recordMessage(e.incident_id, e, 'IncidentEvent', e.ts));
  outbox.push(TOPICS.incidents, recordMessage(change.incident.id, change.incident, 'Incident', change.incident.updated_at));
}
