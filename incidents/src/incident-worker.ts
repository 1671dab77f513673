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
  WarningCleared,
  Incident as IncidentSchema,
  IncidentEvent as IncidentEventSchema,
  TOPICS,
  decodeRecord,
  encodeDimension,
  randomId,
  truncate,
  type Clock,
  type Incident,
  type IncidentEvent,
  type RunningWorker,
  type WorkerHealth,
  recordMessage,
} from '@cityops/schemas';
import { IncidentsError, wrapError } from './errors.js';
import { IncidentEngine, changeList, type AllClearSignal, type IncidentChange, type WarningOutcome } from './incident-engine.js';
import type { IncidentsBackend } from './incidents-api.js';
import { departmentsAsDimensions, type ResponsibilityTable } from './responsibility-table.js';
import type { TableSource } from './table-source.js';
import { createWebhookNotifier, type WebhookNotifier, type WebhookNotifierOptions } from './webhooks.js';

/*
 * The incidents role: warnings in; incidents, lifecycle events and dispatch orders out.
 *
 * At-least-once, no duplicates: a batch's results are published before its offsets are committed
 * (the bus commits when the handler resolves), and the engine ignores a warning it has seen. What
 * the engine decided but could not publish stays in an outbox that is sent first on the next
 * attempt — the redelivered warnings are then no-ops in the engine, so without the outbox their
 * results would be lost.
 *
 * State survives restarts through what the role emitted: at start the worker reads the incidents
 * topic (latest revision per incident wins) and the incident events (which carry each case's SLA
 * clock, escalation level and evidence) before it takes any warning. Clocks that ran out while it
 * was down fire on the first tick.
 *
 * SLA clocks are the engine's; a timer ticks it every `slaCheckIntervalMs`, in the same serial
 * queue as the warning batches and the API's commands, so they never interleave.
 */

export interface IncidentWorkerOptions {
  bus: Bus;
  /** The responsibility table (权责清单); see readResponsibilityTableFile(). */
  table: ResponsibilityTable;
  /**
   * A table that changes at run time (openTableSource: file watch + reload()). When given, its
   * current version is put in force before every batch and tick, and departments are republished.
   */
  tableSource?: TableSource;
  /** Signed webhooks to outside systems; failures go to the dead-letter topic. Default none. */
  webhooks?: Omit<WebhookNotifierOptions, 'onDeadLetter'>;
  /** How often SLA clocks and verifications are checked. Default 1000 ms. */
  slaCheckIntervalMs?: number;
  /** Time source for dispatch and SLA times. Default Date.now. */
  clock?: Clock;
  /** Consumer group for warnings; replicas of the role share it. Default 'cityops-incidents'. */
  groupId?: string;
  /** See IncidentEngineOptions.joinWindowMs. Default 30 min. */
  joinWindowMs?: number;
  /** See IncidentEngineOptions.autoCloseAfterMs. Default undefined: incidents are never auto-closed. */
  autoCloseAfterMs?: number;
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
  /** Their events (e.g. from the store), so their clocks and evidence are restored too. Default none. */
  initialEvents?: Iterable<IncidentEvent>;
}

/** The running role, with what the API and the all-clear feed need. */
export interface RunningIncidentWorker extends RunningWorker {
  /** For createIncidentsApi: reads the engine, runs commands in line with the warning batches. */
  readonly backend: IncidentsBackend;
  /** Feeds an all-clear (a warning closed, a sensor back in band); resolves once its results are published. */
  observeAllClear(signal: AllClearSignal): Promise<void>;
}

const WORKER_NAME = 'incidents';
const RESTORE_POLL_MS = 20;

/** Topics this role reads or writes; created if missing (existing ones are left as they are). */
const TOPICS_USED = [
  TOPICS.warnings,
  TOPICS.warningsCleared,
  TOPICS.incidents,
  TOPICS.incidentEvents,
  TOPICS.dispatches,
  TOPICS.deadLetters,
  TOPICS.dimensions,
] as const;

interface Counters {
  warnings_in: number;
  all_clears_in: number;
  warnings_duplicate: number;
  incidents_opened: number;
  dispatches: number;
  incidents_auto_closed: number;
  incidents_restored: number;
  sla_breaches: number;
  escalations: number;
  auto_verified: number;
  table_reloads: number;
  webhooks_dead_lettered: number;
  /** Records on the incidents topic that failed validation at restore (not dead-lettered: see readState). */
  incident_records_skipped: number;
}

/**
 * Starts the incidents role. Resolves once department dimensions are published, state is rebuilt
 * from the incidents topic and the warnings consumer has joined its group.
 */
export async function startIncidentWorker(options: IncidentWorkerOptions): Promise<RunningIncidentWorker> {
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
    all_clears_in: 0,
    warnings_duplicate: 0,
    incidents_opened: 0,
    dispatches: 0,
    incidents_auto_closed: 0,
    incidents_restored: 0,
    sla_breaches: 0,
    escalations: 0,
    auto_verified: 0,
    table_reloads: 0,
    webhooks_dead_lettered: 0,
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
    engine.restore(options.initialIncidents, options.initialEvents ?? []);
    counters.incidents_restored += engine.liveCount;
  }
  const followers = await readState(bus, groupId, engine, options.restoreTimeoutMs ?? 120_000, {
    onRestored: (n) => (counters.incidents_restored += n),
    onSkipped: (reason) => {
      counters.incident_records_skipped++;
      lastError = reason;
    },
  });

  const notifier: WebhookNotifier | undefined =
    options.webhooks === undefined
      ? undefined
      : createWebhookNotifier({
          ...options.webhooks,
          onDeadLetter: (letter) => {
            counters.webhooks_dead_lettered++;
            lastError = `webhook ${letter.url}: ${letter.reason}`;
            // Published outside the serial queue: a dead letter is independent of incident state.
            void deadLetter(producer, {
              source: `webhook:${letter.url}`.slice(0, 200),
              reason: letter.reason,
              errors: [],
              payload: letter.body,
              key: letter.eventId,
            }).catch(
              (e: unknown) =>
                (lastError = `expected to dead-letter webhook ${letter.eventId}; got ${e instanceof Error ? e.message : String(e)}`),
            );
          },
        });
  /** Webhooks of what reached the bus; queued only after the flush that published it. */
  let notifyAfterFlush: IncidentChange[] = [];

  const collect = (change: IncidentChange): void => {
    addChange(outbox, change);
    if (change.dispatch) counters.dispatches++;
    for (const e of change.events) {
      if (e.type === 'sla_breached') counters.sla_breaches++;
      else if (e.type === 'escalated') counters.escalations++;
      else if (e.type === 'verified' && e.machine_made) counters.auto_verified++;
      else if (e.type === 'closed' && e.machine_made && e.detail.startsWith('closed without verification'))
        counters.incidents_auto_closed++;
    }
    if (notifier !== undefined) notifyAfterFlush.push(change);
  };

  const flush = async (): Promise<void> => {
    await outbox.flush(producer);
    if (notifier !== undefined && notifyAfterFlush.length > 0) {
      const sent = notifyAfterFlush;
      notifyAfterFlush = [];
      for (const change of sent) notifier.notify(change);
    }
  };

  /** Puts a reloaded table in force and tells the store and the dashboard its departments. */
  const syncTable = async (): Promise<void> => {
    const current = options.tableSource?.current();
    if (current === undefined || current === engine.table) return;
    engine.setTable(current);
    counters.table_reloads++;
    await producer.send(TOPICS.dimensions, departmentsAsDimensions(current).map(encodeDimension));
  };

  const tick = (): void => {
    for (const change of engine.tick()) collect(change);
  };

  /** All-clears from the detectors: a resolved case whose warnings are all clear can be verified by the data. */
  const handleCleared = async (batch: MessageBatch): Promise<void> => {
    for (const message of batch.messages) {
      const decoded = decodeRecord(WarningCleared, message.value);
      if (!decoded.ok) {
        await deadLetter(producer, {
          source: TOPICS.warningsCleared,
          reason: decoded.reason,
          errors: decoded.errors,
          payload: decoded.payload,
          key: message.key,
        });
        deadLettered++;
        continue;
      }
      counters.all_clears_in++;
      const c = decoded.value;
      // Named warnings when the producer names them; otherwise every warning of the source.
      const signal =
        c.warning_ids.length > 0
          ? { ts: c.ts, warning_ids: c.warning_ids, reason: c.reason }
          : { ts: c.ts, source_id: c.source_id, reason: c.reason };
      for (const change of engine.onAllClear(signal)) collect(change);
    }
    tick();
    await flush();
  };

  const handleWarnings = async (batch: MessageBatch): Promise<void> => {
    if (batch.topic === TOPICS.warningsCleared) return handleCleared(batch);
    await syncTable();
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
    tick();
    await flush();
  };

  let loop: ConsumerLoop;
  try {
    // One batch at a time: batches of both partitions and the auto-close timer share one engine
    // and one outbox. Results a failed attempt could not publish go first; the redelivered
    // warnings are duplicates for the engine by now.
    loop = await startConsumerLoop({
      consumer: bus.consumer({
        groupId,
        topics: [TOPICS.warnings, TOPICS.warningsCleared],
        fromBeginning: true,
        maxBatchSize: options.maxBatchSize ?? 500,
      }),
      handle: handleWarnings,
      flush,
      alsoStop: followers,
      producer,
      onError: (message) => (lastError = message),
      onState: (next) => (state = next),
      wrapStopError: (e) => wrapError('bus-failure', 'expected the incidents worker to stop cleanly', e, false),
    });
  } catch (e) {
    throw wrapError('bus-failure', `expected the warnings consumer of group '${groupId}' to start`, e, true);
  }
  state = 'running';

  // Clocks that ran out while the role was down fire now, not a whole interval later.
  await loop.serial(async () => {
    tick();
    await flush();
  });
  const timer = setInterval(() => {
    void loop
      .serial(async () => {
        await syncTable();
        tick();
        await flush();
      })
      .catch((e: unknown) => {
        lastError = e instanceof Error ? e.message : String(e);
      });
  }, options.slaCheckIntervalMs ?? 1000);
  // The consumers keep the process alive while the role runs; this timer alone must not.
  timer.unref();

  const backend: IncidentsBackend = {
    views: () => engine.views(),
    view: (id) => engine.view(id),
    act: <T extends IncidentChange | IncidentChange[]>(command: (e: IncidentEngine) => T): Promise<T> =>
      loop.serial(async () => {
        const result = command(engine);
        for (const change of changeList(result)) collect(change);
        await flush();
        return result;
      }),
    ...(options.tableSource === undefined
      ? {}
      : {
          reloadRules: async () => {
            const result = await options.tableSource!.reload();
            await loop.serial(syncTable);
            return result;
          },
        }),
  };

  return {
    name: WORKER_NAME,
    backend,
    observeAllClear: (signal) =>
      loop.serial(async () => {
        for (const change of engine.onAllClear(signal)) collect(change);
        await flush();
      }),
    health: (): WorkerHealth => ({
      name: WORKER_NAME,
      state,
      lag: loop.lag(),
      processed: counters.warnings_in,
      dead_lettered: deadLettered,
      last_error: lastError,
      counters: { ...counters, incidents_open: engine.liveCount, ...(notifier ? { webhooks_pending: notifier.stats().pending } : {}) },
    }),
    stop: async () => {
      clearInterval(timer);
      // Whatever the timer decided last is sent before the producer is let go.
      await loop.stop();
      await notifier?.drain();
    },
  };
}

/**
 * Reads the incidents topic and then the incident events from the beginning, restores the engine
 * from both, and leaves the consumers following their topics.
 *
 * The Bus has no group-less reader, so this uses consumer groups of its own per start (a fixed
 * one would resume from its committed offsets and skip the history). They keep consuming after
 * the restore because an idle group would hold the in-process bus's log (and its backpressure) at
 * its offset; following incidents also lets this replica see incidents another one writes.
 *
 * Events are kept only for incidents not closed (the records come first to say which), so the
 * memory a restart needs is bounded by the live cases, not by the history.
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
): Promise<Consumer[]> {
  const suffix = randomId();
  const records = new Map<string, Incident>();
  let restored = false;
  const incidents = bus.consumer({ groupId: `${groupId}.state.${suffix}`, topics: [TOPICS.incidents], fromBeginning: true });
  const events = bus.consumer({ groupId: `${groupId}.events.${suffix}`, topics: [TOPICS.incidentEvents], fromBeginning: true });
  const collected: IncidentEvent[] = [];
  const deadline = Date.now() + timeoutMs;
  try {
    await incidents.run((batch) => {
      const fresh: Incident[] = [];
      for (const message of batch.messages) {
        const decoded = decodeRecord(IncidentSchema, message.value);
        if (!decoded.ok) {
          report.onSkipped(`skipped ${TOPICS.incidents}[${batch.partition}]@${message.offset} at restore: ${decoded.reason}`);
          continue;
        }
        if (restored) fresh.push(decoded.value);
        else {
          const known = records.get(decoded.value.id);
          if (known === undefined || known.revision < decoded.value.revision) records.set(decoded.value.id, decoded.value);
        }
      }
      // After the restore: incidents another replica wrote (own writes are stale revisions, ignored).
      if (fresh.length > 0) {
        const before = engine.liveCount;
        engine.restore(fresh);
        report.onRestored(Math.max(0, engine.liveCount - before));
      }
      return Promise.resolve();
    });
    await readToEnd(incidents, TOPICS.incidents, deadline, timeoutMs);
    const live = new Set([...records.values()].filter((r) => r.status !== 'closed').map((r) => r.id));
    await events.run((batch) => {
      if (restored) return Promise.resolve();
      for (const message of batch.messages) {
        const decoded = decodeRecord(IncidentEventSchema, message.value);
        if (!decoded.ok)
          report.onSkipped(`skipped ${TOPICS.incidentEvents}[${batch.partition}]@${message.offset} at restore: ${decoded.reason}`);
        else if (live.has(decoded.value.incident_id)) collected.push(decoded.value);
      }
      return Promise.resolve();
    });
    await readToEnd(events, TOPICS.incidentEvents, deadline, timeoutMs);
    const before = engine.liveCount;
    engine.restore(records.values(), collected);
    restored = true;
    report.onRestored(Math.max(0, engine.liveCount - before));
    return [incidents, events];
  } catch (e) {
    await Promise.allSettled([incidents.stop(), events.stop()]);
    throw wrapError('bus-failure', `expected to rebuild incidents from ${TOPICS.incidents} and ${TOPICS.incidentEvents}`, e, true);
  }
}

async function readToEnd(consumer: Consumer, topic: string, deadline: number, timeoutMs: number): Promise<void> {
  for (;;) {
    const lag = (await consumer.lag())[topic] ?? 0;
    if (lag === 0) return;
    if (Date.now() > deadline) {
      throw new IncidentsError(
        'restore-timeout',
        `expected to read ${topic} to its end within ${timeoutMs} ms; got ${lag} records still unread`,
        {
          retriable: true,
        },
      );
    }
    await new Promise((resolve) => setTimeout(resolve, RESTORE_POLL_MS));
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
