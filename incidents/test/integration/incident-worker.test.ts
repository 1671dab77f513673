import { afterEach, describe, expect, it, vi } from 'vitest';
import { createInProcessBus, type Bus, type IncomingMessage, type InProcessBusOptions } from '@cityops/bus';
import {
  DEFAULT_PARTITIONS,
  DispatchOrder,
  EarlyWarning,
  Incident as IncidentSchema,
  IncidentEvent,
  TOPICS,
  decodeDimension,
  decodeRecord,
  encodeRecord,
  stableId,
  type Incident,
  type RunningWorker,
  type WarningCleared,
} from '@cityops/schemas';
import { readResponsibilityTableFile, startIncidentWorker, type RunningIncidentWorker } from '../../src/index.js';

/*
 * The incidents role end to end on the in-process bus: warnings in; incidents, events, dispatch
 * orders, department dimensions and dead letters out.
 */

const T0 = Date.UTC(2026, 10, 21, 8, 0, 0);
const MIN = 60_000;
const table = await readResponsibilityTableFile();
const clock = (): number => T0 + MIN;

let seq = 0;
function warning(over: Partial<EarlyWarning> = {}): EarlyWarning {
  seq++;
  return {
    id: `it-w-${seq}`,
    schema_version: 1,
    ts: T0,
    level: 'orange',
    kind: 'waterlogging',
    area_id: 'area-riverside',
    source_kind: 'sensor',
    source_id: 's-water-01',
    lon: 121.47,
    lat: 31.23,
    title: 'Water level 55 cm at Riverside Rd underpass',
    reasons: ['water level 55 cm, expected below 10 cm'],
    score: 5,
    evidence_ids: [],
    produced_by: 'detectors/timeseries@0.1.0',
    machine_made: true,
    ...over,
  };
}

const TOPICS_USED = [
  TOPICS.warnings,
  TOPICS.warningsCleared,
  TOPICS.incidents,
  TOPICS.incidentEvents,
  TOPICS.dispatches,
  TOPICS.deadLetters,
  TOPICS.dimensions,
];

/** Everything that reaches `topic`, read by a group of the test's own. */
async function tap(bus: Bus, topic: string): Promise<IncomingMessage[]> {
  const seen: IncomingMessage[] = [];
  await bus.consumer({ groupId: `test-tap-${topic}`, topics: [topic], fromBeginning: true }).run((batch) => {
    seen.push(...batch.messages);
    return Promise.resolve();
  });
  return seen;
}

function decoded<T>(messages: readonly IncomingMessage[], decode: (m: IncomingMessage) => { ok: true; value: T } | { ok: false }): T[] {
  return messages.map((m) => {
    const r = decode(m);
    if (!r.ok) throw new Error(`expected a valid record on ${m.topic}`);
    return r.value;
  });
}

async function produceWarnings(bus: Bus, values: readonly (EarlyWarning | string)[]): Promise<void> {
  await bus.producer().send(
    TOPICS.warnings,
    values.map((v) =>
      typeof v === 'string'
        ? { key: 'bad', value: new TextEncoder().encode(v) }
        : { key: `${v.kind}:${v.area_id}`, value: encodeRecord(v) },
    ),
  );
}

const started: RunningWorker[] = [];
const buses: Bus[] = [];
afterEach(async () => {
  for (const w of started.splice(0)) await w.stop();
  for (const b of buses.splice(0)) await b.close();
});

async function setUp(options: InProcessBusOptions = {}): Promise<Bus> {
  const bus = createInProcessBus({ retryDelayMs: 10, ...options });
  buses.push(bus);
  await bus.ensureTopics(TOPICS_USED.map((name) => ({ name, partitions: DEFAULT_PARTITIONS[name] })));
  return bus;
}

async function start(bus: Bus, groupId?: string, initialIncidents?: Incident[]): Promise<RunningIncidentWorker> {
  const w = await startIncidentWorker({
    bus,
    table,
    clock,
    ...(groupId === undefined ? {} : { groupId }),
    ...(initialIncidents === undefined ? {} : { initialIncidents }),
  });
  started.push(w);
  return w;
}

describe('incident worker on the in-process bus', () => {
  it('turns warnings into an incident, its events and a dispatch order, and publishes departments', async () => {
    const bus = await setUp();
    const [incidents, events, dispatches, dimensions] = await Promise.all([
      tap(bus, TOPICS.incidents),
      tap(bus, TOPICS.incidentEvents),
      tap(bus, TOPICS.dispatches),
      tap(bus, TOPICS.dimensions),
    ]);
    const worker = await start(bus);
    const first = warning();
    await produceWarnings(bus, [first, warning({ level: 'red' }), warning({ kind: 'crowd', area_id: 'area-square' })]);

    await vi.waitFor(() => expect(worker.health().counters.warnings_in).toBe(3));
    // opened+dispatched, joined+level_raised+severity_changed, opened+proposed.
    await vi.waitFor(() => expect(events.length).toBe(7));

    const order = decoded(dispatches, (m) => decodeRecord(DispatchOrder, m.value));
    expect(order).toHaveLength(1);
    expect(order[0]).toMatchObject({
      incident_id: stableId(first.id),
      department_id: 'dept.water',
      rule_version: table.version,
      machine_made: true,
      accept_due: clock() + 10 * MIN,
    });
    expect(order[0]?.reason).toMatch(/Waterlogging in area-riverside → 市水务局/);

    const latest = new Map(decoded(incidents, (m) => decodeRecord(IncidentSchema, m.value)).map((i) => [i.id, i]));
    expect(latest.get(stableId(first.id))).toMatchObject({
      status: 'dispatched',
      level: 'red',
      warning_ids: [first.id, `it-w-${seq - 1}`],
    });
    expect([...latest.values()].find((i) => i.kind === 'crowd')?.status).toBe('open');
    for (const m of incidents) expect(m.key).toBe((JSON.parse(new TextDecoder().decode(m.value)) as { id: string }).id);

    expect(
      decoded(events, (m) => decodeRecord(IncidentEvent, m.value))
        .map((e) => e.type)
        .sort(),
    ).toEqual(['proposed', 'dispatched', 'level_raised', 'opened', 'opened', 'severity_changed', 'warning_joined'].sort());
    const departments = dimensions.map((m) => decodeDimension(m.headers, m.value)).flatMap((r) => (r.ok ? [r.value] : []));
    expect(departments.filter((d) => d.name === 'Department')).toHaveLength(9);

    expect(worker.health()).toMatchObject({
      name: 'incidents',
      state: 'running',
      dead_lettered: 0,
      counters: { warnings_in: 3, incidents_opened: 2, dispatches: 1, incidents_open: 2 },
    });
  });

  it('takes an all-clear from warnings.cleared into the case of that source', async () => {
    const bus = await setUp();
    const events = await tap(bus, TOPICS.incidentEvents);
    const worker = await start(bus);
    const w = warning({ source_id: 's-water-clear' });
    await produceWarnings(bus, [w]);
    await vi.waitFor(() => expect(worker.health().counters.incidents_opened).toBe(1));
    const cleared: WarningCleared = {
      id: stableId('cleared', 's-water-clear', T0),
      schema_version: 1,
      ts: T0 + 30_000,
      kind: 'waterlogging',
      area_id: 'area-riverside',
      source_kind: 'sensor',
      source_id: 's-water-clear',
      started_at: T0,
      warning_ids: [],
      reason: 'back within the expected range for 5 consecutive readings',
      produced_by: 'anomaly-worker/rolling-robust-z@1',
      machine_made: true,
    };
    await bus.producer().send(TOPICS.warningsCleared, [{ key: cleared.source_id, value: encodeRecord(cleared) }]);
    await vi.waitFor(() => expect(worker.health().counters.all_clears_in).toBe(1));
    await vi.waitFor(() => {
      const allClear = decoded(events, (m) => decodeRecord(IncidentEvent, m.value)).filter((e) => e.type === 'all_clear');
      expect(allClear).toHaveLength(1);
      expect(allClear[0]).toMatchObject({ incident_id: stableId(w.id), machine_made: true });
      expect(allClear[0]!.detail).toMatch(/back within the expected range.*every warning of the case is clear/);
    });
  });

  it('dead-letters a malformed warning with the reason and keeps going', async () => {
    const bus = await setUp();
    const [dlq, incidents] = await Promise.all([tap(bus, TOPICS.deadLetters), tap(bus, TOPICS.incidents)]);
    const worker = await start(bus);
    const good = warning({ kind: 'congestion' });
    await produceWarnings(bus, ['{not json', JSON.stringify({ ...warning(), level: 'purple' }), good]);

    await vi.waitFor(() => expect(incidents.length).toBe(1));
    await vi.waitFor(() => expect(dlq.length).toBe(2));
    const letters = dlq.map(
      (m) =>
        JSON.parse(new TextDecoder().decode(m.value)) as { source: string; reason: string; errors: { path: string }[]; payload: string },
    );
    expect(letters[0]).toMatchObject({ source: TOPICS.warnings, payload: '{not json' });
    expect(letters[0]?.reason).toMatch(/expected JSON/);
    expect(letters[1]?.reason).toMatch(/not a valid EarlyWarning/);
    expect(letters[1]?.errors.map((e) => e.path)).toContain('/level');
    expect(worker.health()).toMatchObject({ dead_lettered: 2, counters: { warnings_in: 3, incidents_opened: 1 } });
  });

  it('after a restart rebuilds its incidents and does not open duplicates when warnings are replayed', async () => {
    const bus = await setUp();
    // The in-process bus keeps only what some group still needs; Kafka keeps its topics for
    // their retention. A group that never reads stands in for that here.
    const retention = bus.consumer({ groupId: 'test-retention', topics: [TOPICS.incidents, TOPICS.incidentEvents, TOPICS.warnings] });
    await retention.run(() => Promise.resolve());
    retention.pause();
    const dispatches = await tap(bus, TOPICS.dispatches);
    const first = await start(bus, 'incidents-a');
    const ws = [warning(), warning({ area_id: 'hb.haihe', kind: 'stopped_vehicle', lon: 121.5 })];
    await produceWarnings(bus, ws);
    await vi.waitFor(() => expect(dispatches.length).toBe(2));
    await first.stop();
    started.splice(started.indexOf(first), 1);
    expect(first.health().state).toBe('stopped');

    // A new group reads the warnings topic from the beginning: every warning is delivered again.
    const second = await start(bus, 'incidents-b');
    expect(second.health().counters).toMatchObject({ incidents_open: 2, incidents_restored: 2 });
    // The SLA clocks come back from the events: the same stage and deadline as the dispatch said.
    const firstOrder = decoded(dispatches, (m) => decodeRecord(DispatchOrder, m.value)).find((d) => d.incident_id === stableId(ws[0]!.id));
    expect(second.backend.view(stableId(ws[0]!.id))).toMatchObject({
      stage: 'accept',
      due_at: firstOrder?.accept_due,
      escalation_level: 0,
    });
    expect(second.backend.view(stableId(ws[0]!.id))?.evidence.map((e) => e.source)).toEqual(['sensor:s-water-01']);
    await produceWarnings(bus, [warning()]);
    await vi.waitFor(() => expect(second.health().counters.warnings_in).toBe(3));
    expect(second.health().counters).toMatchObject({ incidents_opened: 0, warnings_duplicate: 2, incidents_open: 2, dispatches: 0 });
    expect(dispatches).toHaveLength(2);
  });

  it('publishes what a failed send left behind when the batch comes again, so nothing is lost', async () => {
    const bus = await setUp({ onError: () => undefined });
    const [incidents, events, dispatches] = await Promise.all([
      tap(bus, TOPICS.incidents),
      tap(bus, TOPICS.incidentEvents),
      tap(bus, TOPICS.dispatches),
    ]);
    const worker = await startIncidentWorker({ bus: failingOnce(bus, TOPICS.incidents), table, clock });
    started.push(worker);
    await produceWarnings(bus, [warning()]);

    await vi.waitFor(() => expect(incidents).toHaveLength(1));
    // The batch was delivered twice; the second time the warning was a duplicate for the engine,
    // and the incident record came from the outbox.
    expect(worker.health().counters).toMatchObject({ warnings_in: 2, warnings_duplicate: 1, incidents_opened: 1 });
    expect(worker.health().last_error).toMatch(/broker unavailable/);
    expect(dispatches).toHaveLength(1);
    expect(events).toHaveLength(2);
  });

  it('starts from incidents it is given when the bus holds no history', async () => {
    const bus = await setUp();
    const seedWarning = warning();
    const seeded: Incident = {
      id: stableId(seedWarning.id),
      schema_version: 1,
      opened_at: T0,
      updated_at: T0,
      kind: 'waterlogging',
      area_id: 'area-riverside',
      level: 'orange',
      status: 'dispatched',
      title: 'seeded from the store',
      department_id: 'dept.water',
      warning_ids: [seedWarning.id],
      lon: 121.47,
      lat: 31.23,
      rule_version: table.version,
      revision: 4,
    };
    const incidents = await tap(bus, TOPICS.incidents);
    const worker = await start(bus, undefined, [seeded]);
    await produceWarnings(bus, [seedWarning, warning()]);
    await vi.waitFor(() => expect(incidents).toHaveLength(1));
    expect(decodeRecord(IncidentSchema, incidents[0]!.value)).toMatchObject({ ok: true, value: { id: seeded.id, revision: 5 } });
    expect(worker.health().counters).toMatchObject({ incidents_opened: 0, warnings_duplicate: 1, incidents_restored: 1 });
  });
});

/** The bus, except that the first send to `topic` fails as a broker outage would. */
function failingOnce(bus: Bus, topic: string): Bus {
  let failed = false;
  return {
    kind: bus.kind,
    ensureTopics: (topics) => bus.ensureTopics(topics),
    consumer: (options) => bus.consumer(options),
    close: () => bus.close(),
    producer: () => {
      const inner = bus.producer();
      return {
        send: (t, messages) => {
          if (t !== topic || failed) return inner.send(t, messages);
          failed = true;
          return Promise.reject(new Error('broker unavailable'));
        },
        flush: () => inner.flush(),
      };
    },
  };
}
