import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  createInProcessBus,
  type Bus,
  type BusError,
  type Consumer,
  type IncomingMessage,
  type OutgoingMessage,
  type Producer,
} from '@cityops/bus';
import {
  Anomaly as AnomalySchema,
  DEFAULT_PARTITIONS,
  EarlyWarning as EarlyWarningSchema,
  WarningCleared as WarningClearedSchema,
  SCHEMA_HEADER,
  TOPICS,
  decodeRecord,
  encodeDimension,
  encodeRecord,
  recordBatchHeaders,
  rememberReadingColumns,
  stableId,
  type Anomaly,
  type EarlyWarning,
  type RunningWorker,
  type SensorReading,
  type WarningCleared,
} from '@cityops/schemas';
import { DEFAULT_WARNING_POLICY, startAnomalyWorker, type AnomalyWorkerConfig } from '../../src/index.js';

/*
 * The anomaly worker end to end on the in-process bus: dimensions and readings in, anomalies,
 * warnings and dead letters out, read back through a consumer like any downstream role would.
 */

const T0 = Date.UTC(2026, 5, 1, 8, 0);
const MINUTE = 60_000;
const SENSOR = 'wl-xh-001';
const AREA = 'xuhui';
const ALL_TOPICS = [TOPICS.dimensions, TOPICS.sensorReadings, TOPICS.anomalies, TOPICS.warnings, TOPICS.deadLetters] as const;

function rng(seed: number): () => number {
  let s = seed;
  const uniform = (): number => {
    s = (s + 0x6d2b79f5) | 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
}

function reading(minute: number, value: number): OutgoingMessage {
  const r: SensorReading = {
    id: stableId(SENSOR, minute),
    schema_version: 1,
    sensor_id: SENSOR,
    kind: 'water_level',
    ts: T0 + minute * MINUTE,
    value: Math.round(value * 100) / 100,
    unit: 'cm',
  };
  return { key: SENSOR, value: encodeRecord(r), headers: { [SCHEMA_HEADER]: 'SensorReading@1' } };
}

/** 200 quiet minutes of a water gauge (12 cm, slow drift, noise σ 0.4 cm), then an excursion. */
function phaseOne(): OutgoingMessage[] {
  const noise = rng(11);
  const quiet = Array.from({ length: 200 }, (_, m) => reading(m, 12 + 0.3 * Math.sin(m / 40) + 0.4 * noise()));
  // +4.5 cm: robust z ≈ 6 against the 0.5 cm MAD floor of water gauges → blue.
  const rising = Array.from({ length: 4 }, (_, i) => reading(200 + i, 16.5 + 0.1 * i));
  return [...quiet, ...rising];
}

/** The water keeps rising: +10 cm, robust z ≈ 13 → orange. */
function phaseTwo(): OutgoingMessage[] {
  return Array.from({ length: 3 }, (_, i) => reading(204 + i, 22 + 0.2 * i));
}

async function publishDimensions(bus: Bus): Promise<void> {
  const producer = bus.producer();
  await producer.send(TOPICS.dimensions, [
    encodeDimension({
      name: 'Area',
      record: {
        id: AREA,
        schema_version: 1,
        name_zh: '徐汇区',
        name_en: 'Xuhui',
        population: 1_100_000,
        geometry: '{}',
        lon: 121.43,
        lat: 31.18,
      },
    }),
    encodeDimension({
      name: 'Sensor',
      record: {
        id: SENSOR,
        schema_version: 1,
        kind: 'water_level',
        area_id: AREA,
        name: 'Caoxi Rd underpass gauge',
        lon: 121.437,
        lat: 31.17,
        unit: 'cm',
      },
    }),
  ]);
}

interface Collected {
  anomalies: Anomaly[];
  warnings: EarlyWarning[];
  deadLetters: { source: string; reason: string; key: string }[];
}

let clearedReaders = 0;

/** Every WarningCleared on its topic so far. */
async function readCleared(bus: Bus): Promise<WarningCleared[]> {
  const got: WarningCleared[] = [];
  const groupId = `test-cleared-${clearedReaders++}`;
  const consumer = bus.consumer({ groupId, topics: [TOPICS.warningsCleared], fromBeginning: true });
  await consumer.run((batch) => {
    for (const m of batch.messages) {
      const d = decodeRecord(WarningClearedSchema, m.value);
      if (!d.ok) throw new Error(`worker produced an invalid WarningCleared: ${d.reason}`);
      got.push(d.value);
    }
    return Promise.resolve();
  });
  await drained(bus, groupId, [TOPICS.warningsCleared]);
  await consumer.stop();
  return got;
}

/** Reads what the worker produced, as a downstream role would. */
async function collect(bus: Bus): Promise<{ out: Collected; consumer: Consumer }> {
  const out: Collected = { anomalies: [], warnings: [], deadLetters: [] };
  const consumer = bus.consumer({
    groupId: 'test-collector',
    topics: [TOPICS.anomalies, TOPICS.warnings, TOPICS.deadLetters],
    fromBeginning: true,
  });
  await consumer.run((batch) => {
    for (const m of batch.messages) take(out, m);
    return Promise.resolve();
  });
  return { out, consumer };
}

function take(out: Collected, m: IncomingMessage): void {
  if (m.topic === TOPICS.anomalies) {
    const d = decodeRecord(AnomalySchema, m.value);
    if (!d.ok) throw new Error(`worker produced an invalid Anomaly: ${d.reason}`);
    out.anomalies.push(d.value);
  } else if (m.topic === TOPICS.warnings) {
    const d = decodeRecord(EarlyWarningSchema, m.value);
    if (!d.ok) throw new Error(`worker produced an invalid EarlyWarning: ${d.reason}`);
    out.warnings.push(d.value);
  } else {
    out.deadLetters.push(JSON.parse(new TextDecoder().decode(m.value)) as { source: string; reason: string; key: string });
  }
}

async function until(what: string, probe: () => Promise<boolean> | boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Waits until a group has committed everything on `topics` (the in-process bus reads lag by group id). */
async function drained(bus: Bus, groupId: string, topics: readonly string[]): Promise<void> {
  const probe = bus.consumer({ groupId, topics, fromBeginning: true });
  try {
    await until(`group ${groupId} to drain ${topics.join(', ')}`, async () => Object.values(await probe.lag()).every((l) => l === 0));
  } finally {
    await probe.stop();
  }
}

async function settle(bus: Bus): Promise<void> {
  await drained(bus, 'cityops-anomaly', [TOPICS.sensorReadings]);
  await drained(bus, 'test-collector', [TOPICS.anomalies, TOPICS.warnings, TOPICS.deadLetters]);
}

/**
 * Ten quiet hours of a reading a minute, then a water level climbing fast: longer quiet than the
 * z-score needs, as the ensemble's members calibrate their own surprise.
 */
async function sendQuietThenFlood(h: Harness): Promise<void> {
  const noise = rng(3);
  const quiet = Array.from({ length: 600 }, (_, m) => reading(m, 12 + 0.3 * Math.sin(m / 40) + 0.4 * noise()));
  const flood = Array.from({ length: 8 }, (_, i) => reading(600 + i, 40 + 2 * i));
  await h.producer.send(TOPICS.sensorReadings, [...quiet, ...flood]);
  await settle(h.bus);
}

interface Harness {
  bus: Bus;
  worker: RunningWorker;
  out: Collected;
  producer: Producer;
  busErrors: BusError[];
}

async function start(
  makeBus: (bus: Bus) => Bus = (b) => b,
  config: AnomalyWorkerConfig = {},
  log?: (line: string) => void,
): Promise<Harness> {
  const busErrors: BusError[] = [];
  const inner = createInProcessBus({ retryDelayMs: 5, maxRetryDelayMs: 20, onError: (e) => busErrors.push(e) });
  const bus = makeBus(inner);
  await bus.ensureTopics(ALL_TOPICS.map((name) => ({ name, partitions: DEFAULT_PARTITIONS[name] })));
  await publishDimensions(bus);
  const worker = await startAnomalyWorker({
    bus,
    clock: () => T0,
    config: { fallbackLocation: { lon: 121.47, lat: 31.23 }, ...config },
    ...(log === undefined ? {} : { log }),
  });
  const { out } = await collect(bus);
  running.push({ bus, worker });
  return { bus, worker, out, producer: bus.producer(), busErrors };
}

const running: { bus: Bus; worker: RunningWorker }[] = [];
afterEach(async () => {
  for (const { bus, worker } of running.splice(0)) {
    await worker.stop();
    await bus.close();
  }
});

describe('anomaly worker on the in-process bus', () => {
  it('turns an excursion into anomalies and exactly one warning, then one more when it worsens', async () => {
    const h = await start();
    await h.producer.send(TOPICS.sensorReadings, phaseOne());
    await settle(h.bus);

    expect(h.out.anomalies.length).toBeGreaterThanOrEqual(3);
    expect(h.out.anomalies.every((a) => a.ts >= T0 + 200 * MINUTE)).toBe(true);
    const a = h.out.anomalies[0]!;
    expect(a).toMatchObject({
      source_kind: 'sensor',
      source_id: SENSOR,
      metric: 'water_level',
      area_id: AREA,
      detector: 'rolling-robust-z',
    });
    expect(a.lower).toBeLessThan(a.expected);
    expect(a.upper).toBeGreaterThan(a.expected);
    expect(a.value).toBeGreaterThan(a.upper);
    expect(a.probability).toBeGreaterThan(0.9);
    expect(a.reason).toMatch(/water level 16\.5 cm is above the expected range .*robust z/);

    expect(h.out.warnings).toHaveLength(1);
    const w = h.out.warnings[0]!;
    expect(w).toMatchObject({
      level: 'blue',
      kind: 'waterlogging',
      area_id: AREA,
      source_kind: 'sensor',
      source_id: SENSOR,
      lon: 121.437,
      lat: 31.17,
      produced_by: 'anomaly-worker/rolling-robust-z@1',
      machine_made: true,
      ts: T0 + 202 * MINUTE,
    });
    expect(w.id).toBe(stableId(SENSOR, T0 + 200 * MINUTE, 'blue'));
    expect(w.title).toContain('道路积水 Waterlogging');
    expect(w.reasons.join('\n')).toMatch(/observed water level .* cm at 2026-06-01T11:22:00Z; expected .*….* cm/);
    expect(w.reasons.join('\n')).toMatch(/robust z-score \d/);
    expect(w.reasons.join('\n')).toMatch(/for 3 consecutive readings over 2\.0 min/);
    const anomalyIds = new Set(h.out.anomalies.map((x) => x.id));
    expect(w.evidence_ids.length).toBe(3);
    expect(w.evidence_ids.every((id) => anomalyIds.has(id))).toBe(true);

    await h.producer.send(TOPICS.sensorReadings, phaseTwo());
    await settle(h.bus);
    expect(h.out.warnings).toHaveLength(2);
    const raised = h.out.warnings[1]!;
    expect(raised.level).toBe('orange');
    expect(raised.id).toBe(stableId(SENSOR, T0 + 200 * MINUTE, 'orange'));
    expect(raised.reasons.join('\n')).toMatch(/raised from blue/);

    const health = h.worker.health();
    expect(health).toMatchObject({ name: 'anomaly', state: 'running', dead_lettered: 0, lag: 0 });
    expect(health.counters).toMatchObject({ warnings_emitted: 2, anomalies_emitted: h.out.anomalies.length, warnings_active: 1 });
    expect(health.counters['points_scored']).toBe(207 - 30);
  });

  it('dead-letters malformed readings with the reason and keeps going', async () => {
    const h = await start();
    const bad: OutgoingMessage[] = [
      { key: SENSOR, value: new TextEncoder().encode('{"not json') },
      {
        key: SENSOR,
        value: encodeRecord({ id: 'x1', schema_version: 1, sensor_id: SENSOR, kind: 'water_level', ts: T0, value: 'high', unit: 'cm' }),
      },
      {
        key: SENSOR,
        value: encodeRecord({ id: 'x2', schema_version: 1, sensor_id: SENSOR, kind: 'water_level', ts: T0, value: 5000, unit: 'cm' }),
      },
    ];
    const input = phaseOne();
    await h.producer.send(TOPICS.sensorReadings, [...input.slice(0, 100), ...bad, ...input.slice(100)]);
    await settle(h.bus);
    expect(h.out.deadLetters.map((d) => d.source)).toEqual([TOPICS.sensorReadings, TOPICS.sensorReadings, TOPICS.sensorReadings]);
    expect(h.out.deadLetters[0]?.reason).toMatch(/expected JSON/);
    expect(h.out.deadLetters[1]?.reason).toMatch(/not a valid SensorReading: \/value/);
    expect(h.out.deadLetters[2]?.reason).toMatch(/expected -50…1000 cm for water_level; got 5000/);
    // The valid readings around them were all scored: same outcome as the clean run.
    expect(h.out.warnings).toHaveLength(1);
    expect(h.worker.health()).toMatchObject({ state: 'running', dead_lettered: 3, processed: 207 });
  });

  it('runs the ensemble detector by config, with level lines on its calibrated score scale', async () => {
    // Without the one-alarm-per-event damping NAB scoring wants: the episode tracker does that job here.
    const h = await start((b) => b, { detector: { type: 'ensemble', suppressedFactor: 1 } });
    await sendQuietThenFlood(h);
    expect(h.out.anomalies.length).toBeGreaterThanOrEqual(3);
    expect(h.out.anomalies.every((a) => a.detector === 'ensemble' && a.score >= 0.5 && a.score <= 1)).toBe(true);
    expect(h.out.warnings.length).toBeGreaterThanOrEqual(1);
    const w = h.out.warnings[0]!;
    expect(w).toMatchObject({ kind: 'waterlogging', source_id: SENSOR, produced_by: 'anomaly-worker/ensemble@1' });
    expect(w.reasons.join('\n')).toMatch(/ensemble score \d/);
    // Each anomaly says which member fired, with every member's score.
    const reason = h.out.anomalies[0]!.reason;
    expect(reason).toMatch(
      /ensemble score [\d.]+ fired by (its .* member|its members .* and .*|the blend of its members, the highest .*);/,
    );
    for (const name of ['seasonal profile', 'online AR', 'nearest-neighbour novelty', 'neural forecast']) expect(reason).toContain(name);
    expect(w.ts).toBeLessThanOrEqual(T0 + 603 * MINUTE);
  });

  it('routes each sensor by how often it reports, and explains an ensemble-routed anomaly in the ensemble\u2019s own score', async () => {
    // Readings a minute apart: at a 1-minute cut-over the series is the ensemble's.
    const h = await start((b) => b, { detector: { type: 'by-cadence', slowFromIntervalMs: 60_000, slow: { suppressedFactor: 1 } } });
    await sendQuietThenFlood(h);
    expect(h.out.anomalies.length).toBeGreaterThanOrEqual(3);
    // Records carry the detector that scored the series, on its own scale.
    expect(h.out.anomalies.every((a) => a.detector === 'ensemble' && a.score >= 0.5 && a.score <= 1 && a.probability > 0)).toBe(true);
    expect(h.out.anomalies[0]!.reason).toMatch(/ensemble score [\d.]+ fired by/);
    const w = h.out.warnings[0]!;
    expect(w).toMatchObject({ kind: 'waterlogging', source_id: SENSOR, produced_by: 'anomaly-worker/by-cadence@1' });
    expect(w.score).toBeLessThanOrEqual(1);
    expect(w.reasons.join('\n')).toMatch(
      /ensemble score [\d.]+ \(peak [\d.]+\), threshold 0.5 \([\d.]+ on the robust-z scale of the level lines below, threshold 5\)/,
    );
  });

  it("runs the ensemble's neural member batched through ONNX Runtime, on the configured provider or cpu with a log line", async () => {
    const lines: string[] = [];
    const h = await start(
      (b) => b,
      { detector: { type: 'ensemble', suppressedFactor: 1 }, runtime: { executionProvider: 'no-such-provider' } },
      (l) => lines.push(l),
    );
    expect(lines.join('\n')).toMatch(/execution provider 'no-such-provider' could not start .*; falling back to cpu/);
    expect(lines.join('\n')).toMatch(/learned member: neural forecast .* execution provider 'cpu', dynamic batch/);
    const noise = rng(3);
    const quiet = Array.from({ length: 600 }, (_, m) => reading(m, 12 + 0.3 * Math.sin(m / 40) + 0.4 * noise()));
    const flood = Array.from({ length: 8 }, (_, i) => reading(600 + i, 40 + 2 * i));
    // Fifty readings per send, so the worker sees several batches (as a city's sensors arrive).
    for (let i = 0; i < quiet.length; i += 50) await h.producer.send(TOPICS.sensorReadings, quiet.slice(i, i + 50));
    await settle(h.bus);
    await h.producer.send(TOPICS.sensorReadings, flood);
    await settle(h.bus);
    expect(h.out.warnings.length).toBeGreaterThanOrEqual(1);
    const c = h.worker.health().counters;
    // Each batch ends with one runtime call for the series it touched; the first point of the next
    // batch uses that call's prediction (the last call's waits for a batch still to come), the rest
    // of a batch (the same series again) the reference pass.
    expect(c['prediction_runtime_calls']).toBeGreaterThanOrEqual(2);
    expect(c['predictions_batched']).toBeGreaterThanOrEqual(1);
    expect(c['predictions_batched']).toBeLessThanOrEqual(c['prediction_runtime_calls']!);
    expect(c['predictions_inline']).toBeGreaterThan(0);
    expect(c['prediction_errors']).toBe(0);
  });

  it('publishes an all-clear when the sensor is back in band, so incidents can verify', async () => {
    const h = await start();
    const noise = rng(5);
    const back = Array.from({ length: 10 }, (_, i) => reading(207 + i, 12 + 0.4 * noise()));
    await h.producer.send(TOPICS.sensorReadings, [...phaseOne(), ...phaseTwo(), ...back]);
    await settle(h.bus);
    const cleared = await readCleared(h.bus);
    expect(cleared).toHaveLength(1);
    expect(cleared[0]).toMatchObject({
      id: stableId('cleared', SENSOR, T0 + 200 * MINUTE),
      source_kind: 'sensor',
      source_id: SENSOR,
      kind: 'waterlogging',
      area_id: AREA,
      started_at: T0 + 200 * MINUTE,
      machine_made: true,
    });
    // It names the episode's warnings (blue, then raised to orange), so only they are cleared.
    expect(cleared[0]!.warning_ids).toEqual(['blue', 'yellow', 'orange'].map((level) => stableId(SENSOR, T0 + 200 * MINUTE, level)));
    expect(cleared[0]!.ts).toBe(T0 + (207 + DEFAULT_WARNING_POLICY.closeAfterPoints - 1) * MINUTE);
    expect(cleared[0]!.reason).toMatch(/back within the expected range .* orange waterlogging episode since 2026-06-01T11:20:00Z/);
    expect(h.worker.health().counters['warnings_cleared_emitted']).toBe(1);
  });

  it('reads readings packed several to a message, as ingest sends them, and dead-letters only the bad lines', async () => {
    const h = await start();
    const input = phaseOne();
    // The same readings as the clean run, 50 to a message, with two bad lines in one message.
    const lines = input.map((m) => new TextDecoder().decode(m.value));
    lines.splice(100, 0, '{"not json', lines[99]!.replace(/"value":[^,]+/, '"value":"high"'));
    const packed: OutgoingMessage[] = [];
    for (let i = 0; i < lines.length; i += 50) {
      const chunk = lines.slice(i, i + 50);
      packed.push({
        key: SENSOR,
        value: new TextEncoder().encode(chunk.join('\n')),
        headers: recordBatchHeaders('SensorReading', chunk.length),
      });
    }
    await h.producer.send(TOPICS.sensorReadings, packed);
    await settle(h.bus);
    expect(h.out.deadLetters.map((d) => d.reason)).toEqual([
      expect.stringMatching(/expected JSON/) as string,
      expect.stringMatching(/not a valid SensorReading: \/value/) as string,
    ]);
    // Same outcome as the clean run; `processed` counts readings, not messages.
    expect(h.out.warnings).toHaveLength(1);
    expect(h.worker.health()).toMatchObject({ state: 'running', dead_lettered: 2, processed: input.length + 2 });
  });

  it('reads the columns that ingest in this process left on a message, with the outcome of reading its bytes', async () => {
    const readings = phaseOne().map((m) => JSON.parse(new TextDecoder().decode(m.value)) as SensorReading);
    // One implausible reading among them: a consumer checks what it reads, columns included.
    readings.splice(100, 0, { ...readings[99]!, id: 'implausible', value: 5000 });
    /** 50 readings to a message; with columns, the bytes are never parsed (they hold a marker here to prove it). */
    const packed = (withColumns: boolean): OutgoingMessage[] => {
      const out: OutgoingMessage[] = [];
      for (let i = 0; i < readings.length; i += 50) {
        const chunk = readings.slice(i, i + 50);
        const value = new TextEncoder().encode(
          withColumns ? 'not parsed when columns are at hand' : chunk.map((r) => JSON.stringify(r)).join('\n'),
        );
        if (withColumns) {
          rememberReadingColumns(value, {
            start: 0,
            count: chunk.length,
            sensorIds: chunk.map((r) => r.sensor_id),
            kinds: chunk.map((r) => r.kind),
            ts: chunk.map((r) => r.ts),
            values: chunk.map((r) => r.value),
            units: chunk.map((r) => r.unit),
            ids: chunk.map((r) => r.id),
            // The number ingest gives the sensor: the worker keeps its series by it.
            slots: chunk.map(() => 7),
          });
        }
        out.push({ key: SENSOR, value, headers: recordBatchHeaders('SensorReading', chunk.length) });
      }
      return out;
    };
    const outcome = async (withColumns: boolean) => {
      const h = await start();
      await h.producer.send(TOPICS.sensorReadings, packed(withColumns));
      await settle(h.bus);
      return { out: h.out, health: h.worker.health() };
    };
    const fromBytes = await outcome(false);
    const fromColumns = await outcome(true);
    expect(fromColumns.out.deadLetters).toEqual([
      expect.objectContaining({
        reason: expect.stringMatching(/not a plausible water_level reading: \/value expected -50…1000 cm/) as string,
      }),
    ]);
    // Dead letters are stamped when sent; what they say is the same.
    const said = (letters: Collected['deadLetters']) => letters.map(({ source, reason, key }) => ({ source, reason, key }));
    expect(said(fromColumns.out.deadLetters)).toEqual(said(fromBytes.out.deadLetters));
    expect(fromColumns.out.warnings).toHaveLength(1);
    expect(fromColumns.out.warnings).toEqual(fromBytes.out.warnings);
    expect(fromColumns.out.anomalies).toEqual(fromBytes.out.anomalies);
    expect(fromColumns.health).toMatchObject({ dead_lettered: 1, processed: readings.length });
  });

  it('loses and duplicates nothing when producing fails and the batch is delivered again', async () => {
    const clean = await start();
    await clean.producer.send(TOPICS.sensorReadings, phaseOne());
    await settle(clean.bus);

    let failuresLeft = 2;
    const flaky = await start((inner) => ({
      kind: inner.kind,
      ensureTopics: (t) => inner.ensureTopics(t),
      consumer: (o) => inner.consumer(o),
      close: () => inner.close(),
      producer: () => {
        const p = inner.producer();
        return {
          send: (topic, messages) => {
            if (topic === TOPICS.warnings && failuresLeft > 0) {
              failuresLeft--;
              return Promise.reject(new Error('broker unavailable'));
            }
            return p.send(topic, messages);
          },
          flush: () => p.flush(),
        };
      },
    }));
    await flaky.producer.send(TOPICS.sensorReadings, phaseOne());
    await settle(flaky.bus);
    expect(failuresLeft).toBe(0);
    expect(flaky.busErrors.length).toBeGreaterThanOrEqual(1);
    expect(flaky.worker.health().last_error).toMatch(/broker unavailable/);
    // Same records, same ids — a replay dedupes in the store.
    expect(flaky.out.warnings.map((w) => w.id)).toEqual(clean.out.warnings.map((w) => w.id));
    expect(flaky.out.anomalies.map((a) => a.id)).toEqual(clean.out.anomalies.map((a) => a.id));
  });

  it('reports a gauge stuck on one value as a sensor fault, capped at yellow, without a record per reading', async () => {
    const h = await start();
    // A gauge whose noise (σ 1 cm) is above its 0.5 cm resolution, so exact repeats are not normal.
    const noise = rng(12);
    const quiet = Array.from({ length: 200 }, (_, m) => reading(m, 12 + noise()));
    const stuck = Array.from({ length: 130 }, (_, i) => reading(200 + i, 12.25));
    await h.producer.send(TOPICS.sensorReadings, [...quiet, ...stuck]);
    await settle(h.bus);
    // The default stuck check needs 60 equal readings; then 71 stuck points, thinned to 2 records.
    expect(h.out.anomalies).toHaveLength(2);
    expect(h.out.anomalies[0]?.reason).toMatch(/has repeated exactly 12\.25 cm .* the sensor looks stuck/);
    expect(h.out.warnings.map((w) => [w.kind, w.level])).toEqual([
      ['sensor_fault', 'blue'],
      ['sensor_fault', 'yellow'],
    ]);
    expect(h.out.warnings[1]?.reasons.join('\n')).toMatch(/capped at yellow for sensor_fault/);
    expect(h.worker.health().counters['stuck_points']).toBe(71);
  });

  it('warns from the physical lines of the sensor kind when water rises too slowly for the statistics', async () => {
    const h = await start();
    // 3 cm of water rising 0.1 cm a minute to 73 cm: each step is ordinary, the depth is not.
    const noise = rng(21);
    const rising = Array.from({ length: 700 }, (_, m) => reading(m, 3 + 0.1 * m + 0.2 * noise()));
    await h.producer.send(TOPICS.sensorReadings, rising);
    await settle(h.bus);
    const levels = h.out.warnings.filter((w) => w.kind === 'waterlogging').map((w) => w.level);
    // Blue at the 20 cm line, yellow and orange by duration (10 and 30 min), red only at the 60 cm line.
    expect(levels).toEqual(['blue', 'yellow', 'orange', 'red']);
    const red = h.out.warnings.find((w) => w.level === 'red')!;
    expect(red.reasons.join('\n')).toMatch(/peak 1-min average 60(\.\d+)? cm ≥ the red line 60 cm \(street waterlogging depth lines/);
    expect(red.ts).toBeGreaterThanOrEqual(T0 + 560 * MINUTE);
    // The blue line (20 cm) is reached at minute ≈ 170; three readings there open the episode.
    expect(h.out.warnings[0]!.ts).toBeGreaterThanOrEqual(T0 + 165 * MINUTE);
    expect(h.out.warnings[0]!.ts).toBeLessThanOrEqual(T0 + 180 * MINUTE);
  });

  it('caps a statistically extreme excursion that stays below the first physical line at yellow, and uses per-sensor lines', async () => {
    const noise = rng(22);
    const quiet = Array.from({ length: 200 }, (_, m) => reading(m, 3 + 0.3 * noise()));
    // +12 cm on a 3 cm gauge: robust z ≈ 16 (orange by the score alone), but 15 cm is below the 20 cm line.
    const excursion = Array.from({ length: 6 }, (_, i) => reading(200 + i, 15 + 0.1 * i));
    const h = await start();
    await h.producer.send(TOPICS.sensorReadings, [...quiet, ...excursion]);
    await settle(h.bus);
    expect(h.out.warnings.map((w) => w.level)).toEqual(['yellow']);
    expect(h.out.warnings[0]!.reasons.join('\n')).toMatch(
      /capped at yellow: peak 1-min average 1[45](\.\d+)? cm has not reached the first physical line 20 cm/,
    );

    // The same gauge with its own lines (a shallow underpass: 12 cm is already red).
    const shallow = await start((b) => b, {
      physicalLinesBySensor: {
        [SENSOR]: {
          direction: 'high',
          lines: [
            { level: 'blue', value: 6 },
            { level: 'yellow', value: 8 },
            { level: 'orange', value: 10 },
            { level: 'red', value: 12 },
          ],
          basis: 'underpass lines',
        },
      },
    });
    await shallow.producer.send(TOPICS.sensorReadings, [...quiet, ...excursion]);
    await settle(shallow.bus);
    expect(shallow.out.warnings.map((w) => w.level)).toEqual(['red']);
    expect(shallow.out.warnings[0]!.reasons.join('\n')).toMatch(/≥ the red line 12 cm \(underpass lines\)/);
  });

  it('places a warning of an unknown sensor at the fallback location and says so', async () => {
    const h = await start();
    const other = phaseOne().map((m) => {
      const r = JSON.parse(new TextDecoder().decode(m.value)) as SensorReading;
      return { key: 'wl-unknown', value: encodeRecord({ ...r, sensor_id: 'wl-unknown' }) };
    });
    await h.producer.send(TOPICS.sensorReadings, other);
    await settle(h.bus);
    expect(h.out.warnings).toHaveLength(1);
    expect(h.out.warnings[0]).toMatchObject({ source_id: 'wl-unknown', area_id: '', lon: 121.47, lat: 31.23 });
    expect(h.out.warnings[0]?.reasons.join('\n')).toMatch(/sensor location unknown/);
  });
});

/** Occupancy readings of `lane` a second apart from `startS`: an unknown sensor (no dimensions needed). */
function occupancy(lane: string, startS: number, values: readonly number[]): OutgoingMessage[] {
  return values.map((v, k) => {
    const r: SensorReading = {
      id: stableId(lane, startS + k),
      schema_version: 1,
      sensor_id: lane,
      kind: 'traffic_occupancy',
      ts: T0 + (startS + k) * 1000,
      value: Math.round(Math.max(0, v) * 100) / 100,
      unit: '%',
    };
    return { key: lane, value: encodeRecord(r), headers: { [SCHEMA_HEADER]: 'SensorReading@1' } };
  });
}

describe('physical lines at one reading a second', () => {
  const LANE = 'occ-xh-001';

  it('judge the minute average: a noisy lane hovering under its 25 % line opens nothing, a real jam opens one warning that does not flap', async () => {
    const h = await start();
    const noise = rng(31);
    // Half an hour at 22.5 % ± 2 (σ): single readings cross 25 % about one in ten.
    const hovering = Array.from({ length: 1800 }, () => 22.5 + 2 * noise());
    expect(hovering.filter((v) => v >= 25).length).toBeGreaterThan(100);
    await h.producer.send(TOPICS.sensorReadings, occupancy(LANE, 0, hovering));
    await settle(h.bus);
    expect(h.out.warnings).toEqual([]);

    // A jam pulls it to 32 % for ten minutes, then it eases to 24.5 % — within the 5 % deadband of
    // the line — for five more: one episode, opened within half a minute, never closed and reopened.
    const jam = Array.from({ length: 600 }, () => 32 + 2 * noise());
    const easing = Array.from({ length: 300 }, () => 24.5 + 0.5 * noise());
    await h.producer.send(TOPICS.sensorReadings, occupancy(LANE, 1800, [...jam, ...easing]));
    await settle(h.bus);
    const opened = h.out.warnings.filter((w) => !w.reasons.join('\n').includes('raised from'));
    expect(opened).toHaveLength(1);
    expect(opened[0]).toMatchObject({ kind: 'congestion', source_id: LANE });
    expect(opened[0]!.ts - (T0 + 1800 * 1000)).toBeLessThanOrEqual(30_000);
    expect(h.worker.health().counters['warnings_active']).toBe(1);
  });
});

/** A lane at `from` % for `startS` seconds that then fills to `to` % over `overS`, one noisy reading a second. */
function fillingLane(length: number, from: number, to: number, startS: number, overS: number, noise: () => number): number[] {
  return Array.from({ length }, (_, k) => from + (to - from) * Math.min(1, Math.max(0, (k - startS) / overS)) + noise());
}

describe('recurrent congestion', () => {
  it('a lane filling slowly as at every rush hour crosses its lines without a warning; the lines only set the level of congestion the statistics flag', async () => {
    const h = await start();
    const noise = rng(41);
    const LANE = 'occ-xh-002';
    // Twenty quiet minutes at 15 %, then the evening rush fills the lane to 38 % over an hour (the
    // 35 % yellow line crossed, as it is every day).
    const rush = fillingLane(4800, 15, 38, 1200, 3600, noise);
    await h.producer.send(TOPICS.sensorReadings, occupancy(LANE, 0, rush));
    await settle(h.bus);
    expect(h.out.warnings).toEqual([]);

    // A crash: within seconds the lane jams at 75 % — far from what this hour looks like, so the
    // statistics open an episode, red by its score (and beyond the red line).
    const crash = Array.from({ length: 180 }, () => 75 + noise());
    await h.producer.send(TOPICS.sensorReadings, occupancy(LANE, 4800, crash));
    await settle(h.bus);
    expect(h.out.warnings.length).toBeGreaterThanOrEqual(1);
    expect(h.out.warnings[0]!.kind).toBe('congestion');
    expect(h.out.warnings.at(-1)!.level).toBe('red');
  });
});

describe('severe congestion', () => {
  it('opens a red warning from the red line alone when a lane fills too slowly for the statistics', async () => {
    const h = await start();
    const noise = rng(43);
    const LANE = 'occ-xh-003';
    // 20 quiet minutes at 15 %, then 40 minutes filling to 80 % and holding: no step is unusual.
    const filling = fillingLane(4200, 15, 80, 1200, 2400, noise);
    await h.producer.send(TOPICS.sensorReadings, occupancy(LANE, 0, filling));
    await settle(h.bus);
    expect(h.out.warnings.map((w) => [w.kind, w.level])).toEqual([['congestion', 'red']]);
    expect(h.out.warnings[0]!.reasons.join('\n')).toMatch(/peak 1-min average 7\d(\.\d+)? % ≥ the red line 70 %/);
  });
});

describe('anomaly worker restarts', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cityops-anomaly-state-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  let files = 0;

  /** Stops a harness as a process exit would (its worker writes its last checkpoint). */
  async function stopHarness(h: Harness): Promise<void> {
    running.splice(
      running.findIndex((r) => r.worker === h.worker),
      1,
    );
    await h.worker.stop();
    await h.bus.close();
  }

  it('resumes every series and its open episode from the checkpoint: no warm-up, no second warning for the same condition', async () => {
    const checkpointPath = join(dir, `state-${files++}.bin`);
    const first = await start(
      (b) => b,
      { checkpointPath, checkpointIntervalMs: 0 },
      () => {},
    );
    await first.producer.send(TOPICS.sensorReadings, phaseOne());
    await settle(first.bus);
    expect(first.out.warnings.map((w) => w.level)).toEqual(['blue']);
    // Written between batches while running, not only at stop.
    await until('a checkpoint written while running', () => first.worker.health().counters['checkpoints_written']! >= 1);
    await stopHarness(first);
    expect(readFileSync(checkpointPath).subarray(0, 4).toString()).toBe('CAWC');

    // A new process: a new (empty) in-process bus, the same data directory.
    const lines: string[] = [];
    const second = await start(
      (b) => b,
      { checkpointPath },
      (line) => lines.push(line),
    );
    expect(lines.join('\n')).toMatch(/resumed 1 series and 1 open warning episodes from .*state-0\.bin/);
    await second.producer.send(TOPICS.sensorReadings, phaseTwo());
    await settle(second.bus);
    // The water kept rising: the episode that opened before the restart is raised, with the
    // identity (start, level) it would have had without one, and nothing opens anew.
    expect(second.out.warnings).toHaveLength(1);
    expect(second.out.warnings[0]).toMatchObject({ level: 'orange', id: stableId(SENSOR, T0 + 200 * MINUTE, 'orange') });
    expect(second.out.warnings[0]!.reasons.join('\n')).toMatch(/raised from blue/);
    expect(second.worker.health().counters).toMatchObject({
      series_restored: 1,
      checkpoint_refused: 0,
      points_scored: 3,
      points_warming_up: 0,
      warnings_active: 1,
    });
  });

  it('without a checkpoint the same restart warms up and warns again under a new identity (what the checkpoint prevents)', async () => {
    const first = await start();
    await first.producer.send(TOPICS.sensorReadings, phaseOne());
    await settle(first.bus);
    await stopHarness(first);
    const second = await start();
    await second.producer.send(TOPICS.sensorReadings, phaseTwo());
    await settle(second.bus);
    expect(second.worker.health().counters).toMatchObject({ points_scored: 0, points_warming_up: 3 });
    // Above the 20 cm water line a warming-up series still warns: as a new episode.
    expect(second.out.warnings.map((w) => w.id)).toEqual([stableId(SENSOR, T0 + 204 * MINUTE, 'blue')]);
  });

  it.each([
    [
      'of another detector config',
      (bytes: Buffer) => bytes,
      { type: 'rolling-robust-z', windowSize: 60 },
      /expected a checkpoint of config/,
    ],
    [
      'that is damaged',
      (bytes: Buffer) => {
        const damaged = Buffer.from(bytes);
        damaged[damaged.length - 9]! ^= 0xff;
        return damaged;
      },
      {},
      /CRC-32 .* \(the file is damaged\)/,
    ],
  ])('starts afresh, and says why, from a checkpoint %s', async (_what, alter, detector, reason) => {
    const checkpointPath = join(dir, `state-${files++}.bin`);
    const first = await start(
      (b) => b,
      { checkpointPath },
      () => {},
    );
    await first.producer.send(TOPICS.sensorReadings, phaseOne().slice(0, 100));
    await settle(first.bus);
    await stopHarness(first);
    writeFileSync(checkpointPath, alter(readFileSync(checkpointPath)));

    const lines: string[] = [];
    const second = await start(
      (b) => b,
      { checkpointPath, detector },
      (line) => lines.push(line),
    );
    expect(lines.join('\n')).toMatch(reason);
    expect(second.worker.health()).toMatchObject({ state: 'running', counters: { checkpoint_refused: 1, series_restored: 0, series: 0 } });
    expect(second.worker.health().last_error).toMatch(/every series warms up again/);
    // And it works as a fresh worker does.
    await second.producer.send(TOPICS.sensorReadings, phaseOne());
    await settle(second.bus);
    expect(second.out.warnings.map((w) => w.level)).toEqual(['blue']);
  });
});
