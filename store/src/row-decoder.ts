import type { FieldError } from '@cityops/schemas';
import { StoreError } from './errors.js';
import type { TableName } from './store.js';
import { TABLE_COLUMNS, type Column, type TableRow } from './tables.js';

/*
 * JSONEachRow rows from ClickHouse → contract records. ClickHouse prints DateTime64(3, 'UTC') as
 * "YYYY-MM-DD hh:mm:ss.fff" in UTC (the client pins date_time_output_format='simple'), which is
 * parsed here back to epoch ms; 64-bit integers may arrive quoted (server default before 25.x)
 * or bare, so numbers go through Number().
 */

const SIMPLE_DATETIME = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?$/;

/** "2026-01-01 00:00:00.123" (UTC) → 1767225600123. Also accepts epoch ms as a number. */
export function parseDateTime64(value: unknown): number {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string') {
    const m = SIMPLE_DATETIME.exec(value);
    if (m !== null) {
      const millis = m[7] === undefined ? 0 : Number(m[7].padEnd(3, '0').slice(0, 3));
      return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])) + millis;
    }
  }
  throw new StoreError('unexpected_result', `expected a DateTime64 as 'YYYY-MM-DD hh:mm:ss.fff'; got ${JSON.stringify(value)}`);
}

function unexpected(table: string, column: Column, expected: string, value: unknown): StoreError {
  return new StoreError('unexpected_result', `${table}.${column.name}: expected ${expected} from ClickHouse; got ${JSON.stringify(value)}`);
}

function decodeField(table: string, column: Column, value: unknown): unknown {
  switch (column.kind) {
    case 'string':
      if (typeof value !== 'string') throw unexpected(table, column, 'a string', value);
      return value;
    case 'number': {
      const n = typeof value === 'string' ? Number(value) : value;
      if (typeof n !== 'number' || Number.isNaN(n)) throw unexpected(table, column, 'a number', value);
      return n;
    }
    case 'optional_number': {
      // NULL (an optional field the record left out) is left out again.
      if (value === null || value === undefined) return undefined;
      const n = typeof value === 'string' ? Number(value) : value;
      if (typeof n !== 'number' || Number.isNaN(n)) throw unexpected(table, column, 'a number or null', value);
      return n;
    }
    case 'time':
      return parseDateTime64(value);
    case 'bool':
      // Bool prints as true/false; a UInt8 stand-in (older servers, casts) prints 0/1.
      if (typeof value === 'boolean') return value;
      if (value === 0 || value === 1) return value === 1;
      throw unexpected(table, column, 'a boolean', value);
    case 'strings':
      if (!Array.isArray(value) || !value.every((v) => typeof v === 'string'))
        throw unexpected(table, column, 'an array of strings', value);
      return value;
    case 'field_errors': {
      if (!Array.isArray(value)) throw unexpected(table, column, 'an array of (path, message) tuples', value);
      return value.map((item: unknown): FieldError => {
        // Named tuples print as objects by default (output_format_json_named_tuples_as_objects);
        // as arrays when that is off.
        if (Array.isArray(item) && typeof item[0] === 'string' && typeof item[1] === 'string') return { path: item[0], message: item[1] };
        const o = item as Partial<FieldError> | null;
        if (typeof o?.path === 'string' && typeof o.message === 'string') return { path: o.path, message: o.message };
        throw unexpected(table, column, 'a (path, message) tuple', item);
      });
    }
  }
}

/** One JSONEachRow object selected with `columnList(table)` → the table's contract record. */
export function decodeRow<T extends TableName>(table: T, raw: Readonly<Record<string, unknown>>): TableRow<T> {
  const out: Record<string, unknown> = {};
  for (const column of TABLE_COLUMNS[table]) {
    const value = decodeField(table, column, raw[column.name]);
    if (value !== undefined) out[column.name] = value;
  }
  // The column specs in tables.ts are typed against the contracts, so every field is present.
  return out as unknown as TableRow<T>;
}

export function decodeRows<T extends TableName>(table: T, rows: readonly Readonly<Record<string, unknown>>[]): TableRow<T>[] {
  return rows.map((r) => decodeRow(table, r));
}
