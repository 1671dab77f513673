/**
 * In-process bus throughput: produce → consume through one consumer group, on one core.
 *
 *   npx tsx bus/bench/bus-throughput.ts
 *
 * 1,000,000 messages of 100 bytes, sent in batches of 1000 over 100 keys to a 4-partition
 * topic, consumed by one group (maxBatchSize 1000); timed from the first send to the last
 * message handled. A 200,000-message warm-up on another topic runs first so the figure is the
 * JIT-compiled steady state. The batch objects are built once and sent repeatedly: the bus
 * builds a new IncomingMessage per message and per send either way, and the producer's own
 * allocation is not what is being measured. Prints `messages_per_s=<n>` on stdout, details on
 * stderr.
 */
import { createInProcessBus, type OutgoingMessage } from '../src/index.js';

const TOTAL_MESSAGES = 1_000_000;
const WARMUP_MESSAGES = 200_000;
const BATCH_SIZE = 1000;
const VALUE_BYTES = 100;
const PARTITIONS = 4;
const KEYS = 100;

const batch: OutgoingMessage[] = Array.from({ length: BATCH_SIZE }, (_, i) => {
  const value = new Uint8Array(VALUE_BYTES);
  value.fill(i & 0xff);
  return { key: `sensor-${i % KEYS}`, value };
});

async function run(topic: string, total: number): Promise<{ elapsedNs: number; cpuUs: number }> {
  const bus = createInProcessBus();
  await bus.ensureTopics([{ name: topic, partitions: PARTITIONS }]);
  let received = 0;
  let bytes = 0;
  let done: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => {
    done = resolve;
  });
  await bus.consumer({ groupId: 'bench', topics: [topic], maxBatchSize: BATCH_SIZE }).run(({ messages }) => {
    for (let i = 0; i < messages.length; i++) bytes += (messages[i] as { value: Uint8Array }).value.byteLength;
    received += messages.length;
    if (received >= total) done();
    return Promise.resolve();
  });
  const producer = bus.producer();
  const cpuBefore = process.cpuUsage();
  const started = process.hrtime.bigint();
  for (let sent = 0; sent < total; sent += BATCH_SIZE) await producer.send(topic, batch);
  await finished;
  const elapsedNs = Number(process.hrtime.bigint() - started);
  const cpu = process.cpuUsage(cpuBefore);
  await bus.close();
  if (bytes !== total * VALUE_BYTES) throw new Error(`expected ${total * VALUE_BYTES} bytes consumed, got ${bytes}`);
  return { elapsedNs, cpuUs: cpu.user + cpu.system };
}

await run('warmup', WARMUP_MESSAGES);
const { elapsedNs, cpuUs } = await run('measured', TOTAL_MESSAGES);
const perSecond = Math.round(TOTAL_MESSAGES / (elapsedNs / 1e9));
console.log(`messages_per_s=${perSecond}`);
console.error(
  `messages=${TOTAL_MESSAGES} value_bytes=${VALUE_BYTES} batch=${BATCH_SIZE} partitions=${PARTITIONS} ` +
    `groups=1 elapsed_ms=${(elapsedNs / 1e6).toFixed(1)} cpu_ms=${(cpuUs / 1e3).toFixed(1)} ` +
    // Messages per CPU-second (includes V8's GC threads): steadier than wall time on a shared box.
    `messages_per_cpu_s=${Math.round(TOTAL_MESSAGES / (cpuUs / 1e6))} node=${process.version}`,
);
