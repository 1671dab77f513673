import { openEmbeddedStore, type EmbeddedStoreOptions } from './chdb-store.js';
import { openServerStore, type ServerStoreOptions } from './server-store.js';
import type { Store } from './store.js';

/**
 * Which store to open, chosen by `kind` (the CLI maps CLICKHOUSE_URL to `server`, otherwise
 * `embedded` in the data directory).
 */
export type StoreConfig = ({ kind: 'embedded' } & EmbeddedStoreOptions) | ({ kind: 'server' } & ServerStoreOptions);

export function openStore(config: StoreConfig): Promise<Store> {
  switch (config.kind) {
    case 'embedded':
      return openEmbeddedStore(config);
    case 'server':
      return openServerStore(config);
  }
}
