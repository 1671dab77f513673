/**
 * Throughput of the ingest edge, in-process and over HTTP (loopback), into the in-process bus.
 * Run: npx tsx ingest/bench/ingest-throughput.ts [readingsPerBatch] [batches]
 * Prints readings/s for: the core (ingestReadings on parsed objects, ids omitted so they are
 * derived), and HTTP JSON and NDJSON bodies through a real node:http server (client, server and
 * bus share this process). Two rates: per wall second, and per CPU second of this process —
 * the second stays meaningful on a shared, loaded machine. Each pass runs twice; the first warms
 * the JIT. For production the ingest role benefits from a larger young generation
 * (node --max-semi-space-size=64): batches live until the bus took them, and survive scavenges.
 */
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInProcessBus } from '@cityops/bus';
import { DEFAULT_PARTITIONS, SENSOR_KIND_INFO, SENSOR_KINDS, TOPICS } from '@cityops/schemas';
import { createIngestHandler, ingestReadings } from '../src/index.js';

const perBatch = Number(process.argv[2] ?? 50_000);
const batches = Number(process.argv[3] ?? 10);
const T0 = 1_767_225_600_000;

function makeBatch(b: number): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (let i = 0; i < perBatch; i++) {
    const kind = SENSOR_KINDS[i % SENSOR_KINDS.length]!;
    out.push({ sensor_id: `hb.s${i % 240}`, kind, ts: T0 + b * perBatch + i, value: (SENSOR_KIND_INFO[kind].max / 7) * ((i % 97) / 97) });
  }
  return out;
}

async function main(): Promise<void> {
  // A bus with a big ring and no consumer: measures the edge, not a downstream worker.
  const bus = createInProcessBus({ maxBacklogMessages: 2_000_000 });
  await bus.ensureTopics(Object.values(TOPICS).map((name) => ({ name, partitions: DEFAULT_PARTITIONS[name] })));
  const producer = bus.producer();
  const data = Array.from({ length: batches }, (_, b) => makeBatch(b));

  let t = 0;
  let n = 0;
  let cpu = process.cpuUsage();
  for (let pass = 0; pass < 2; pass++) {
    t = performance.now();
    cpu = process.cpuUsage();
    n = 0;
    for (const batch of data) n += (await ingestReadings(batch, { producer, clock: Date.now })).accepted;
  }
  report('core (objects → bus)', n, performance.now() - t, cpu);

  const handler = createIngestHandler({ producer, apiKeys: ['k'], clock: Date.now, maxBodyBytes: 64 * 1024 * 1024 });
  const server = createServer((req, res) => void handler(req, res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  for (const [label, type, encode] of [
    ['http JSON array', 'application/json', (b: unknown[]) => JSON.stringify(b)],
    ['http NDJSON', 'application/x-ndjson', (b: unknown[]) => b.map((r) => JSON.stringify(r)).join('\n')],
  ] as const) {
    const bodies = data.map((b) => Buffer.from(encode(b)));
    for (let pass = 0; pass < 2; pass++) {
      t = performance.now();
      cpu = process.cpuUsage();
      n = 0;
      for (const body of bodies) n += (await post(port, type, body)).accepted;
    }
    report(`${label} (${(bodies[0]!.byteLength / 1024 / 1024).toFixed(1)} MiB bodies)`, n, performance.now() - t, cpu);
  }
  server.close();
  await bus.close();
}

function report(label: string, n: number, ms: number, cpuStart: NodeJS.CpuUsage): void {
  const cpu = process.cpuUsage(cpuStart);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  const rate = (per: number): string => Math.round((n / per) * 1000).toLocaleString('en');
  console.log(
    `${label.padEnd(36)} ${n} readings: ${rate(ms)} /s wall, ${rate(cpuMs)} /s per CPU-second (${(cpuMs / ms).toFixed(2)} cores busy)`,
  );
}

function post(port: number, type: string, body: Buffer): Promise<{ accepted: number }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/api/ingest/readings',
        method: 'POST',
        headers: { 'x-api-key': 'k', 'content-type': type, 'content-length': body.byteLength },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString()) as { accepted: number }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

await main();
