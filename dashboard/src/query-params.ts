import { INCIDENT_STATUSES, type IncidentStatus } from '@cityops/schemas';
import { DashboardError } from './errors.js';

/*
 * Query-parameter parsing for the JSON API. Each parser either returns a typed value or throws a
 * 400 DashboardError whose message names the parameter, says what was expected and what came,
 * so an analyst typing a URL by hand sees at once what to fix.
 */

function bad(name: string, expected: string, got: string): DashboardError {
  const shown = got.length > 60 ? `${got.slice(0, 57)}...` : got;
  return new DashboardError('bad-request', `query parameter '${name}': expected ${expected}; got '${shown}'`);
}

/** The single value of a parameter; a repeated parameter is an error (which one was meant?). */
function single(params: URLSearchParams, name: string): string | undefined {
  const all = params.getAll(name);
  if (all.length > 1) throw bad(name, 'at most one value', all.join("', '"));
  return all[0];
}

export function intParam(params: URLSearchParams, name: string, range: { min: number; max: number; default: number }): number {
  const raw = single(params, name);
  if (raw === undefined || raw === '') return range.default;
  const expected = `an integer from ${range.min} to ${range.max}`;
  if (!/^-?\d+$/.test(raw)) throw bad(name, expected, raw);
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < range.min || value > range.max) throw bad(name, expected, raw);
  return value;
}

/** `format=json` (default) or `format=csv`: the analysts' routes answer both. */
export function formatParam(params: URLSearchParams): 'json' | 'csv' {
  const raw = single(params, 'format');
  if (raw === undefined || raw === '' || raw === 'json') return 'json';
  if (raw === 'csv') return 'csv';
  throw bad('format', 'json or csv', raw);
}

/** Bounds of EpochMs in @cityops/schemas: catches seconds or microseconds passed by mistake. */
const MIN_EPOCH_MS = 946_684_800_000;
const MAX_EPOCH_MS = 4_102_444_800_000;

/** Undefined when the parameter is absent; the caller picks the default. */
export function epochMsParam(params: URLSearchParams, name: string): number | undefined {
  const raw = single(params, name);
  if (raw === undefined || raw === '') return undefined;
  const expected = 'epoch milliseconds (an integer between 2000-01-01 and 2100-01-01)';
  if (!/^\d+$/.test(raw)) throw bad(name, expected, raw);
  const value = Number(raw);
  if (value < MIN_EPOCH_MS || value > MAX_EPOCH_MS) throw bad(name, expected, raw);
  return value;
}

/** `status=open,dispatched` or `status=open&status=dispatched`; undefined when absent (= every status). */
export function incidentStatusesParam(params: URLSearchParams, name: string): IncidentStatus[] | undefined {
  const values = params
    .getAll(name)
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v !== '');
  if (values.length === 0) return undefined;
  const statuses: IncidentStatus[] = [];
  for (const v of values) {
    const status = INCIDENT_STATUSES.find((s) => s === v);
    if (status === undefined) throw bad(name, `a comma-separated list of ${INCIDENT_STATUSES.join(', ')}`, v);
    if (!statuses.includes(status)) statuses.push(status);
  }
  return statuses;
}

/** Same bounds as the contracts' Id: what a stored record's id can be. */
const ID_PATTERN = /^[A-Za-z0-9._:@/-]{1,128}$/;

/** A query parameter that must be a record id; undefined when absent or empty. */
export function idParam(params: URLSearchParams, name: string): string | undefined {
  const raw = single(params, name);
  if (raw === undefined || raw === '') return undefined;
  if (!ID_PATTERN.test(raw)) throw bad(name, 'an id of 1–128 characters [A-Za-z0-9._:@/-]', raw);
  return raw;
}

/** A path segment that must be a record id (already URL-decoded). */
export function idSegment(name: string, raw: string): string {
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    throw new DashboardError('bad-request', `path segment '${name}': expected a URL-encoded id; got '${raw}'`);
  }
  if (!ID_PATTERN.test(decoded)) {
    throw new DashboardError(
      'bad-request',
      `path segment '${name}': expected an id of 1–128 characters [A-Za-z0-9._:@/-]; got '${decoded.slice(0, 60)}'`,
    );
  }
  return decoded;
}
