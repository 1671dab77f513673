import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { ConfigError } from './config.js';

/*
 * `cityops replay <file.csv>`: a history file (ticks or readings, CSV with a header) sent to a
 * running platform's ingest API in event-time order, paced by the gaps between event times
 * divided by `--speed` (0: as fast as ingest accepts). What the platform does with it is what it
 * does with live data — forecasts, warnings, the analyst's track record — so a past episode can
 * be replayed through today's models. Bad rows come back as the API names them and go to the
 * dead-letter topic there; the replay goes on.
 */

export interface ReplayOptions {
  file: string;
  /** Base URL of the platform. Default http://127.0.0.1:$PORT. */
  url: string;
  apiKey: string;
  /** Event time runs this many times faster than real time; 0 sends without pauses. */
  speed: number;
  /** Rows per request. */
  chunkRows: number;
}

export interface ReplayReport {
  rows: number;
  accepted: number;
  rejected: number;
  requests: number;
  firstError: string;
}

export function replayOptions(argv: readonly string[], env: NodeJS.ProcessEnv): ReplayOptions {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: { speed: { type: 'string', default: '0' }, url: { type: 'string' }, 'chunk-rows': { type: 'string', default: '1000' } },
  });
  const file = positionals[1];
  if (file === undefined)
    throw new ConfigError('cityops replay: expected a CSV file (cityops replay history.csv [--speed 3600] [--url …]); got none');
  const speed = Number(values.speed);
  if (!Number.isFinite(speed) || speed < 0)
    throw new ConfigError(`cityops replay: expected --speed to be 0 or more; got '${values.speed}'`);
  const chunkRows = Number(values['chunk-rows']);
  if (!Number.isInteger(chunkRows) || chunkRows < 1 || chunkRows > 50_000) {
    throw new ConfigError(`cityops replay: expected --chunk-rows to be a whole number 1…50000; got '${values['chunk-rows']}'`);
  }
  const apiKey = env.CITYOPS_API_KEY ?? '';
  if (apiKey === '') throw new ConfigError('cityops replay: expected CITYOPS_API_KEY (an ingest key of the platform); got none');
  return { file, url: values.url ?? `http://127.0.0.1:${env.PORT || '3000'}`, apiKey, speed, chunkRows };
}

export async function replayFile(options: ReplayOptions, log: (line: string) => void = () => {}): Promise<ReplayReport> {
  const text = (await readFile(options.file, 'utf8')).replace(/^\uFEFF/, '');
  const [headerLine = '', ...lines] = text.split(/\r?\n/);
  const header = headerLine.split(',').map((h) => h.trim());
  const tsColumn = header.indexOf('ts');
  if (tsColumn < 0) throw new ConfigError(`${options.file}: expected a header with a 'ts' column; got '${headerLine.slice(0, 200)}'`);
  const endpoint = header.includes('sensor_id') ? 'readings' : 'ticks';
  // Event-time order; a row whose time does not parse keeps its place and is refused by the API, naming /ts.
  const rows = lines
    .filter((l) => l.trim() !== '')
    .map((line, i) => ({ line, i, ts: timeOf(line.split(',')[tsColumn]) }))
    .sort((a, b) => (Number.isFinite(a.ts) && Number.isFinite(b.ts) ? a.ts - b.ts : a.i - b.i));
  const report: ReplayReport = { rows: rows.length, accepted: 0, rejected: 0, requests: 0, firstError: '' };
  const started = Date.now();
  const firstTs = rows.find((r) => Number.isFinite(r.ts))?.ts ?? 0;
  for (let from = 0; from < rows.length; from += options.chunkRows) {
    const chunk = rows.slice(from, from + options.chunkRows);
    const due = options.speed > 0 && Number.isFinite(chunk[0]!.ts) ? started + (chunk[0]!.ts - firstTs) / options.speed : 0;
    if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
    const res = await fetch(`${options.url}/api/ingest/${endpoint}`, {
      method: 'POST',
      headers: { 'content-type': 'text/csv', 'x-api-key': options.apiKey },
      body: [headerLine, ...chunk.map((r) => r.line)].join('\n'),
    });
    report.requests++;
    const answer = (await res.json().catch(() => ({}))) as { accepted?: number; rejected?: number; message?: string; errors?: unknown[] };
    if (res.status === 202 || res.status === 422) {
      report.accepted += answer.accepted ?? 0;
      report.rejected += answer.rejected ?? 0;
      if (res.status === 422 && report.firstError === '') report.firstError = JSON.stringify(answer.errors?.[0] ?? answer).slice(0, 300);
    } else {
      throw new Error(`${options.url}/api/ingest/${endpoint}: expected 202 or 422; got ${res.status} ${answer.message ?? ''}`.trim());
    }
    log(`${Math.min(rows.length, from + chunk.length)}/${rows.length} rows sent, ${report.accepted} accepted, ${report.rejected} refused`);
  }
  return report;
}

function timeOf(cell: string | undefined): number {
  const text = (cell ?? '').trim();
  return /^\d+$/.test(text) ? Number(text) : Date.parse(text);
}
