import { watch, type FSWatcher } from 'node:fs';
import { IncidentsError } from './errors.js';
import { readResponsibilityTableFile, type ResponsibilityTable } from './responsibility-table.js';

/*
 * A responsibility table that can change while the role runs: the people who own the list edit
 * the file and the next incident is dispatched by the new version, without a restart. A bad edit
 * never replaces a good table — the error (with the line of the mistake) is reported and the
 * last good version stays in force, because a half-valid list would send real cases astray.
 */

export interface TableSourceOptions {
  /** The YAML file to read. */
  path: string;
  /** Called with every newly loaded version (not with the first one, which `open` returns). */
  onChange?: (table: ResponsibilityTable, previous: ResponsibilityTable) => void;
  /** Called when a reload fails; the previous table stays in force. */
  onError?: (error: IncidentsError) => void;
  /** Watch the file and reload on change. Default true. */
  watchFile?: boolean;
  /**
   * Quiet time after a file event before reading it: editors write in several steps (truncate,
   * write, rename), and reading in between would see a half-written file. Default 200 ms.
   */
  debounceMs?: number;
}

export type ReloadResult = { ok: true; changed: boolean; version: string } | { ok: false; error: IncidentsError; version: string };

export interface TableSource {
  /** The table in force. */
  current(): ResponsibilityTable;
  /** Reads the file again; on success the new table is in force (and onChange told). */
  reload(): Promise<ReloadResult>;
  /** Stops watching. */
  close(): void;
}

/** Loads the table (throws if the first load fails) and keeps it current. */
export async function openTableSource(options: TableSourceOptions): Promise<TableSource> {
  let table = await readResponsibilityTableFile(options.path);
  let watcher: FSWatcher | undefined;
  let timer: NodeJS.Timeout | undefined;
  let reloading: Promise<ReloadResult> | undefined;

  const reload = async (): Promise<ReloadResult> => {
    try {
      const next = await readResponsibilityTableFile(options.path);
      const previous = table;
      table = next;
      // The same version text twice is no change to tell anyone about (an editor's touch).
      const changed = next.version !== previous.version;
      if (changed) options.onChange?.(next, previous);
      return { ok: true, changed, version: next.version };
    } catch (e) {
      const error =
        e instanceof IncidentsError
          ? e
          : new IncidentsError('table-unreadable', `expected to reload ${options.path}; got ${String(e)}`, { cause: e });
      options.onError?.(error);
      return { ok: false, error, version: table.version };
    }
  };

  if (options.watchFile ?? true) {
    watcher = watch(options.path, { persistent: false }, () => {
      if (timer !== undefined) clearTimeout(timer);
      timer = setTimeout(() => {
        // One reload at a time; events during a reload schedule the next.
        reloading = (reloading ?? Promise.resolve()).then(reload, reload);
      }, options.debounceMs ?? 200);
      timer.unref();
    });
    watcher.on('error', (e) =>
      options.onError?.(new IncidentsError('table-unreadable', `expected to watch ${options.path}; got ${e.message}`, { cause: e })),
    );
  }

  return {
    current: () => table,
    reload,
    close: () => {
      if (timer !== undefined) clearTimeout(timer);
      watcher?.close();
    },
  };
}
