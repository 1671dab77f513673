import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEmbeddedStore } from '../../src/chdb-store.js';
import { MIGRATIONS } from '../../src/migrations/index.js';
import { DEFAULT_RETENTION_DAYS } from '../../src/retention.js';
import { StoreError } from '../../src/errors.js';
import { TABLES, type Store } from '../../src/store.js';
import { TABLE_COLUMNS } from '../../src/tables.js';
import { SAMPLES, T0, tempDataDir } from '../fixtures.js';

const data = tempDataDir('migrations');
let store: Store;

beforeAll(async () => {
  store = await openEmbeddedStore({ dataDir: data.dir });
});
afterAll(async () => {
  await store.close();
  data.remove();
});

const ttlOf = async (s: Store, table: string): Promise<string> => {
  const [row] = await s.query<{ engine_full: string }>(
    'SELECT engine_full FROM system.tables WHERE database = currentDatabase() AND name = {t:String}',
    { t: table },
  );
  return row?.engine_full ?? '';
};

describe('migrate()', () => {
  it('applies every migration once, then reports them as already applied', async () => {
    const first = await store.migrate();
    expect(first).toEqual({ applied: MIGRATIONS.map((m) => m.id), alreadyApplied: [] });
    const second = await store.migrate();
    expect(second).toEqual({ applied: [], alreadyApplied: MIGRATIONS.map((m) => m.id) });
    const recorded = await store.query<{ id: string }>('SELECT id FROM schema_migrations FINAL ORDER BY id');
    expect(recorded.map((r) => r.id)).toEqual(MIGRATIONS.map((m) => m.id));
  });

  it('runs concurrent calls one after the other without failing', async () => {
    const reports = await Promise.all([store.migrate(), store.migrate()]);
    for (const r of reports) expect(r.applied).toEqual([]);
  });

  it('creates every table with exactly the contract columns plus ingested_at', async () => {
    const rows = await store.query<{ table: string; name: string }>(
      'SELECT table, name FROM system.columns WHERE database = currentDatabase() AND table IN {tables:Array(String)} ORDER BY table, position',
      { tables: [...TABLES] },
    );
    for (const table of TABLES) {
      const columns = rows.filter((r) => r.table === table).map((r) => r.name);
      expect(columns, table).toEqual([...TABLE_COLUMNS[table].map((c) => c.name), 'ingested_at']);
    }
  });

  it('creates the rollup tables and their views', async () => {
    const rows = await store.query<{ name: string; engine: string }>(
      "SELECT name, engine FROM system.tables WHERE database = currentDatabase() AND (name LIKE '%_1m%' OR name LIKE 'readings_latest%') ORDER BY name",
    );
    expect(rows).toEqual([
      { name: 'market_ticks_1m', engine: 'AggregatingMergeTree' },
      { name: 'market_ticks_1m_mv', engine: 'MaterializedView' },
      { name: 'readings_1m', engine: 'AggregatingMergeTree' },
      { name: 'readings_1m_mv', engine: 'MaterializedView' },
      { name: 'warnings_1m', engine: 'AggregatingMergeTree' },
      { name: 'warnings_1m_mv', engine: 'MaterializedView' },
    ]);
  });

  it('sets the default TTL of every retained table', async () => {
    for (const [table, days] of Object.entries(DEFAULT_RETENTION_DAYS)) {
      expect(await ttlOf(store, table), table).toContain(`toIntervalDay(${days})`);
    }
    expect(await ttlOf(store, 'areas')).not.toContain('TTL');
  });

  it('reconciles TTLs with overrides when the store is reopened with other retention', async () => {
    await store.close();
    store = await openEmbeddedStore({ dataDir: data.dir, retentionDays: { readings: 7, dead_letters: 0 } });
    const report = await store.migrate();
    expect(report.applied).toEqual([]);
    expect(await ttlOf(store, 'readings')).toContain('toIntervalDay(7)');
    expect(await ttlOf(store, 'dead_letters')).not.toContain('TTL');
    expect(await ttlOf(store, 'detections')).toContain(`toIntervalDay(${DEFAULT_RETENTION_DAYS.detections})`);
  });

  it('expires rows past their TTL', async () => {
    const day = 86_400_000;
    const fresh = { ...SAMPLES.readings, id: 'ttl-fresh', sensor_id: 'ttl', ts: T0 };
    const stale = { ...SAMPLES.readings, id: 'ttl-stale', sensor_id: 'ttl', ts: T0 - 8 * day };
    await store.insert('readings', [fresh, stale]);
    // ClickHouse usually drops expired rows while writing the part, but the guarantee is at
    // merges (2 of 16 runs kept the stale row until then): force the merge instead of racing it.
    await store.query('OPTIMIZE TABLE readings FINAL');
    const ids = await store.query<{ id: string }>("SELECT id FROM readings FINAL WHERE sensor_id = 'ttl'");
    expect(ids).toEqual([{ id: 'ttl-fresh' }]);
  });

  it('refuses retention that is not whole days', async () => {
    await expect(openEmbeddedStore({ dataDir: data.dir, retentionDays: { readings: 1.5 } })).rejects.toMatchObject({
      code: 'invalid_config',
    });
  });

  it('upgrades a store from before department stations (0008): columns added, departments stored earlier read back without them', async () => {
    // Rewind to the store as 0007 left it, with a department in it (before the tampering below).
    await store.migrate();
    await store.query('ALTER TABLE departments DROP COLUMN units, DROP COLUMN lat, DROP COLUMN lon');
    await store.query(`DELETE FROM schema_migrations WHERE id = '0008_department_stations'`);
    await store.query(`INSERT INTO departments (id, schema_version, name_zh, name_en) VALUES ('dept-old', 1, '老部门', 'Old Department')`);

    expect((await store.migrate()).applied).toEqual(['0008_department_stations']);
    const stationed = {
      id: 'dept-new',
      schema_version: 1 as const,
      name_zh: '新部门',
      name_en: 'New Department',
      lon: 121.5,
      lat: 31.2,
      units: 3,
    };
    await store.insert('departments', [stationed]);
    const departments = await store.queries.departments();
    expect(departments).toEqual(
      expect.arrayContaining([{ id: 'dept-old', schema_version: 1, name_zh: '老部门', name_en: 'Old Department' }, stationed]),
    );
    expect(departments).toHaveLength(2);
  });

  it('refuses to continue when an applied migration was edited', async () => {
    // chDB runs any statement through query(); record a checksum that no longer matches the text.
    await store.query("INSERT INTO schema_migrations (id, checksum, description) VALUES ('0001_fact_tables', 'edited', 'tampered')");
    const err = await store.migrate().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect(err).toMatchObject({ code: 'migration_changed', retriable: false });
    expect((err as StoreError).message).toMatch(/migration 0001_fact_tables: expected the text applied earlier .* add a new one instead/);
  });
});
