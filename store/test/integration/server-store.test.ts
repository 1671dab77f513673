import { createClient } from '@clickhouse/client';
import { randomId } from '@cityops/schemas';
import { describe, it } from 'vitest';
import { openServerStore } from '../../src/server-store.js';
import { KEEP_FOREVER } from '../fixtures.js';
import { describeStoreContract } from '../store-contract.js';

/*
 * Against a real ClickHouse server over HTTP. Runs only when CLICKHOUSE_URL is set (e.g.
 * `CLICKHOUSE_URL=http://localhost:8123 npx vitest run --project store`), in a throwaway
 * database that is dropped afterwards. Optional: CLICKHOUSE_USER, CLICKHOUSE_PASSWORD.
 */
const url = process.env['CLICKHOUSE_URL'];
const username = process.env['CLICKHOUSE_USER'];
const password = process.env['CLICKHOUSE_PASSWORD'];

if (url === undefined || url === '') {
  console.warn(
    'store: server-store tests skipped — set CLICKHOUSE_URL (e.g. http://localhost:8123) to run them against a ClickHouse server',
  );
  describe('server store (ClickHouse over HTTP)', () => {
    it.skip('skipped: set CLICKHOUSE_URL (e.g. http://localhost:8123) to run the store contract against a real server', () => undefined);
  });
} else {
  describeStoreContract(`server store (ClickHouse at ${url})`, async () => {
    const database = `cityops_test_${randomId()}`;
    const admin = createClient({ url, ...(username ? { username } : {}), ...(password ? { password } : {}) });
    await admin.command({ query: `CREATE DATABASE ${database}` });
    const store = await openServerStore({
      url,
      database,
      retentionDays: KEEP_FOREVER,
      ...(username ? { username } : {}),
      ...(password ? { password } : {}),
    });
    return {
      store,
      cleanup: async () => {
        await store.close();
        await admin.command({ query: `DROP DATABASE IF EXISTS ${database}` });
        await admin.close();
      },
    };
  });
}
