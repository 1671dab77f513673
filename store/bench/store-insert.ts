/**
 * Readings into embedded chDB through the batch writer: 1,000,000 rows, batches of 50,000.
 * Prints `store_rows_per_s=<n>` (plus detail on stderr). Run: `npx tsx store/bench/store-insert.ts`.
 *
 * Rows are generated before the clock starts; what is timed is add() → serialise → insert →
 * durable, as the sink does it. Uses a fresh temp data dir, removed afterwards.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SensorReading } from '@cityops/schemas';
import { createBatchWriter, openEmbeddedStore } from '../src/index.js';

const TOTAL_ROWS = 1_000_000;
const BATCH_ROWS = 50_000;
const SENSORS = 2_000;
/** Rows handed to add() at a time, like a bus batch. */
const ADD_ROWS = 5_000;

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

  const writer = createBatchWriter(store, 'readings', { maxRows: BATCH_ROWS, flushIntervalMs: 200 });
  const t0 = performance.now();
  const pending: Promise<void>[] = [];
  for (let i = 0; i < TOTAL_ROWS; i += ADD_ROWS) pending.push(writer.add(rows.slice(i, i + ADD_ROWS)));
  await Promise.all(pending);
  await writer.close();
  const seconds = (performance.now() - t0) / 1000;

  const [count] = await store.query<{ n: number }>('SELECT count() AS n FROM readings');
  if (Number(count?.n) !== TOTAL_ROWS) throw new Error(`expected ${TOTAL_ROWS} rows in readings; got ${count?.n}`);
  const stats = writer.stats();
  console.error(
    `rows=${TOTAL_ROWS} batches=${stats.batches} seconds=${seconds.toFixed(2)} last_flush_ms=${stats.last_flush_ms.toFixed(0)} retries=${stats.retries}`,
  );
  console.log(`store_rows_per_s=${Math.round(TOTAL_ROWS / seconds)}`);
} finally {
  await store.close();
  rmSync(dataDir, { recursive: true, force: true });
}
