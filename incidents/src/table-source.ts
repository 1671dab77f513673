import { watch, type FSWatcher } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { IncidentsError } from './errors.js';
import { defaultResponsibilityTablePath, loadResponsibilityTable, type ResponsibilityTable } from './responsibility-table.js';

/*
 * A responsibility table that can change while the role runs: the people who own the list edit
 * the file (or an administrator saves a new version from the dashboard) and the next incident is
 * dispatched by the new version, without a restart. A bad edit never replaces a good table — the
 * error (with the line of the mistake) is reported and the last good version stays in force,
 * because a half-valid list would send real cases astray.
 *
 * Versions saved through `replace` are kept, one file per version, in `<name>.versions/` beside
 * the table: every dispatch order cites its table version, so an audit must be able to read the
 * edition that sent a case where — which is also why a version string is never reused.
 */

export interface TableSourceOptions {
  /** The YAML file to read. */
  path: string;
  /**
   * When `path` does not exist yet, copy this file there first (e.g. the table shipped with the
   * package into the data directory, so edits never touch the installed package). Default: none,
   * a missing `path` fails the open.
   */
  seedFrom?: string;
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

/** What `replace` put in force. */
export interface ReplaceResult {
  previous: ResponsibilityTable;
  table: ResponsibilityTable;
}

/** One saved version of the table. */
export interface TableVersion {
  version: string;
  /** When the version's file was written, epoch ms. */
  saved_at: number;
}

export interface TableSource {
  /** The table in force. */
  current(): ResponsibilityTable;
  /** The YAML text of the table in force. */
  text(): string;
  /** Reads the file again; on success the new table is in force (and onChange told). */
  reload(): Promise<ReloadResult>;
  /**
   * Validates `text` with the table's own loader and, when it loads and carries a version not
   * used before, keeps it as a new version, writes it to the file (atomically) and puts it in
   * force (onChange told). Throws IncidentsError: 'table-invalid' with every issue and its line,
   * 'invalid-argument' for a reused version or the package's own table, 'table-unreadable' when
   * the file cannot be written. Nothing changes when it throws.
   */
  replace(text: string): Promise<ReplaceResult>;
  /** Versions saved beside the table, newest first. */
  versions(): Promise<TableVersion[]>;
  /** Stops watching. */
  close(): void;
}

/** Loads the table (throws if the first load fails) and keeps it current. */
export async function openTableSource(options: TableSourceOptions): Promise<TableSource> {
  const { path } = options;
  const versionsDir = join(dirname(path), `${basename(path, extname(path))}.versions`);
  if (options.seedFrom !== undefined) await seed(path, options.seedFrom);
  let loaded = await readTable(path);
  let watcher: FSWatcher | undefined;
  let timer: NodeJS.Timeout | undefined;
  // Reloads and replacements one at a time: a reload reading the file halfway through a
  // replacement must not put the old text back in force after the new one.
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(task: () => Promise<T>): Promise<T> => {
    const next = queue.then(task, task);
    queue = next.catch(() => undefined);
    return next;
  };

  const putInForce = (next: Loaded): ResponsibilityTable => {
    const previous = loaded.table;
    loaded = next;
    return previous;
  };

  const reload = (): Promise<ReloadResult> =>
    serial(async () => {
      try {
        const next = await readTable(path);
        // Our own write (a replace) seen again by the watcher: the same table stays, the same object.
        if (next.text === loaded.text) return { ok: true as const, changed: false, version: loaded.table.version };
        const previous = putInForce(next);
        // The same version text twice is no change to tell anyone about (an editor's touch, our own write).
        const changed = next.table.version !== previous.version;
        if (changed) options.onChange?.(next.table, previous);
        return { ok: true as const, changed, version: next.table.version };
      } catch (e) {
        const error =
          e instanceof IncidentsError
            ? e
            : new IncidentsError('table-unreadable', `expected to reload ${path}; got ${String(e)}`, { cause: e });
        options.onError?.(error);
        return { ok: false as const, error, version: loaded.table.version };
      }
    });

  const replace = (text: string): Promise<ReplaceResult> =>
    serial(async () => {
      if (resolve(path) === resolve(defaultResponsibilityTablePath())) {
        throw new IncidentsError(
          'invalid-argument',
          `expected an editable copy of the responsibility table (CITYOPS_RESPONSIBILITY_FILE, or one seeded into the data directory); got ${path}, the table shipped with the package, which an upgrade would overwrite`,
        );
      }
      const table = loadResponsibilityTable(text, path);
      const current = loaded.table;
      if (table.version === current.version) {
        throw new IncidentsError(
          'invalid-argument',
          `field 'version': expected a new version for a changed table (every dispatch cites it); got '${table.version}', the version in force`,
        );
      }
      const archived = versionFile(versionsDir, table.version);
      if (await exists(archived)) {
        throw new IncidentsError(
          'invalid-argument',
          `field 'version': expected a version not used before (every dispatch cites it); got '${table.version}', saved earlier as ${archived}`,
        );
      }
      try {
        await mkdir(versionsDir, { recursive: true });
        // The edition in force before the first saved change (the seeded or hand-edited file) is kept too.
        const previousFile = versionFile(versionsDir, current.version);
        if (!(await exists(previousFile))) await writeAtomically(previousFile, loaded.text);
        await writeAtomically(archived, text);
        await writeAtomically(path, text);
      } catch (e) {
        throw new IncidentsError('table-unreadable', `expected to write the responsibility table ${path}; got ${String(e)}`, {
          cause: e,
          retriable: true,
        });
      }
      const previous = putInForce({ table, text });
      options.onChange?.(table, previous);
      return { previous, table };
    });

  const versions = async (): Promise<TableVersion[]> => {
    let names: string[];
    try {
      names = await readdir(versionsDir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
    const out: TableVersion[] = [];
    for (const name of names) {
      if (!name.endsWith('.yaml') || name.startsWith('.')) continue;
      const info = await stat(join(versionsDir, name)).catch(() => undefined);
      if (info?.isFile() === true) out.push({ version: name.slice(0, -'.yaml'.length), saved_at: Math.round(info.mtimeMs) });
    }
    return out.sort((a, b) => b.saved_at - a.saved_at || b.version.localeCompare(a.version));
  };

  if (options.watchFile ?? true) {
    // The folder is watched, not the file: a save by rename (ours, and many editors') replaces
    // the file's inode, and a watch on the old inode would never fire again.
    const name = basename(path);
    watcher = watch(dirname(path), { persistent: false }, (_event, filename) => {
      if (filename !== null && filename !== name) return;
      if (timer !== undefined) clearTimeout(timer);
      timer = setTimeout(() => void reload(), options.debounceMs ?? 200);
      timer.unref();
    });
    watcher.on('error', (e) =>
      options.onError?.(new IncidentsError('table-unreadable', `expected to watch ${path}; got ${e.message}`, { cause: e })),
    );
  }

  return {
    current: () => loaded.table,
    text: () => loaded.text,
    reload,
    replace,
    versions,
    close: () => {
      if (timer !== undefined) clearTimeout(timer);
      watcher?.close();
    },
  };
}

interface Loaded {
  table: ResponsibilityTable;
  text: string;
}

async function readTable(path: string): Promise<Loaded> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new IncidentsError(
      'table-unreadable',
      `expected a readable responsibility table at ${path}; got ${e instanceof Error ? e.message : String(e)}`,
      { cause: e },
    );
  }
  return { table: loadResponsibilityTable(text, path), text };
}

async function seed(path: string, from: string): Promise<void> {
  if (await exists(path)) return;
  try {
    await mkdir(dirname(path), { recursive: true });
    await copyFile(from, path);
  } catch (e) {
    throw new IncidentsError('table-unreadable', `expected to copy the responsibility table ${from} to ${path}; got ${String(e)}`, {
      cause: e,
    });
  }
}

/** Versions match ^[A-Za-z0-9._-]+$ (the loader checks), so they are safe file names once suffixed. */
function versionFile(dir: string, version: string): string {
  return join(dir, `${version}.yaml`);
}

/** Temp file + rename: a crash never leaves a half-written table for the next start to refuse. */
async function writeAtomically(path: string, text: string): Promise<void> {
  const temp = `${path}.tmp-${process.pid}`;
  await writeFile(temp, text, 'utf8');
  await rename(temp, path);
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
