import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DeadLetter, decodeDimension, GroundTruthEvent, MarketTick, SensorReading, TOPICS, validator } from '@cityops/schemas';
import type { OutgoingMessage, Producer } from '@cityops/bus';
import { json, records } from '../../test/bus-helpers.js';
import { createDemoCity } from './city.js';
import { runSimulator } from './run-simulator.js';

/** Monday 2026-01-05 08:00 CST. */
const T0 = Date.UTC(2026, 0, 5, 0, 0);
const city = createDemoCity();

interface Send {
  topic: string;
  messages: readonly OutgoingMessage[];
}

/** Records sends; can refuse the first `failFirst` of them like a bus that is down. */
function captureProducer(failFirst = 0): Producer & { sends: Send[] } {
  const sends: Send[] = [];
  let failures = failFirst;
  return {
    sends,
    send(topic, messages) {
      if (failures > 0) {
        failures--;
        return Promise.reject(new Error('bus unavailable'));
      }
      sends.push({ topic, messages });
      return Promise.resolve();
    },
    flush: () => Promise.resolve(),
  };
}

beforeEach(() => {
  vi.useFakeTimers({ now: T0, toFake: ['setTimeout', 'clearTimeout', 'Date'] });
});
afterEach(() => {
  vi.useRealTimers();
});

const topicSends = (sends: Send[], topic: string): Send[] => sends.filter((s) => s.topic === topic);

describe('runSimulator', () => {
  it('publishes the dimensions, then a reading per sensor each interval in one send, ticks, and ground truth', async () => {
    const producer = captureProducer();
    const sim = runSimulator({ producer, clock: () => Date.now(), speedup: 10 });
    await vi.advanceTimersByTimeAsync(12_000); // 120 s simulated
    await sim.stop();

    expect(producer.sends[0]!.topic).toBe(TOPICS.dimensions);
    const dims = producer.sends[0]!.messages.map((m) => decodeDimension(m.headers ?? {}, m.value));
    expect(dims.every((d) => d.ok)).toBe(true);
    expect(dims).toHaveLength(
      city.areas.length + city.sensors.length + city.cameras.length + city.indicators.length + city.departments.length,
    );

    const rounds = topicSends(producer.sends, TOPICS.sensorReadings);
    expect(rounds.length).toBeGreaterThanOrEqual(119);
    expect(rounds.length).toBeLessThanOrEqual(121);
    for (const r of rounds) expect(records(r.messages)).toHaveLength(city.sensors.length);
    const tsOf = (s: Send): unknown => records(s.messages)[0]!.ts;
    expect(rounds.map(tsOf)).toEqual(rounds.map((_, i) => T0 + i * 1000)); // no gaps, no repeats
    for (const r of records(rounds[0]!.messages)) expect(validator(SensorReading).errors(r)).toEqual([]);

    const ticks = topicSends(producer.sends, TOPICS.marketTicks);
    expect(ticks.length).toBeGreaterThanOrEqual(24);
    expect(validator(MarketTick).errors(records(ticks[0]!.messages)[0])).toEqual([]);

    const truth = topicSends(producer.sends, TOPICS.groundTruth).flatMap((s) => s.messages.map(json));
    expect(truth.length).toBeGreaterThanOrEqual(1);
    for (const t of truth) expect(validator(GroundTruthEvent).errors(t)).toEqual([]);
    expect((truth[0]!.start_ts as number) - T0).toBeLessThanOrEqual(60_000);
    // The label goes out before the first reading it explains.
    const labelAt = producer.sends.findIndex((s) => s.topic === TOPICS.groundTruth);
    const firstAffected = producer.sends.findIndex(
      (s) => s.topic === TOPICS.sensorReadings && (tsOf(s) as number) >= (truth[0]!.start_ts as number),
    );
    expect(labelAt).toBeLessThan(firstAffected);

    expect(sim.health()).toMatchObject({ name: 'simulator', state: 'stopped', dead_lettered: 0 });
    expect(sim.health().counters.incidents_injected).toBe(truth.length);
  });

  it('sends nothing more once stopped', async () => {
    const producer = captureProducer();
    const sim = runSimulator({ producer, clock: () => Date.now(), publishDimensions: false });
    await vi.advanceTimersByTimeAsync(3_000);
    await sim.stop();
    const count = producer.sends.length;
    await vi.advanceTimersByTimeAsync(10_000);
    expect(producer.sends.length).toBe(count);
  });

  it('sends a share of malformed readings that the ingest edge dead-letters', async () => {
    const producer = captureProducer();
    const sim = runSimulator({ producer, clock: () => Date.now(), malformedShare: 0.02, publishDimensions: false, incidentEveryMs: 0 });
    await vi.advanceTimersByTimeAsync(10_000);
    await sim.stop();
    const letters = topicSends(producer.sends, TOPICS.deadLetters).flatMap((s) => s.messages.map(json));
    expect(letters.length).toBeGreaterThan(0);
    for (const l of letters) expect(validator(DeadLetter).errors(l)).toEqual([]);
    expect(letters.every((l) => l.source === 'simulator')).toBe(true);
    const h = sim.health();
    expect(h.dead_lettered).toBe(letters.length);
    expect(h.counters.malformed_sent).toBe(letters.length);
    const rounds = topicSends(producer.sends, TOPICS.sensorReadings);
    expect(h.counters.readings_sent).toBe(rounds.reduce((n, s) => n + records(s.messages).length, 0));
    expect(h.counters.readings_sent! + letters.length).toBe(rounds.length * city.sensors.length); // nothing lost
  });

  it('retries a round the bus refused, with the same values, instead of skipping it', async () => {
    const producer = captureProducer(3);
    const sim = runSimulator({ producer, clock: () => Date.now(), publishDimensions: false, incidentEveryMs: 0, retryDelayMs: 500 });
    await vi.advanceTimersByTimeAsync(6_000);
    await sim.stop();
    const h = sim.health();
    expect(h.counters.send_errors).toBe(3);
    expect(h.last_error).toMatch(/bus unavailable/);
    const rounds = topicSends(producer.sends, TOPICS.sensorReadings);
    expect(rounds.map((s) => records(s.messages)[0]!.ts)).toEqual(rounds.map((_, i) => T0 + i * 1000));
  });

  it('plays simulated time faster than the wall clock with speedup', async () => {
    const producer = captureProducer();
    const sim = runSimulator({
      producer,
      clock: () => Date.now(),
      speedup: 60,
      publishDimensions: false,
      incidentEveryMs: 0,
      readingIntervalMs: 60_000,
      tickIntervalMs: 60_000,
    });
    await vi.advanceTimersByTimeAsync(60_000); // one wall minute = one simulated hour
    await sim.stop();
    expect(topicSends(producer.sends, TOPICS.sensorReadings).length).toBe(61);
    expect(sim.simulatedNow() - T0).toBe(3_600_000);
  });

  it('rejects options it cannot run with', () => {
    const producer = captureProducer();
    expect(() => runSimulator({ producer, clock: () => Date.now(), speedup: 0 })).toThrow(/speedup to be a positive number; got 0/);
    expect(() => runSimulator({ producer, clock: () => Date.now(), malformedShare: 2 })).toThrow(/malformedShare in 0…0.5; got 2/);
  });
});
