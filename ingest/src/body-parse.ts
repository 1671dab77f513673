import { truncate } from '@cityops/schemas';
import { IngestError } from './errors.js';
import type { PreRejected } from './ingest-records.js';

export type BodyFormat = 'json' | 'ndjson' | 'csv';

const NDJSON_TYPES = new Set([
  'application/x-ndjson',
  'application/ndjson',
  'application/jsonl',
  'application/x-jsonlines',
  'application/jsonlines',
]);

/**
 * JSON or NDJSON, by Content-Type when it says so; otherwise by the first character (a JSON
 * array starts with '[', NDJSON with '{'), so `curl --data-binary @file` works without headers.
 */
export function bodyFormat(contentType: string | undefined, text: string): BodyFormat {
  const mediaType = (contentType ?? '').split(';', 1)[0]!.trim().toLowerCase();
  if (mediaType === 'application/json') return 'json';
  if (NDJSON_TYPES.has(mediaType)) return 'ndjson';
  if (mediaType === 'text/csv') return 'csv';
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09 || c === 0xfeff) continue;
    return c === 0x5b /* [ */ ? 'json' : 'ndjson';
  }
  return 'json';
}

export interface ParsedBody {
  records: unknown[];
  /** NDJSON lines that were not JSON; the rest of the body still goes through. */
  preRejected: PreRejected[];
  /** Position in `records` → index reported to the client (NDJSON: the 0-based line number). */
  indexOf?: (position: number) => number;
}

/**
 * One JSON.parse per body (JSON) or per line (NDJSON): the native parser is the fastest thing
 * available, and nothing else touches the text on the success path. Only when it fails does
 * `locateJsonError` walk the text to say where.
 *
 * Throws IngestError 'malformed-json' / 'invalid-body' for a body that cannot be used at all.
 */
export function parseBody(text: string, format: BodyFormat): ParsedBody {
  if (isBlank(text))
    throw new IngestError('invalid-body', 'expected a JSON array of records or NDJSON (one record per line); got an empty body');
  return format === 'json' ? parseJsonBody(text) : format === 'csv' ? parseCsvBody(text) : parseNdjsonBody(text);
}

/**
 * CSV (RFC 4180) with a header row naming the fields, for files exported from spreadsheets and
 * market data terminals: `indicator_id,ts,value`. A cell that reads as a number is a number; a
 * `ts` in ISO 8601 becomes epoch ms; an empty cell leaves its field out, so a missing observation
 * is refused naming that field (counted and dead-lettered), never stored as zero. Rows are
 * reported by their 0-based line in the file, the header being line 0.
 */
function parseCsvBody(text: string): ParsedBody {
  const rows = csvRows(text);
  const header = rows[0];
  if (header === undefined || header.cells.every((c) => c.trim() === '')) {
    throw new IngestError('invalid-body', 'expected CSV with a header row naming the fields (e.g. indicator_id,ts,value); got none');
  }
  const names = header.cells.map((c) => c.trim());
  const records: unknown[] = [];
  const lines: number[] = [];
  for (const row of rows.slice(1)) {
    if (row.cells.every((c) => c.trim() === '')) continue;
    const record: Record<string, unknown> = {};
    names.forEach((name, i) => {
      const cell = (row.cells[i] ?? '').trim();
      if (cell === '' || name === '') return;
      record[name] = csvValue(name, cell);
    });
    records.push(record);
    lines.push(row.line);
  }
  return { records, preRejected: [], indexOf: (position) => lines[position] ?? position };
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function csvValue(name: string, cell: string): unknown {
  if (NUMBER.test(cell)) return Number(cell);
  if (name === 'ts') {
    const ms = Date.parse(cell);
    if (Number.isFinite(ms)) return ms;
  }
  return cell;
}

/** The rows of a CSV text, each with its 0-based starting line; quoted cells may hold commas, quotes ("") and line breaks. */
function csvRows(text: string): { line: number; cells: string[] }[] {
  const rows: { line: number; cells: string[] }[] = [];
  let cells: string[] = [];
  let cell = '';
  let quoted = false;
  let line = 0;
  let rowLine = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else {
        if (c === '\n') line++;
        cell += c;
      }
    } else if (c === '"' && cell.trim() === '') {
      quoted = true;
      cell = '';
    } else if (c === ',') {
      cells.push(cell);
      cell = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      cells.push(cell);
      rows.push({ line: rowLine, cells });
      cells = [];
      cell = '';
      line++;
      rowLine = line;
    } else cell += c;
  }
  if (cell !== '' || cells.length > 0) {
    cells.push(cell);
    rows.push({ line: rowLine, cells });
  }
  return rows;
}

function parseJsonBody(text: string): ParsedBody {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    const at = locateJsonError(text);
    const where =
      at === null ? '' : ` at line ${at.line}, column ${at.column} (offset ${at.offset}): expected ${at.expected}, found ${at.found}`;
    const hint =
      at !== null && at.line > 1 && text.trimStart().startsWith('{')
        ? ' — if this is one record per line, send Content-Type: application/x-ndjson'
        : '';
    throw new IngestError('malformed-json', `malformed JSON${where} (${(e as Error).message})${hint}`, { cause: e });
  }
  if (Array.isArray(parsed)) return { records: parsed, preRejected: [] };
  // A single record is a batch of one; anything else is a client mistake worth naming.
  if (typeof parsed === 'object' && parsed !== null) return { records: [parsed], preRejected: [] };
  throw new IngestError(
    'invalid-body',
    `expected a JSON array of records or one record object; got ${parsed === null ? 'null' : typeof parsed}`,
  );
}

function parseNdjsonBody(text: string): ParsedBody {
  const records: unknown[] = [];
  const preRejected: PreRejected[] = [];
  let lineNumbers: number[] | undefined;
  let start = 0;
  let line = 0;
  while (start <= text.length) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    if (end > start) {
      const lineText = text.slice(start, end);
      let value: unknown;
      let ok = true;
      try {
        value = JSON.parse(lineText);
      } catch (e) {
        ok = false;
        if (!isBlank(lineText)) {
          const at = locateJsonError(lineText);
          const where = at === null ? '' : ` at column ${at.column}: expected ${at.expected}, found ${at.found}`;
          const message = `line ${line + 1} is not JSON${where} (${(e as Error).message})`;
          preRejected.push({
            index: line,
            reason: `expected one JSON record per line; ${message}`,
            errors: [{ path: '/', message }],
            payload: truncate(lineText),
          });
        }
      }
      if (ok) {
        // Line numbers are kept only once they differ from positions (a blank or bad line).
        if (lineNumbers === undefined && records.length !== line) lineNumbers = records.map((_, i) => i);
        records.push(value);
        lineNumbers?.push(line);
      }
    }
    start = end + 1;
    line++;
  }
  const numbers = lineNumbers;
  return numbers === undefined ? { records, preRejected } : { records, preRejected, indexOf: (position) => numbers[position] ?? position };
}

function isBlank(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09 && c !== 0xfeff) return false;
  }
  return true;
}

export interface JsonErrorLocation {
  /** 0-based UTF-16 offset into the text. */
  offset: number;
  /** 1-based. */
  line: number;
  /** 1-based. */
  column: number;
  expected: string;
  found: string;
}

const ARRAY = 0;
const OBJECT = 1;

/**
 * Where JSON text first stops being JSON, or null if it is valid. V8's JSON.parse messages only
 * sometimes carry a position ("Unexpected token '}', ..."1,}]" is not valid JSON" does not), and a
 * client with a 10 MB batch needs a line and column. Iterative, so deep nesting cannot overflow
 * the stack. Runs only after JSON.parse failed.
 */
export function locateJsonError(text: string): JsonErrorLocation | null {
  const n = text.length;
  const stack: number[] = [];
  let i = 0;
  let state: 'value' | 'key' | 'after' = 'value';

  const fail = (expected: string): JsonErrorLocation => {
    let line = 1;
    let lineStart = 0;
    for (let k = 0; k < i && k < n; k++) {
      if (text.charCodeAt(k) === 0x0a) {
        line++;
        lineStart = k + 1;
      }
    }
    const found = i >= n ? 'the end of the input' : JSON.stringify(text.slice(i, i + 12));
    return { offset: i, line, column: i - lineStart + 1, expected, found };
  };
  const skipWs = (): void => {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
      else break;
    }
  };
  // Returns an error description, or '' when a string was consumed.
  const scanString = (): string => {
    i++; // opening quote
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return '';
      }
      if (c < 0x20) return 'no control characters inside a string (escape them)';
      if (c === 0x5c) {
        const e = text[i + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) {
            i += 2;
            return 'four hex digits after \\u';
          }
          i += 6;
          continue;
        }
        if (e === undefined || !'"\\/bfnrt'.includes(e)) {
          i++;
          return 'one of \\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX';
        }
        i += 2;
        continue;
      }
      i++;
    }
    return 'a closing double quote';
  };
  const digits = (): number => {
    const s = i;
    while (i < n && text.charCodeAt(i) >= 0x30 && text.charCodeAt(i) <= 0x39) i++;
    return i - s;
  };
  const scanNumber = (): string => {
    if (text[i] === '-') i++;
    if (text[i] === '0') i++;
    else if (digits() === 0) return 'a digit';
    if (text[i] === '.') {
      i++;
      if (digits() === 0) return 'a digit after the decimal point';
    }
    if (text[i] === 'e' || text[i] === 'E') {
      i++;
      if (text[i] === '+' || text[i] === '-') i++;
      if (digits() === 0) return 'a digit in the exponent';
    }
    return '';
  };

  for (;;) {
    skipWs();
    if (state === 'value') {
      const c = text[i];
      if (c === '{') {
        stack.push(OBJECT);
        i++;
        skipWs();
        if (text[i] === '}') {
          i++;
          stack.pop();
          state = 'after';
        } else state = 'key';
      } else if (c === '[') {
        stack.push(ARRAY);
        i++;
        skipWs();
        if (text[i] === ']') {
          i++;
          stack.pop();
          state = 'after';
        } else state = 'value';
      } else if (c === '"') {
        const err = scanString();
        if (err !== '') return fail(err);
        state = 'after';
      } else if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) {
        const err = scanNumber();
        if (err !== '') return fail(err);
        state = 'after';
      } else if (text.startsWith('true', i) || text.startsWith('null', i)) {
        i += 4;
        state = 'after';
      } else if (text.startsWith('false', i)) {
        i += 5;
        state = 'after';
      } else {
        return fail('a value (object, array, string, number, true, false or null)');
      }
    } else if (state === 'key') {
      if (text[i] !== '"') return fail('a double-quoted property name');
      const err = scanString();
      if (err !== '') return fail(err);
      skipWs();
      if (text[i] !== ':') return fail("':' after a property name");
      i++;
      state = 'value';
    } else {
      const top = stack[stack.length - 1];
      if (top === undefined) return i >= n ? null : fail('the end of the input after a complete value');
      const c = text[i];
      if (c === ',') {
        i++;
        state = top === OBJECT ? 'key' : 'value';
      } else if ((top === OBJECT && c === '}') || (top === ARRAY && c === ']')) {
        i++;
        stack.pop();
      } else {
        return fail(top === OBJECT ? "',' or '}' after a property value" : "',' or ']' after an array element");
      }
    }
  }
}
