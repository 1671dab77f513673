import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createInProcessBus } from '@cityops/bus';
import { TOPICS, encodeRecord } from '@cityops/schemas';
import { PackedReadingsDecoder, type PackedReadings } from '../app/_lib/packed-readings.js';
import { LiveHub, type LiveSink } from '../src/live-hub.js';
import type { LiveHello } from '../src/live-protocol.js';
import { SENSORS, reading } from './fixtures/demo-city.js';

/*
 * The wall's packed readings (`GET /api/stream?readings=packed`) from the live hub to the page's
 * decoder: slots announced once, values and times exact, JSON clients unchanged beside packed
 * ones, and a wall whose socket is still full skipping seconds and then getting every sensor's
 * newest value instead of being dropped.
 */

/** A client whose unsent bytes the test sets; it keeps what was written as text. */
class TestSink implements LiveSink {
  writableLength = 0;
  destroyed = false;
  private readonly chunks: string[] = [];
  write(chunk: string): boolean {
    this.chunks.push(chunk);
    return true;
  }
  end(): void {}
  destroy(): void {
    this.destroyed = true;
  }
  once(): void {}
  /** Every event so far as [name, data]. */
  events(): [string, string][] {
    return this.chunks
      .join('')
      .split('\n\n')
      .filter((block) => block.startsWith('event: '))
      .map((block) => {
        const lines = block.split('\n');
        const name = (lines[0] ?? '').slice('event: '.length);
        return [
          name,
          lines
            .slice(1)
            .map((l) => l.slice('data: '.length))
            .join('\n'),
        ];
      });
  }
  packed(): PackedReadings[] {
    const decoder = new PackedReadingsDecoder();
    return this.events()
      .filter(([name]) => name === 'readings-packed')
      .map(([, data]) => {
        // The decoder reuses its buffer: copy what each event decoded to.
        const r = decoder.decode(data);
        return { header: r.header, values: r.values.slice(), readingTs: r.readingTs.slice(), slots: r.slots.slice() };
      });
  }
}

const bus = createInProcessBus();
let hub: LiveHub | undefined;
const [s0, s1] = SENSORS as [(typeof SENSORS)[number], (typeof SENSORS)[number]];

async function send(...readings: ReturnType<typeof reading>[]): Promise<void> {
  await bus.producer().send(
    TOPICS.sensorReadings,
    readings.map((r) => ({ key: r.sensor_id, value: encodeRecord(r) })),
  );
}

function startHub(groupId: string, maxClientBufferBytes = 1 << 20): Promise<LiveHub> {
  const h = new LiveHub({
    bus,
    clock: Date.now,
    liveIntervalMs: 20,
    heartbeatIntervalMs: 60_000,
    groupId,
    maxClients: 10,
    maxClientBufferBytes,
  });
  hub = h;
  return h.start().then(() => h);
}

afterEach(async () => {
  await hub?.stop();
});
afterAll(async () => {
  await bus.close();
});

describe('packed readings', () => {
  it('name sensors by slot, announce each slot once, and decode to the exact values and times', async () => {
    const h = await startHub('packed-slots');
    const packed = new TestSink();
    const json = new TestSink();
    h.addClient(packed, undefined, 'packed');
    h.addClient(json);
    const t = Date.now();
    await send(reading(s0, t, 12.345678901), reading(s1, t + 1, -0.5));
    await expect.poll(() => packed.packed().length).toBe(1);
    const [first] = packed.packed();
    expect(first?.header.first_new_slot).toBe(0);
    expect(first?.header.new_sensor_ids).toEqual([s0.id, s1.id]);
    expect([...(first?.slots ?? [])]).toEqual([0, 1]);
    expect([...(first?.values ?? [])]).toEqual([12.345678901, -0.5]);
    expect([...(first?.readingTs ?? [])]).toEqual([t, t + 1]);
    // The JSON client beside it still gets the parallel arrays.
    await expect.poll(() => json.events().filter(([name]) => name === 'readings').length).toBe(1);

    await send(reading(s1, t + 1000, 7));
    await expect.poll(() => packed.packed().length).toBe(2);
    const second = packed.packed()[1];
    expect(second?.header).toMatchObject({ first_new_slot: 2, new_sensor_ids: [], count: 1 });
    expect([...(second?.slots ?? [])]).toEqual([1]);

    // A client connecting now learns every slot from its hello.
    const late = new TestSink();
    h.addClient(late, undefined, 'packed');
    const hello = JSON.parse(late.events().find(([name]) => name === 'hello')?.[1] ?? '{}') as LiveHello;
    expect(hello.sensor_slots).toEqual([s0.id, s1.id]);
  });

  it('skip a wall whose socket is still full, then send it every sensor’s newest value with the slots it missed', async () => {
    const h = await startHub('packed-conflate', 40_000);
    const wall = new TestSink();
    h.addClient(wall, undefined, 'packed');
    const t = Date.now();
    await send(reading(s0, t, 1));
    await expect.poll(() => wall.packed().length).toBe(1);

    wall.writableLength = 20_000; // above a quarter of maxClientBufferBytes: last second's block has not left
    await send(reading(s1, t + 1000, 2)); // slot 1 is assigned while the wall is behind
    await expect.poll(() => h.health().counters.readings_events_conflated ?? 0).toBeGreaterThan(0);
    await send(reading(s0, t + 2000, 3));
    await expect.poll(() => h.health().counters.readings_events_conflated ?? 0).toBeGreaterThan(1);
    expect(wall.packed()).toHaveLength(1);

    wall.writableLength = 0;
    await send(reading(s0, t + 3000, 4));
    await expect.poll(() => wall.packed().length).toBe(2);
    const caughtUp = wall.packed()[1];
    expect(caughtUp?.header).toMatchObject({ first_new_slot: 1, new_sensor_ids: [s1.id], count: 2 });
    expect([...(caughtUp?.slots ?? [])]).toEqual([0, 1]);
    expect([...(caughtUp?.values ?? [])]).toEqual([4, 2]);
    expect(wall.destroyed).toBe(false);
    expect(h.health().counters.sse_clients_dropped_slow).toBe(0);
  });
});
