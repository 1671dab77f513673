/**
 * The seam between the store and a ClickHouse client. Migrations, the writer and the typed
 * queries are written once against this; chdb-store.ts and server-store.ts each implement it
 * with their client's own types, which therefore never leave those files.
 */

export type SqlSettings = Readonly<Record<string, string | number | boolean>>;

export interface SqlInsert {
  table: string;
  /** Column order of the payload; columns left out take their DEFAULT (e.g. ingested_at). */
  columns: readonly string[];
  format: 'TabSeparated' | 'JSONEachRow';
  /** The whole batch, already serialised: handed to the client without copying. */
  body: Buffer;
  settings: SqlSettings;
}

export interface SqlClient {
  readonly kind: 'chdb' | 'server';
  /** A statement without a result (DDL, ALTER). */
  exec(sql: string): Promise<void>;
  /** A SELECT with `{name:Type}` parameters bound by the engine, rows as parsed JSONEachRow. */
  query<T>(sql: string, params?: Readonly<Record<string, unknown>>): Promise<T[]>;
  insert(request: SqlInsert): Promise<void>;
  close(): Promise<void>;
}

/**
 * Settings every connection runs with, so both backends print and parse the same text:
 * DateTime64 as 'YYYY-MM-DD hh:mm:ss.fff', 64-bit integers as bare numbers.
 */
export const SESSION_SETTINGS: SqlSettings = {
  date_time_output_format: 'simple',
  output_format_json_quote_64bit_integers: 0,
  output_format_json_named_tuples_as_objects: 1,
};

/**
 * Settings of every insert.
 * - `async_insert=0`: the writer already batches; an async insert would also change how
 *   dedup tokens apply. (chDB 3.4 ships async_insert=1 as its default.)
 * - `insert_deduplicate=1` + `deduplicate_blocks_in_dependent_materialized_views=1`: a retried
 *   block with the same token is dropped in the table and in the rollup views it feeds.
 * - `date_time_input_format=basic`: see tsv-encoder.ts. (JSONEachRow reads a bare integer for a
 *   DateTime64(3) as epoch ms whatever its digit count, with basic and best_effort alike; the
 *   store contract suite pins that.)
 * - `optimize_on_insert=0`: skip collapsing duplicates inside each inserted block. Readers
 *   collapse with FINAL anyway (merges are eventual), and on readings it cut the engine's
 *   insert time by about a third (50k rows: ~127 ms instead of ~176 ms, best of 8).
 */
export function insertSettings(dedupToken: string | undefined): SqlSettings {
  const settings: Record<string, string | number> = {
    async_insert: 0,
    insert_deduplicate: 1,
    deduplicate_blocks_in_dependent_materialized_views: 1,
    date_time_input_format: 'basic',
    optimize_on_insert: 0,
  };
  if (dedupToken !== undefined) settings['insert_deduplication_token'] = dedupToken;
  return settings;
}

/**
 * Settings of a JSONEachRow insert (Store.insertJson): those of every insert, plus a strict
 * reader. The records passed their contracts, whose fields are exactly the columns, so anything
 * ClickHouse would otherwise bend to fit — a field it does not know, a number or bool where a
 * string is due, a bool given as a number, an array or object read as text — means a contract
 * and the table have drifted apart, and must fail loudly instead of being skipped or coerced.
 * (Their defaults, in chDB 26.7 at least, are the lenient ones.)
 * - `input_format_parallel_parsing=0`: a full batch (50k readings ≈ 7.5 MB) is below
 *   min_chunk_bytes_for_parallel_parsing (10 MiB), so the parallel reader only adds a thread
 *   hand-off: measured on 50k-reading inserts, 0 took ~6% less engine CPU than 1, same wall
 *   time. With the event loop on one core there is no idle core for it anyway.
 */
export function jsonInsertSettings(dedupToken: string | undefined): SqlSettings {
  return {
    ...insertSettings(dedupToken),
    input_format_skip_unknown_fields: 0,
    input_format_json_read_numbers_as_strings: 0,
    input_format_json_read_bools_as_numbers: 0,
    input_format_json_read_bools_as_strings: 0,
    input_format_json_read_arrays_as_strings: 0,
    input_format_json_read_objects_as_strings: 0,
    input_format_parallel_parsing: 0,
  };
}

/** `k=v, k2='v2'` for a SETTINGS clause or SET statement. */
export function settingsClause(settings: SqlSettings): string {
  return Object.entries(settings)
    .map(([k, v]) => `${k} = ${typeof v === 'string' ? `'${v.replace(/[\\']/g, '\\$&')}'` : typeof v === 'boolean' ? (v ? 1 : 0) : v}`)
    .join(', ');
}
