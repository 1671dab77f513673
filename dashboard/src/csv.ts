/*
 * CSV downloads of the analysts' routes (RFC 4180: quoted where needed, CRLF line ends), so a
 * spreadsheet opens them as they are. A text cell starting with = + - @ gets a leading apostrophe:
 * an indicator name or a warning title must never run as a formula (CSV injection), while
 * negative numbers stay numbers. Same rules as @cityops/incidents' report CSV.
 */

export type CsvCell = string | number | boolean | null | undefined;

export function csvField(v: CsvCell): string {
  if (v === null || v === undefined) return '';
  const s = String(v);
  const safe = typeof v === 'string' && /^[=+\-@\t\r]/.test(s) ? `'${s}` : s;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** A header row and data rows as one CSV text, ending with CRLF. */
export function toCsv(header: readonly string[], rows: readonly (readonly CsvCell[])[]): string {
  return [header, ...rows].map((r) => `${r.map(csvField).join(',')}\r\n`).join('');
}

/** Epoch ms as ISO 8601 UTC, the form spreadsheets parse. */
export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}
