import { openEmbeddedStore } from '../../src/chdb-store.js';
import { KEEP_FOREVER, tempDataDir } from '../fixtures.js';
import { describeStoreContract } from '../store-contract.js';

describeStoreContract('embedded store (chDB)', async () => {
  const data = tempDataDir('round-trip');
  const store = await openEmbeddedStore({ dataDir: data.dir, retentionDays: KEEP_FOREVER });
  return {
    store,
    cleanup: async () => {
      await store.close();
      data.remove();
    },
  };
});
