import { describe, expect, it, vi } from 'vitest';
import {
  DEFAULT_PARTITIONS,
  DeadLetter,
  decodeRecords,
  encodeRecord,
  RECORDS_HEADER,
  SENSOR_KIND_INFO,
  SENSOR_KINDS,
  SensorReading,
  entityTimeId,
  readingColumnsOf,
  TOPICS,
  validator,
} from '@cityops/schemas';
import { partitionForKey, type OutgoingMessage, type Producer } from '@cityops/bus';
import { busWithTopics, json, records, recordingProducer } from '../test/bus-helpers.js';
import { IngestError } from './errors.js';
import { ingestReadings, ingestTicks, partitionKey } from './ingest-records.js';

const T0 = 1_767_225_600_000;
const clock = (): number => T0 + 5000;

async function setup() {
  const bus = await busWithTopics();
  const producer = recordingProducer(bus.producer());
  return { bus, producer, ctx: { producer, clock, source: 'test' } };
}

describe('ingestReadings', () => {
  it('fills id, schema_version and unit, and produces every valid reading in one send', async () => {
    const { producer, ctx } = await setup();
    const input = [
      { sensor_id: 's-1', kind: 'water_level', ts: T0, value: 12.5 },
      { sensor_id: 's-2', kind: 'traffic_speed', ts: T0, value: 40, unit: 'km/h', id: 'given-id', schema_version: 1 },
    ];
    const result = await ingestReadings(input, ctx);
    expect(result).toEqual({ accepted: 2, rejected: 0, errors: [] });
    expect(producer.sends).toHaveLength(1);
    const [send] = producer.sends;
    expect(send!.topic).toBe(TOPICS.sensorReadings);
    const sent = records(send!.messages).sort((a, b) => String(a.sensor_id).localeCompare(String(b.sensor_id)));
    expect(sent.map((r) => r.sensor_id)).toEqual(['s-1', 's-2']);
    expect(validator(SensorReading).check(sent[0])).toBe(true);
    expect(sent[0]).toMatchObject({ id: entityTimeId('s-1', T0), schema_version: 1, unit: 'cm' });
    expect(sent[1]!.id).toBe('given-id');
    for (const m of send!.messages) expect(m.timestampMs).toBe(T0);
    // The caller's objects are left as they were.
    expect(input[0]).not.toHaveProperty('id');
  });

  it('gives a re-sent reading the same id, so it dedupes downstream', async () => {
    const { producer, ctx } = await setup();
    const r = { sensor_id: 's-1', kind: 'water_level', ts: T0, value: 1 };
    await ingestReadings([r], ctx);
    await ingestReadings([{ ...r }], ctx);
    const ids = producer.sends.map((s) => records(s.messages)[0]!.id);
    expect(ids[0]).toBe(ids[1]);
  });

  it('keeps the valid records of a mixed batch and dead-letters each bad one with its fields named', async () => {
    const { producer, ctx } = await setup();
    const result = await ingestReadings(
      [
        { sensor_id: 's-1', kind: 'water_level', ts: T0, value: 3 },
        { sensor_id: 's-2', kind: 'water_level', ts: T0, value: 'abc' },
        { sensor_id: 's-3', kind: 'water_level', ts: 1_767_225_600, value: 3 },
        { sensor_id: 's-4', kind: 'water_level', ts: T0, value: 3, unit: 'm' },
        { sensor_id: 's-5', kind: 'power_load', ts: T0, value: 99_999 },
        { kind: 'water_level', ts: T0, value: 3 },
        { sensor_id: 's-7', kind: 'lava_flow', ts: T0, value: 3 },
        42,
      ],
      ctx,
    );
    expect(result.accepted).toBe(1);
    expect(result.rejected).toBe(7);
    const paths = new Map(result.errors.map((e) => [e.index, e.errors.map((f) => f.path)]));
    expect(paths.get(1)).toEqual(['/value']);
    expect(paths.get(2)).toEqual(['/ts']);
    expect(paths.get(3)).toEqual(['/unit']);
    expect(paths.get(4)).toEqual(['/value']);
    // Missing sensor_id: the id cannot be derived, but only the real cause is reported.
    expect(paths.get(5)).toEqual(['/sensor_id']);
    expect(paths.get(6)).toContain('/kind');
    expect(paths.get(6)).not.toContain('/unit');
    expect(paths.get(7)).toEqual(['/']);
    expect(result.errors.find((e) => e.index === 1)!.errors[0]!.message).toMatch(/number.*got "abc"/i);
    expect(result.errors.find((e) => e.index === 4)!.errors[0]!.message).toMatch(/0…5000 MW.*got 99999/);

    const dlq = producer.sends.filter((s) => s.topic === TOPICS.deadLetters);
    expect(dlq).toHaveLength(1);
    expect(dlq[0]!.messages).toHaveLength(7);
    const letters = dlq[0]!.messages.map(json);
    for (const l of letters) expect(validator(DeadLetter).errors(l)).toEqual([]);
    expect(letters[0]).toMatchObject({ source: 'test', key: 's-2', ts: clock() });
    expect(letters[0]!.reason).toMatch(/expected a valid SensorReading; \/value: Expected number/);
    expect(letters[0]!.payload).toBe('{"sensor_id":"s-2","kind":"water_level","ts":1767225600000,"value":"abc"}');
  });

  it('validates market ticks and keys them by indicator', async () => {
    const { producer, ctx } = await setup();
    const result = await ingestTicks(
      [
        { indicator_id: 'ind.cpi', ts: T0, value: 101.2 },
        { indicator_id: 'ind.cpi', ts: T0, value: Number.NaN },
        { indicator_id: 'ind.cpi', ts: T0, value: 1, extra: true },
      ],
      ctx,
    );
    expect(result.accepted).toBe(1);
    expect(result.errors.map((e) => [e.index, e.errors.map((f) => f.path)])).toEqual([
      [1, ['/value']],
      [2, ['/extra']],
    ]);
    const ticks = producer.sends.find((s) => s.topic === TOPICS.marketTicks)!;
    // Ticks travel one per message, keyed by indicator, as outside producers send them.
    expect(ticks.messages).toHaveLength(1);
    expect(ticks.messages[0]!.key).toBe('ind.cpi');
    expect(ticks.messages[0]!.headers?.[RECORDS_HEADER]).toBeUndefined();
    expect(json(ticks.messages[0]!).id).toBe(entityTimeId('ind.cpi', T0));
  });

  it('throws a retriable bus-unavailable error when the bus refuses the batch', async () => {
    const failing: Producer = { send: () => Promise.reject(new Error('broker down')), flush: () => Promise.resolve() };
    const err = await ingestReadings([{ sensor_id: 's', kind: 'water_level', ts: T0, value: 1 }], { producer: failing, clock }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(IngestError);
    expect(err).toMatchObject({ code: 'bus-unavailable', retriable: true });
    expect((err as IngestError).message).toMatch(/broker down/);
  });

  it('encodes every record byte for byte as encodeRecord does (the fast batch encoder is not a second format)', async () => {
    const { producer, ctx } = await setup();
    const values = [0, -0, 12.5, 1e-7, 99.9999999999, 0.1 + 0.2, 7 / 3, 7, 100];
    // Ticks have no physical range: integers around the digit writer's 1e8 split and its limits,
    // both signs, and the doubles past them that String writes.
    const tickValues = [...values, -7, 99_999_999, 100_000_000, 100_000_001, 2 ** 53 - 1, -(2 ** 53) + 1, 2 ** 53, 1e21, -5e-324];
    // With and without unit: the shape most producers send takes ingest's shortcut (checked as
    // it came, written from per-sensor pieces), the other is filled in first.
    const input = SENSOR_KINDS.flatMap((kind, k) =>
      [...values, kind === 'water_level' ? -49.99 : 42].flatMap((value, i) => [
        { sensor_id: `hb.${kind}/${i}:x@y-z_${k}`, kind, ts: T0 + i, value },
        { sensor_id: `hb.${kind}/${i}:x@y-z_${k}.u`, kind, ts: T0 + i, value, unit: SENSOR_KIND_INFO[kind].unit },
        // Before 2001-09-09 epoch milliseconds have 12 digits, not the 13 the prepared lines hold room for.
        { sensor_id: `hb.${kind}/${i}:x@y-z_${k}.old`, kind, ts: 946_684_800_000 + i, value, unit: SENSOR_KIND_INFO[kind].unit },
      ]),
    );
    const ticks = [...tickValues, ...values.map((v) => v * -1e9)].map((value, i) => ({ indicator_id: `ind.${i}`, ts: T0 + i, value }));
    await ingestReadings(input, ctx);
    await ingestTicks(ticks, ctx);
    // Each line of each message, by id: messages group the records by partition.
    const lineById = new Map<string, Buffer>();
    for (const send of producer.sends) {
      for (const m of send.messages) {
        for (const line of Buffer.from(m.value).toString('utf8').split('\n')) {
          lineById.set((JSON.parse(line) as { id: string }).id, Buffer.from(line, 'utf8'));
        }
      }
    }
    expect(lineById.size).toBe(input.length + ticks.length);
    input.forEach((r) => {
      const canonical = {
        id: entityTimeId(r.sensor_id, r.ts),
        schema_version: 1,
        sensor_id: r.sensor_id,
        kind: r.kind,
        ts: r.ts,
        value: r.value,
        unit: SENSOR_KIND_INFO[r.kind].unit,
      };
      expect(lineById.get(canonical.id)?.equals(encodeRecord(canonical)), JSON.stringify(canonical)).toBe(true);
    });
    ticks.forEach((t) => {
      const id = entityTimeId(t.indicator_id, t.ts);
      expect(lineById.get(id)?.equals(encodeRecord({ id, schema_version: 1, ...t }))).toBe(true);
    });
  });

  it('leaves each message\u2019s readings as columns for consumers in this process, standing for exactly its lines', async () => {
    const { producer, ctx } = await setup();
    const long = `s-${'x'.repeat(120)}`;
    const input = [
      ...Array.from({ length: 40 }, (_, i) => ({ sensor_id: `s-${i % 7}`, kind: 'water_level', ts: T0 + i, value: i / 4, unit: 'cm' })),
      { sensor_id: 's-given', kind: 'power_load', ts: T0, value: 400, unit: 'MW', id: 'given-id', schema_version: 1 },
      { sensor_id: 's-no-unit', kind: 'traffic_speed', ts: T0, value: 41.5 },
      // Too long for `<sensor>@<ts>` to fit the id pattern: its id is hashed, on the general path.
      { sensor_id: long, kind: 'water_level', ts: T0, value: 3, unit: 'cm' },
    ];
    expect(await ingestReadings(input, { ...ctx, maxRecordsPerMessage: 4 })).toMatchObject({ accepted: input.length, rejected: 0 });
    let total = 0;
    for (const m of producer.sends[0]!.messages) {
      const columns = readingColumnsOf(m.value);
      expect(columns?.count).toBe(Number(m.headers?.[RECORDS_HEADER]));
      const lines = Buffer.from(m.value)
        .toString('utf8')
        .split('\n')
        .map((l) => JSON.parse(l) as unknown);
      expect(decodeRecords(SensorReading, m.headers ?? {}, m.value).values).toEqual(lines);
      total += columns!.count;
    }
    expect(total).toBe(input.length);
    // One slot per sensor, never another sensor's; -1 where the reading took the general path.
    const slotOf = new Map<string, Set<number>>();
    for (const m of producer.sends[0]!.messages) {
      const c = readingColumnsOf(m.value)!;
      for (let i = c.start; i < c.start + c.count; i++) {
        const slots = slotOf.get(c.sensorIds[i]!) ?? new Set<number>();
        slotOf.set(c.sensorIds[i]!, slots.add(c.slots![i]!));
      }
    }
    expect(slotOf.get('s-given')).toEqual(new Set([-1]));
    const derived = [...slotOf].filter(([id]) => id.startsWith('s-') && id.length < 5).map(([, slots]) => [...slots]);
    expect(derived).toHaveLength(7);
    expect(derived.every((slots) => slots.length === 1 && slots[0]! >= 0)).toBe(true);
    expect(new Set(derived.flat()).size).toBe(7);
    const byId = new Map(records(producer.sends[0]!.messages).map((r) => [r.sensor_id, r.id]));
    expect(byId.get('s-given')).toBe('given-id');
    expect(byId.get('s-no-unit')).toBe(`s-no-unit@${T0}`);
    expect(byId.get(long)).toBe(entityTimeId(long, T0));
    expect(byId.get(long)).not.toContain('@');
  });

  it('lends each batch\u2019s buffer to the bus and writes it again only once every message of the batch is released', async () => {
    const sent: OutgoingMessage[][] = [];
    const holding: Producer = {
      send: (_topic, messages) => {
        sent.push([...messages]);
        return Promise.resolve();
      },
      flush: () => Promise.resolve(),
    };
    const batch = (round: number) =>
      Array.from({ length: 200 }, (_, i) => ({
        sensor_id: `lend-${i}`,
        kind: 'water_level',
        ts: T0 + round * 1000,
        value: i / 10,
        unit: 'cm',
      }));
    const bufferOf = (messages: OutgoingMessage[]) => messages[0]!.value.buffer;
    await ingestReadings(batch(0), { producer: holding, clock });
    const first = sent[0]!;
    expect(first.length).toBeGreaterThan(1);
    expect(first.every((m) => m.value.buffer === bufferOf(first) && typeof m.onReleased === 'function')).toBe(true);
    // All but one released: the next batch gets a buffer of its own.
    for (const m of first.slice(1)) m.onReleased!();
    await ingestReadings(batch(1), { producer: holding, clock });
    expect(bufferOf(sent[1]!)).not.toBe(bufferOf(first));
    // The last one released: the buffer is written again, by the next batch.
    first[0]!.onReleased!();
    await ingestReadings(batch(2), { producer: holding, clock });
    expect(bufferOf(sent[2]!)).toBe(bufferOf(first));
  });

  it('gives consumers exactly what was sent while the buffers behind the messages are reused', async () => {
    const bus = await busWithTopics();
    const lines: string[] = [];
    const consumer = bus.consumer({ groupId: 'test-reuse', topics: [TOPICS.sensorReadings], fromBeginning: true });
    await consumer.run((b) => {
      // A value is valid until the handler resolves: keep a copy.
      for (const m of b.messages) lines.push(...Buffer.from(m.value).toString('utf8').split('\n'));
      return Promise.resolve();
    });
    const input = Array.from({ length: 30 }, (_, round) =>
      Array.from({ length: 300 }, (_, i) => ({
        sensor_id: `reuse-${i}`,
        kind: 'water_level',
        ts: T0 + round * 1000,
        value: (round * 300 + i) / 100,
        unit: 'cm',
      })),
    );
    const producer = recordingProducer(bus.producer());
    for (const round of input) {
      await ingestReadings(round, { producer, clock });
      // Time for the consumer to commit, so the bus hands the batch's buffer back.
      await new Promise((r) => setTimeout(r, 2));
    }
    await vi.waitFor(() => expect(lines).toHaveLength(30 * 300), { timeout: 5000 });
    // The buffers were reused: far fewer than one per batch.
    expect(new Set(producer.sends.map((send) => send.messages[0]!.value.buffer)).size).toBeLessThan(10);
    const got = new Map(lines.map((l) => JSON.parse(l) as { id: string; value: number }).map((r) => [r.id, r.value]));
    for (const round of input) for (const r of round) expect(got.get(`${r.sensor_id}@${r.ts}`)).toBe(r.value);
    await consumer.stop();
    await bus.close();
  });

  it('packs the readings of each partition into messages of at most maxRecordsPerMessage, keyed to land on that partition, in order per sensor', async () => {
    const { producer, ctx } = await setup();
    const partitions = DEFAULT_PARTITIONS[TOPICS.sensorReadings];
    const input = Array.from({ length: 300 }, (_, i) => ({
      sensor_id: `s-${i % 30}`,
      kind: 'water_level',
      ts: T0 + Math.floor(i / 30) * 1000,
      value: i,
    }));
    await ingestReadings(input, { ...ctx, maxRecordsPerMessage: 16 });
    const [send] = producer.sends;
    const lastTs = new Map<string, number>();
    let total = 0;
    for (const m of send!.messages) {
      const decoded = decodeRecords(SensorReading, m.headers ?? {}, m.value);
      expect(decoded.failures).toEqual([]);
      expect(decoded.values.length).toBeLessThanOrEqual(16);
      expect(m.headers?.[RECORDS_HEADER]).toBe(String(decoded.values.length));
      const partition = partitionForKey(m.key, partitions);
      expect(m.key).toBe(partitionKey(TOPICS.sensorReadings, partition, partitions));
      for (const r of decoded.values) {
        expect(partitionForKey(r.sensor_id, partitions)).toBe(partition);
        // Messages of one partition keep the input order, so each sensor's readings stay in time order.
        expect(r.ts).toBeGreaterThan(lastTs.get(r.sensor_id) ?? 0);
        lastTs.set(r.sensor_id, r.ts);
      }
      total += decoded.values.length;
    }
    expect(total).toBe(300);
    // In this process the consumers take the checked records without parsing them again.
    const m = send!.messages[0]!;
    expect(decodeRecords(SensorReading, m.headers ?? {}, m.value)).toBe(decodeRecords(SensorReading, m.headers ?? {}, m.value));
  });

  it('does not send anything for an empty batch', async () => {
    const { producer, ctx } = await setup();
    expect(await ingestReadings([], ctx)).toEqual({ accepted: 0, rejected: 0, errors: [] });
    expect(producer.sends).toHaveLength(0);
  });
});
