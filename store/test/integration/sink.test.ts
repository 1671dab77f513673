import { createInProcessBus, type Bus, type OutgoingMessage } from '@cityops/bus';
import {
  encodeDimension,
  encodeRecord,
  encodeSnapshot,
  recordBatchHeaders,
  rememberReadingColumns,
  SCHEMA_HEADER,
  TOPICS,
  type ReadingColumns,
  type RunningWorker,
} from '@cityops/schemas';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { openEmbeddedStore } from '../../src/chdb-store.js';
import { StoreError } from '../../src/errors.js';
import { SINK_TOPICS, startSink } from '../../src/sink.js';
import type { Store } from '../../src/store.js';
import { readingsSeries, SAMPLES, T0, tempDataDir } from '../fixtures.js';

const data = tempDataDir('sink');
const encoder = new TextEncoder();
const decoder = new TextDecoder();
let store: Store;
let bus: Bus;
let sink: RunningWorker;

beforeAll(async () => {
  store = await openEmbeddedStore({ dataDir: data.dir });
  await store.migrate();
  bus = createInProcessBus({ retryDelayMs: 10 });
  sink = await startSink({ bus, store, writer: { flushIntervalMs: 10 } });
});
afterAll(async () => {
  await sink.stop();
  await bus.close();
  await store.close();
  data.remove();
});

const asMessage = (record: { id: string }, key: string): OutgoingMessage => ({ key, value: encodeRecord(record) });

async function eventually(check: () => Promise<void>): Promise<void> {
  await vi.waitFor(check, { timeout: 20_000, interval: 50 });
}

describe('sink: bus → ClickHouse', () => {
  const readings = [...readingsSeries('s-a', 600, T0), ...readingsSeries('s-b', 600, T0)];

  it('stores every valid record in its table and dead-letters the malformed ones with their reason', async () => {
    const producer = bus.producer();
    await producer.send(TOPICS.sensorReadings, [
      ...readings.map((r) => asMessage(r, r.sensor_id)),
      { key: 's-bad', value: encoder.encode('{not json') },
      { key: 's-bad', value: encodeRecord({ ...SAMPLES.readings, id: 'bad-shape', value: 'high' }) },
    ]);
    await producer.send(TOPICS.dimensions, [
      encodeDimension({ name: 'Area', record: SAMPLES.areas }),
      encodeDimension({ name: 'Sensor', record: SAMPLES.sensors }),
      // Two versions of one department in one batch: the last one wins.
      encodeDimension({ name: 'Department', record: { ...SAMPLES.departments, name_en: 'old name' } }),
      encodeDimension({ name: 'Department', record: SAMPLES.departments }),
      { key: 'Bogus:1', value: encodeRecord({ id: '1' }), headers: { [SCHEMA_HEADER]: 'Bogus@1' } },
    ]);
    await producer.send(TOPICS.incidents, [asMessage(SAMPLES.incidents, SAMPLES.incidents.id)]);
    await producer.send(TOPICS.warnings, [asMessage(SAMPLES.warnings, SAMPLES.warnings.area_id)]);
    await producer.send(TOPICS.deadLetters, [
      asMessage(SAMPLES.dead_letters, SAMPLES.dead_letters.key),
      { key: 'weird', value: encoder.encode('{"reason":"no id"}') },
    ]);

    await eventually(async () => {
      const counts = await store.queries.tableCounts();
      expect(counts.readings).toBe(readings.length);
      // 1 sample dead letter + 3 rejected by the sink (bad JSON, bad shape, unknown dimension) + 1 malformed one.
      expect(counts.dead_letters).toBe(5);
    });
    const counts = await store.queries.tableCounts();
    expect(counts).toMatchObject({ areas: 1, sensors: 1, departments: 1, incidents: 1, warnings: 1 });
    expect(await store.queries.departments()).toEqual([SAMPLES.departments]);
    expect(await store.queries.incidents({ limit: 1 })).toEqual([SAMPLES.incidents]);

    const dead = await store.queries.deadLetters({ limit: 10 });
    const bySource = (source: string) => dead.filter((d) => d.source === source && d.id !== SAMPLES.dead_letters.id);
    const readingRejects = bySource(TOPICS.sensorReadings);
    expect(readingRejects.map((d) => d.reason).sort()).toEqual([
      expect.stringMatching(/^expected JSON; /),
      expect.stringMatching(/^not a valid SensorReading: \/value /),
    ]);
    expect(readingRejects.find((d) => d.reason.startsWith('not a valid'))?.errors).toContainEqual({
      path: '/value',
      message: expect.stringContaining('got "high"') as string,
    });
    expect(readingRejects.every((d) => d.key === 's-bad')).toBe(true);
    expect(bySource(TOPICS.dimensions)[0]).toMatchObject({
      reason: expect.stringMatching(
        /header naming one of Area, Sensor, Camera, Indicator, Department, Retirement; got 'Bogus@1'/,
      ) as string,
      payload: '{"id":"1"}',
    });
    expect(bySource(TOPICS.deadLetters)[0]).toMatchObject({
      key: 'weird',
      reason: expect.stringMatching(/^malformed dead letter: not a valid DeadLetter/) as string,
    });
    expect(dead).toContainEqual(SAMPLES.dead_letters);
  });

  it('reports health: processed, dead-lettered, rows per table', async () => {
    await eventually(() => {
      const h = sink.health();
      expect(h).toMatchObject({ name: 'sink', state: 'running', lag: 0, last_error: '' });
      // 1_202 readings + 5 dimension messages + 1 incident + 1 warning + 2 from the dlq + 3 re-read dead letters.
      expect(h.processed).toBe(readings.length + 2 + 5 + 1 + 1 + 2 + 3);
      expect(h.dead_lettered).toBe(4);
      expect(h.counters).toMatchObject({ rows_written_readings: readings.length, rows_written_incidents: 1, insert_retries: 0 });
      return Promise.resolve();
    });
  });

  it('a redelivered stream (at-least-once) leaves no duplicates', async () => {
    const producer = bus.producer();
    await producer.send(
      TOPICS.sensorReadings,
      readings.slice(0, 700).map((r) => asMessage(r, r.sensor_id)),
    );
    await eventually(() => {
      expect(sink.health().counters['rows_written_readings']).toBe(readings.length + 700);
      return Promise.resolve();
    });
    expect((await store.queries.tableCounts()).readings).toBe(readings.length);
  });

  it('commits a bus batch only after its rows are inserted: a failed insert is delivered again', async () => {
    // A second sink on its own bus, whose store refuses the first two inserts of readings.
    const flakyBus = createInProcessBus({ retryDelayMs: 10, onError: () => undefined });
    let refusals = 2;
    // Readings reach the store as their messages' JSON (insertJson).
    const flakyStore: Store = {
      ...store,
      insertJson: (table, records, options) => {
        if (table === 'readings' && refusals > 0) {
          refusals -= 1;
          return Promise.reject(new StoreError('insert_failed', 'disk full', { retriable: false }));
        }
        return store.insertJson(table, records, options);
      },
    };
    const flakySink = await startSink({ bus: flakyBus, store: flakyStore, name: 'flaky-sink', writer: { flushIntervalMs: 0 } });
    try {
      const rows = readingsSeries('s-flaky', 50, T0);
      await flakyBus.producer().send(
        TOPICS.sensorReadings,
        rows.map((r) => asMessage(r, 'one-key')),
      );
      await eventually(async () => {
        const [row] = await store.query<{ n: number }>("SELECT count() AS n FROM readings FINAL WHERE sensor_id = 's-flaky'");
        expect(Number(row?.n)).toBe(50);
        expect(flakySink.health()).toMatchObject({ lag: 0, processed: 50, last_error: expect.stringContaining('disk full') as string });
      });
      expect(flakySink.health().counters['insert_failed_batches']).toBe(2);
    } finally {
      await flakySink.stop();
      await flakyBus.close();
    }
  });

  it('isolates a record ClickHouse refuses, dead-letters it with the reason and stores the rest', async () => {
    const poisonBus = createInProcessBus({ retryDelayMs: 10, onError: () => undefined });
    const refused = () => Promise.reject(new StoreError('insert_failed', 'Code: 27. Cannot parse input', { clickhouseCode: 27 }));
    // The batch goes in as JSON first; the isolation then writes decoded rows (insert).
    const pickyStore: Store = {
      ...store,
      insertJson: (table, records, options) =>
        records.some((r) => decoder.decode(r).includes('"s-poison:poison"')) ? refused() : store.insertJson(table, records, options),
      insert: (table, rows, options) =>
        rows.some((r) => (r as { id: string }).id === 's-poison:poison') ? refused() : store.insert(table, rows, options),
    };
    const poisonSink = await startSink({ bus: poisonBus, store: pickyStore, name: 'poison-sink', writer: { flushIntervalMs: 0 } });
    try {
      const rows = [...readingsSeries('s-poison', 20, T0), { ...readingsSeries('s-poison', 1, T0)[0]!, id: 's-poison:poison', ts: T0 - 1 }];
      await poisonBus.producer().send(
        TOPICS.sensorReadings,
        rows.map((r) => asMessage(r, 'one-key')),
      );
      await eventually(async () => {
        const [n] = await store.query<{ n: number }>("SELECT count() AS n FROM readings FINAL WHERE sensor_id = 's-poison'");
        expect(Number(n?.n)).toBe(20);
        const dead = await store.query<{ reason: string; payload: string }>(
          "SELECT reason, payload FROM dead_letters FINAL WHERE key = 'one-key' AND reason LIKE 'rejected by ClickHouse%'",
        );
        expect(dead).toHaveLength(1);
        expect(dead[0]?.reason).toMatch(/^rejected by ClickHouse for table readings: .*Cannot parse input/);
        expect(JSON.parse(dead[0]!.payload)).toMatchObject({ id: 's-poison:poison' });
        // 21 readings, plus the dead letter it published, read back from the dlq topic and stored.
        expect(poisonSink.health()).toMatchObject({ processed: 22, dead_lettered: 1, lag: 0 });
      });
    } finally {
      await poisonSink.stop();
      await poisonBus.close();
    }
  });

  it('stores a camera snapshot beside its header and reads the same PNG bytes back', async () => {
    const png = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 255, 1, 254, 10, 13]);
    const header = {
      id: 'snap-sink-1',
      schema_version: 1 as const,
      camera_id: 'cam-1',
      ts: T0 + 3_000,
      warning_id: 'w-1',
      width: 64,
      height: 64,
      format: 'png' as const,
      masked: true,
      model_version: 'yolox@1',
    };
    const message = encodeSnapshot(header, png);
    await bus.producer().send(TOPICS.visionSnapshots, [{ key: 'cam-1', value: message.value, headers: message.headers }]);
    await eventually(async () => {
      const stored = await store.queries.snapshot('snap-sink-1');
      expect(stored?.header).toEqual(header);
      expect(Buffer.from(stored!.png).equals(Buffer.from(png))).toBe(true);
    });
    expect(await store.queries.snapshot('no-such-snapshot')).toBeUndefined();
  });

  it('stores a batch message of many readings as it is, and dead-letters only its bad lines, each with its reason', async () => {
    const batchBus = createInProcessBus({ retryDelayMs: 10, onError: () => undefined });
    const batchSink = await startSink({ bus: batchBus, store, name: 'batch-sink', writer: { flushIntervalMs: 0 } });
    try {
      const rows = readingsSeries('s-batch', 5, T0);
      const lines = [
        ...rows.slice(0, 2).map((r) => JSON.stringify(r)),
        '{"sensor_id": "s-batch"',
        ...rows.slice(2).map((r) => JSON.stringify(r)),
      ];
      const whole = readingsSeries('s-batch-whole', 300, T0);
      await batchBus.producer().send(TOPICS.sensorReadings, [
        { key: 'batch', value: encoder.encode(lines.join('\n')), headers: recordBatchHeaders('SensorReading', lines.length) },
        {
          key: 'batch',
          value: encoder.encode(whole.map((r) => JSON.stringify(r)).join('\n')),
          headers: recordBatchHeaders('SensorReading', 300),
        },
      ]);
      await eventually(async () => {
        const counts = await store.query<{ sensor_id: string; n: number }>(
          "SELECT sensor_id, count() AS n FROM readings FINAL WHERE sensor_id IN ('s-batch', 's-batch-whole') GROUP BY sensor_id ORDER BY sensor_id",
        );
        expect(counts.map((c) => [c.sensor_id, Number(c.n)])).toEqual([
          ['s-batch', 5],
          ['s-batch-whole', 300],
        ]);
        const dead = await store.query<{ reason: string; payload: string }>(
          "SELECT reason, payload FROM dead_letters FINAL WHERE key = 'batch' AND source = 'sensor.readings'",
        );
        expect(dead).toEqual([{ reason: expect.stringMatching(/^expected JSON/) as string, payload: '{"sensor_id": "s-batch"' }]);
        // Two messages, the dead letter read back from the dlq topic; records are counted in rows.
        expect(batchSink.health()).toMatchObject({ processed: 3, dead_lettered: 1, lag: 0 });
        expect(batchSink.health().counters['rows_written_readings']).toBe(305);
      });
    } finally {
      await batchSink.stop();
      await batchBus.close();
    }
  });

  it('stores a record its contract accepts but ClickHouse reads differently as JSON, through the isolation', async () => {
    // `1.0`, `1.7…e12` and a lone surrogate escape are valid JSON and pass the contract, but
    // ClickHouse's JSON reader refuses them (codes 27 and 25); the isolation writes the decoded
    // records as TSV instead, so nothing is dead-lettered. Real engine, no mocks.
    const spelledBus = createInProcessBus({ retryDelayMs: 10, onError: () => undefined });
    const spelledSink = await startSink({ bus: spelledBus, store, name: 'spelled-sink', writer: { flushIntervalMs: 0 } });
    try {
      const ts = T0 + 7_000;
      const digits = String(ts); // 13 digits: 1.xxxxxxxxxxxxe12 is ts exactly
      const raw = [
        `{"id":"s-spelled:1","schema_version":1.0,"sensor_id":"s-spelled","kind":"water_level","ts":${digits[0]}.${digits.slice(1)}e12,"value":1,"unit":"cm"}`,
        `{"id":"s-spelled:2","schema_version":1,"sensor_id":"s-spelled","kind":"water_level","ts":${ts + 1},"value":2,"unit":"c\ud800"}`,
        `{"id":"s-spelled:3","schema_version":1,"sensor_id":"s-spelled","kind":"water_level","ts":${ts + 2},"value":3,"unit":"cm"}`,
      ];
      await spelledBus.producer().send(
        TOPICS.sensorReadings,
        raw.map((text) => ({ key: 's-spelled', value: encoder.encode(text) })),
      );
      await eventually(async () => {
        const rows = await store.query<{ id: string; ms: number | string }>(
          "SELECT id, toUnixTimestamp64Milli(ts) AS ms FROM readings FINAL WHERE sensor_id = 's-spelled' ORDER BY id",
        );
        expect(rows.map((r) => [r.id, Number(r.ms)])).toEqual([
          ['s-spelled:1', ts],
          ['s-spelled:2', ts + 1],
          ['s-spelled:3', ts + 2],
        ]);
        expect(spelledSink.health()).toMatchObject({ processed: 3, dead_lettered: 0, lag: 0, last_error: '' });
      });
    } finally {
      await spelledSink.stop();
      await spelledBus.close();
    }
  });

  it('takes the row count of readings checked in this process from their columns, and builds their records only to isolate one ClickHouse refuses', async () => {
    const columnsBus = createInProcessBus({ retryDelayMs: 10, onError: () => undefined });
    const columnsSink = await startSink({ bus: columnsBus, store, name: 'columns-sink', writer: { flushIntervalMs: 0 } });
    try {
      const ts = T0 + 9_000;
      const columns = (ids: string[], values: number[]): ReadingColumns => ({
        start: 0,
        count: ids.length,
        sensorIds: ids.map(() => 's-columns'),
        kinds: ids.map(() => 'water_level' as const),
        ts: ids.map((_, i) => ts + i),
        values,
        units: ids.map(() => 'cm'),
        ids,
      });
      const line = (id: string, i: number, value: number, version = '1') =>
        `{"id":"${id}","schema_version":${version},"sensor_id":"s-columns","kind":"water_level","ts":${ts + i},"value":${value},"unit":"cm"}`;
      // Clean bytes go to ClickHouse as they are. In the second message, `1.0` makes ClickHouse's
      // JSON reader refuse the insert: the isolation then needs records, built from the columns.
      const clean = encoder.encode([line('s-columns:1', 0, 1), line('s-columns:2', 1, 2)].join('\n'));
      rememberReadingColumns(clean, columns(['s-columns:1', 's-columns:2'], [1, 2]));
      const spelled = encoder.encode(line('s-columns:3', 0, 3, '1.0'));
      rememberReadingColumns(spelled, columns(['s-columns:3'], [3]));
      await columnsBus
        .producer()
        .send(TOPICS.sensorReadings, [{ key: 's-columns', value: clean, headers: recordBatchHeaders('SensorReading', 2) }]);
      await eventually(() => {
        expect(columnsSink.health().counters['rows_written_readings']).toBe(2);
        return Promise.resolve();
      });
      await columnsBus
        .producer()
        .send(TOPICS.sensorReadings, [{ key: 's-columns', value: spelled, headers: recordBatchHeaders('SensorReading', 1) }]);
      await eventually(async () => {
        const rows = await store.query<{ id: string; value: number }>(
          "SELECT id, value FROM readings FINAL WHERE sensor_id = 's-columns' ORDER BY id",
        );
        expect(rows.map((r) => [r.id, Number(r.value)])).toEqual([
          ['s-columns:1', 1],
          ['s-columns:2', 2],
          ['s-columns:3', 3],
        ]);
        expect(columnsSink.health()).toMatchObject({ processed: 2, dead_lettered: 0, lag: 0, last_error: '' });
      });
    } finally {
      await columnsSink.stop();
      await columnsBus.close();
    }
  });

  it('does not subscribe to raw camera frames', async () => {
    expect(SINK_TOPICS).not.toContain(TOPICS.cameraFrames);
    const before = sink.health().processed;
    await bus.ensureTopics([{ name: TOPICS.cameraFrames, partitions: 1 }]);
    await bus.producer().send(TOPICS.cameraFrames, [{ key: 'cam-1', value: new Uint8Array(12) }]);
    await new Promise((r) => setTimeout(r, 100));
    expect(sink.health().processed).toBe(before);
  });
});
