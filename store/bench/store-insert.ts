/**
 * Readings into embedded chDB through the batch writer: 1,000,000 rows, batches of 50,000.
 * Prints `store_rows_per_s=<n>` (plus detail on stderr). Run: `npx tsx store/bench/store-insert.ts`
 * for row objects serialised as TSV (createBatchWriter), or with `--json` for each reading's
 * contract JSON inserted as it is (createJsonBatchWriter, what the sink does with bus messages).
 *
 * Rows (or their JSON bytes) are made before the clock starts; what is timed is add() →
 * serialise → insert → durable, as the sink does it. Uses a fresh temp data dir, removed afterwards.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeRecord, type SensorReading } from '@cityops/schemas';
import { createBatchWriter, createJsonBatchWriter, openEmbeddedStore, type BatchWriter, type JsonRows } from '../src/index.js';

const TOTAL_ROWS = 1_000_000;
const BATCH_ROWS = 50_000;
const SENSORS = 2_000;
/** Rows handed to add() at a time, like a bus batch. */
const ADD_ROWS = 5_000;
const JSON_INPUT = process.argv.includes('--json');

const dataDir = mkdtempSync(join(tmpdir(), 'cityops-bench-store-'));
const store = await openEmbeddedStore({ dataDir });
try {
  await store.migrate();
  const start = Date.now() - 3_600_000;
  const rows: SensorReading[] = new Array<SensorReading>(TOTAL_ROWS);
  for (let i = 0; i < TOTAL_ROWS; i++) {
    const sensor = i % SENSORS;
    const ts = start + Math.floor(i / SENSORS) * 1_000;
    rows[i] = {
      id: `s-${sensor}:${ts}`,
      schema_version: 1,
      sensor_id: `s-${sensor}`,
      kind: 'traffic_speed',
      ts,
      value: 40 + (i % 97) * 0.5,
      unit: 'km/h',
    };
  }

  const options = { maxRows: BATCH_ROWS, flushIntervalMs: 200 };
  let writer: BatchWriter<'readings', SensorReading> | BatchWriter<'readings', JsonRows>;
  let add: (from: number, to: number) => Promise<void>;
  if (JSON_INPUT) {
    const bytes = rows.map((r) => ({ bytes: encodeRecord(r), rows: 1 }));
    const w = createJsonBatchWriter(store, 'readings', options);
    add = (from, to) => w.add(bytes.slice(from, to));
    writer = w;
  } else {
    const w = createBatchWriter(store, 'readings', options);
    add = (from, to) => w.add(rows.slice(from, to));
    writer = w;
  }
  const t0 = performance.now();
  const pending: Promise<void>[] = [];
  for (let i = 0; i < TOTAL_ROWS; i += ADD_ROWS) pending.push(add(i, i + ADD_ROWS));
  await Promise.all(pending);
  await writer.close();
  const seconds = (performance.now() - t0) / 1000;

  const [count] = await store.query<{ n: number }>('SELECT count() AS n FROM readings');
  if (Number(count?.n) !== TOTAL_ROWS) throw new Error(`expected ${TOTAL_ROWS} rows in readings; got ${count?.n}`);
  const stats = writer.stats();
  console.error(
    `input=${JSON_INPUT ? 'json' : 'rows'} rows=${TOTAL_ROWS} batches=${stats.batches} seconds=${seconds.toFixed(2)} last_flush_ms=${stats.last_flush_ms.toFixed(0)} retries=${stats.retries}`,
  );
  console.log(`store_rows_per_s=${Math.round(TOTAL_ROWS / seconds)}`);
} finally {
  await store.close();
  rmSync(dataDir, { recursive: true, force: true });
}
