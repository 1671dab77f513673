import { createClient } from '@clickhouse/client';
import { createChdbConnection } from 'chdb/connection';
import { serverSqlClient } from '../../src/server-store.js';
import { createSqlStore } from '../../src/sql-store.js';
import { KEEP_FOREVER, tempDataDir } from '../fixtures.js';
import { describeStoreContract } from '../store-contract.js';

/*
 * The server store's client code (requests, settings, parameter binding, result parsing of
 * @clickhouse/client) run without a server: chdb/connection plugs the in-process engine into
 * @clickhouse/client's `connection` hook. It is not HTTP — the real-server run is
 * server-store.test.ts with CLICKHOUSE_URL — but it is every line of server-store.ts above the
 * wire.
 */
describeStoreContract('server store (@clickhouse/client over chdb/connection)', () => {
  const data = tempDataDir('server-over-chdb');
  // chdb/connection is typed against @clickhouse/client-common, which @clickhouse/client 1.23
  // bundles as its own copy: structurally the same Connection, nominally two types.
  type ClientConnection = NonNullable<NonNullable<Parameters<typeof createClient>[0]>['connection']>;
  const client = createClient({ connection: createChdbConnection({ path: data.dir }) as unknown as ClientConnection });
  const store = createSqlStore(serverSqlClient(client), { retentionDays: KEEP_FOREVER });
  return Promise.resolve({
    store,
    cleanup: async () => {
      await store.close();
      data.remove();
    },
  });
});
