import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { DeadLetter, MarketTick, SensorReading, TOPICS, validator } from '@cityops/schemas';
import type { Bus, Producer } from '@cityops/bus';
import { createIngestHandler, type IngestHandlerOptions } from '../../src/index.js';
import { busWithTopics, json, readTopic, records, recordingProducer, type RecordedSend } from '../bus-helpers.js';

const T0 = 1_767_225_600_000;
const KEY = 'test-key-0123456789';

interface Harness {
  bus: Bus;
  sends: RecordedSend[];
  port: number;
}

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function start(overrides: Partial<IngestHandlerOptions> = {}, producerOverride?: Producer): Promise<Harness> {
  const bus = await busWithTopics();
  const producer = recordingProducer(producerOverride ?? bus.producer());
  const handler = createIngestHandler({ producer, apiKeys: [KEY], clock: () => T0 + 1, onError: () => {}, ...overrides });
  const server = createServer((req, res) => {
    void handler(req, res).then((handled) => {
      if (!handled) {
        res.statusCode = 404;
        res.end();
      }
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { bus, sends: producer.sends, port: (server.address() as AddressInfo).port };
}

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Record<string, unknown>;
}

function post(port: number, path: string, body: string | Buffer, headers: Record<string, string> = {}, method = 'POST'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const chunked = headers['transfer-encoding'] === 'chunked';
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method,
        headers: {
          'x-api-key': KEY,
          'content-type': 'application/json',
          ...(chunked ? {} : { 'content-length': String(Buffer.byteLength(body)) }),
          ...headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>),
          });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const reading = (sensor: string, value: unknown, extra: Record<string, unknown> = {}) => ({
  sensor_id: sensor,
  kind: 'water_level',
  ts: T0,
  value,
  ...extra,
});

describe('POST /api/ingest/readings', () => {
  it('accepts a good batch with 202 and puts every reading on the bus in one send', async () => {
    const h = await start();
    const batch = [reading('s-1', 10), reading('s-2', 11), { sensor_id: 's-3', kind: 'traffic_speed', ts: T0, value: 42.5, unit: 'km/h' }];
    const reply = await post(h.port, '/api/ingest/readings', JSON.stringify(batch));
    expect(reply.status).toBe(202);
    expect(reply.body).toEqual({ accepted: 3 });
    expect(h.sends).toHaveLength(1);
    const onBus = records(await readTopic(h.bus, TOPICS.sensorReadings, 1));
    expect(onBus.map((r) => r.sensor_id).sort()).toEqual(['s-1', 's-2', 's-3']);
    for (const r of onBus) expect(validator(SensorReading).errors(r)).toEqual([]);
  });

  it('keeps the valid records of a mixed batch, names each bad field, and dead-letters the bad ones', async () => {
    const h = await start();
    const batch = [
      reading('s-1', 10),
      reading('s-2', 'abc'),
      { ...reading('s-3', 5), ts: 1_767_225_600 },
      reading('s-4', 5, { unit: 'm' }),
      reading('s-5', 5000),
    ];
    const reply = await post(h.port, '/api/ingest/readings', JSON.stringify(batch));
    expect(reply.status).toBe(422);
    expect(reply.body).toMatchObject({ accepted: 1, rejected: 4 });
    const errors = reply.body.errors as { index: number; errors: { path: string; message: string }[] }[];
    expect(errors.map((e) => [e.index, e.errors.map((f) => f.path)])).toEqual([
      [1, ['/value']],
      [2, ['/ts']],
      [3, ['/unit']],
      [4, ['/value']],
    ]);
    expect(errors[0]!.errors[0]!.message).toMatch(/got "abc"/);
    expect(errors[3]!.errors[0]!.message).toMatch(/-50…1000 cm.*got 5000/);

    const kept = records(await readTopic(h.bus, TOPICS.sensorReadings, 1));
    expect(kept.map((r) => r.sensor_id)).toEqual(['s-1']);
    const letters = (await readTopic(h.bus, TOPICS.deadLetters, 4)).map(json);
    expect(letters).toHaveLength(4);
    for (const l of letters) {
      expect(validator(DeadLetter).errors(l)).toEqual([]);
      expect(l.source).toBe('http:/api/ingest/readings');
    }
    expect(letters.map((l) => l.key).sort()).toEqual(['s-2', 's-3', 's-4', 's-5']);
    expect(letters.find((l) => l.key === 's-3')!.reason).toMatch(/\/ts/);
  });

  it('answers malformed JSON with 400 naming line and column, and dead-letters the body', async () => {
    const h = await start();
    const reply = await post(
      h.port,
      '/api/ingest/readings',
      '[\n  {"sensor_id": "s-1", "kind": "water_level", "ts": 1767225600000, "value": 1},\n  {"sensor_id": "s-2",, }\n]',
    );
    expect(reply.status).toBe(400);
    expect(reply.body.error).toBe('malformed-json');
    expect(reply.body.message).toMatch(/line 3, column 23/);
    expect(h.sends.filter((s) => s.topic === TOPICS.sensorReadings)).toHaveLength(0);
    const [letter] = (await readTopic(h.bus, TOPICS.deadLetters, 1)).map(json);
    expect(letter!.reason).toMatch(/malformed JSON at line 3/);
    expect(letter!.payload).toContain('"s-2",,');
  });

  it('refuses a body over the limit with 413 before reading it, and records the attempt', async () => {
    const h = await start({ maxBodyBytes: 1024 });
    const big = JSON.stringify(Array.from({ length: 100 }, (_, i) => reading(`s-${i}`, i)));
    const reply = await post(h.port, '/api/ingest/readings', big);
    expect(reply.status).toBe(413);
    expect(reply.body.message).toMatch(/at most 1024 bytes; got Content-Length \d+/);
    const [letter] = (await readTopic(h.bus, TOPICS.deadLetters, 1)).map(json);
    expect(letter!.reason).toMatch(/at most 1024 bytes/);
  });

  it('refuses a chunked body that grows past the limit with 413, keeping only its head as the dead letter payload', async () => {
    const h = await start({ maxBodyBytes: 1024 });
    const big = JSON.stringify(Array.from({ length: 100 }, (_, i) => reading(`s-${i}`, i)));
    const reply = await post(h.port, '/api/ingest/readings', big, { 'transfer-encoding': 'chunked' });
    expect(reply.status).toBe(413);
    expect(reply.body.message).toMatch(/at most 1024 bytes; got more/);
    const [letter] = (await readTopic(h.bus, TOPICS.deadLetters, 1)).map(json);
    expect((letter!.payload as string).length).toBeLessThanOrEqual(big.length);
    expect(letter!.payload as string).toMatch(/^\[\{"sensor_id":"s-0"/);
  });

  it('answers 401 without or with a wrong API key and leaves the bus alone', async () => {
    const h = await start();
    const body = JSON.stringify([reading('s-1', 1)]);
    const none = await post(h.port, '/api/ingest/readings', body, { 'x-api-key': '' });
    expect(none.status).toBe(401);
    expect(none.body.message).toMatch(/expected an X-API-Key header; got none/);
    const wrong = await post(h.port, '/api/ingest/readings', body, { 'x-api-key': 'nope' });
    expect(wrong.status).toBe(401);
    expect(wrong.body).toMatchObject({ error: 'unauthorized', retriable: false });
    expect(h.sends).toHaveLength(0);
  });

  it('asks the key source on every request, so keys rotate without a restart', async () => {
    let keys = ['old-key'];
    const h = await start({ apiKeys: () => keys });
    const body = JSON.stringify([reading('s-1', 1)]);
    expect((await post(h.port, '/api/ingest/readings', body, { 'x-api-key': 'old-key' })).status).toBe(202);
    keys = ['new-key'];
    expect((await post(h.port, '/api/ingest/readings', body, { 'x-api-key': 'old-key' })).status).toBe(401);
    expect((await post(h.port, '/api/ingest/readings', body, { 'x-api-key': 'new-key' })).status).toBe(202);
  });

  it('rejects only the bad line of an NDJSON body', async () => {
    const h = await start();
    const lines = [JSON.stringify(reading('s-1', 1)), '{"sensor_id": "s-2", "kind": ', JSON.stringify(reading('s-3', 3)), ''].join('\n');
    const reply = await post(h.port, '/api/ingest/readings', lines, { 'content-type': 'application/x-ndjson' });
    expect(reply.status).toBe(422);
    expect(reply.body).toMatchObject({ accepted: 2, rejected: 1, errors: [{ index: 1 }] });
    expect(JSON.stringify(reply.body.errors)).toMatch(/line 2 is not JSON/);
    expect(
      records(await readTopic(h.bus, TOPICS.sensorReadings, 1))
        .map((r) => r.sensor_id)
        .sort(),
    ).toEqual(['s-1', 's-3']);
    const [letter] = (await readTopic(h.bus, TOPICS.deadLetters, 1)).map(json);
    expect(letter!.payload).toBe('{"sensor_id": "s-2", "kind": ');
  });

  it('sniffs NDJSON without a Content-Type', async () => {
    const h = await start();
    const lines = `${JSON.stringify(reading('s-1', 1))}\n${JSON.stringify(reading('s-2', 2))}`;
    const reply = await post(h.port, '/api/ingest/readings', lines, { 'content-type': 'text/plain' });
    expect(reply).toMatchObject({ status: 202, body: { accepted: 2 } });
  });

  it('gives the same reading the same id when it is sent twice', async () => {
    const h = await start();
    const body = JSON.stringify([reading('s-1', 7)]);
    await post(h.port, '/api/ingest/readings', body);
    await post(h.port, '/api/ingest/readings', body);
    const msgs = records(await readTopic(h.bus, TOPICS.sensorReadings, 2));
    expect(msgs).toHaveLength(2);
    expect(msgs[0]!.id).toBe(msgs[1]!.id);
  });

  it('answers 503 (retriable) when the bus refuses the batch', async () => {
    const down: Producer = { send: () => Promise.reject(new Error('bus is closed')), flush: () => Promise.resolve() };
    const h = await start({}, down);
    const reply = await post(h.port, '/api/ingest/readings', JSON.stringify([reading('s-1', 1)]));
    expect(reply.status).toBe(503);
    expect(reply.headers['retry-after']).toBe('1');
    expect(reply.body).toMatchObject({ error: 'bus-unavailable', retriable: true });
  });

  it('answers 405 to other methods and leaves other paths to the caller', async () => {
    const h = await start();
    expect((await post(h.port, '/api/ingest/readings', '', {}, 'GET')).status).toBe(405);
    expect((await post(h.port, '/api/other', '[]')).status).toBe(404);
    expect((await post(h.port, '/api/ingest/readings?source=x', '[]')).status).toBe(202);
  });

  it('answers every kind of garbage with a 4xx and keeps serving', async () => {
    const h = await start({ maxBodyBytes: 64 * 1024 });
    let seed = 7;
    const rand = (n: number): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
    const bodies: (string | Buffer)[] = [
      '',
      'null',
      '"a string"',
      '[[[[[]]]]]',
      '['.repeat(50_000),
      '{"__proto__": {"polluted": true}, "sensor_id": "x"}',
      Buffer.from([0xff, 0xfe, 0x00, 0x80]),
      '[' + Array.from({ length: 200 }, () => '{"value": 1e400}').join(',') + ']',
      '\ufeff[{"sensor_id":"s","kind":"water_level","ts":1767225600000,"value":1}]',
    ];
    for (let i = 0; i < 100; i++) bodies.push(Buffer.from(Array.from({ length: rand(300) }, () => rand(256))));
    for (const body of bodies) {
      const reply = await post(h.port, '/api/ingest/readings', body, {
        'content-type': rand(2) === 0 ? 'application/json' : 'application/x-ndjson',
      });
      expect([202, 400, 422]).toContain(reply.status);
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((await post(h.port, '/api/ingest/readings', JSON.stringify([reading('s-1', 1)]))).status).toBe(202);
  });
});

describe('POST /api/ingest/ticks', () => {
  it('puts valid ticks on market.ticks keyed by indicator and rejects bad ones', async () => {
    const h = await start();
    const batch = [
      { indicator_id: 'ind.cpi', ts: T0, value: 101.3 },
      { indicator_id: 'ind.pork', ts: T0, value: '24' },
    ];
    const reply = await post(h.port, '/api/ingest/ticks', JSON.stringify(batch));
    expect(reply.status).toBe(422);
    expect(reply.body).toMatchObject({ accepted: 1, rejected: 1, errors: [{ index: 1, errors: [{ path: '/value' }] }] });
    const [tick] = await readTopic(h.bus, TOPICS.marketTicks, 1);
    expect(tick!.key).toBe('ind.cpi');
    expect(validator(MarketTick).errors(json(tick!))).toEqual([]);
    const [letter] = (await readTopic(h.bus, TOPICS.deadLetters, 1)).map(json);
    expect(letter).toMatchObject({ source: 'http:/api/ingest/ticks', key: 'ind.pork' });
  });
});
