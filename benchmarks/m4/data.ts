/**
 * Reading the M4 competition files (Makridakis, Spiliotis & Assimakopoulos, "The M4 Competition:
 * 100,000 time series and 61 forecasting methods", IJF 36(1), 2020) as the organisers publish
 * them: one row per series, the id then the values, shorter rows padded with empty cells.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

export interface M4Series {
  id: string;
  values: Float64Array;
}

/** Rows of an M4 values file (`"V1","V2",…` header; `"H1","605",…`; empty or NA cells end a row). */
export function readSeriesFile(path: string): M4Series[] {
  const lines = readFileSync(path, 'utf8').split(/\r?\n/);
  const out: M4Series[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.length === 0) continue;
    const cells = line.split(',');
    const id = unquote(cells[0]!);
    const values: number[] = [];
    for (let c = 1; c < cells.length; c++) {
      const cell = unquote(cells[c]!);
      if (cell === '' || cell === 'NA') break;
      const v = Number(cell);
      if (!Number.isFinite(v)) throw new Error(`${path}:${i + 1}: expected a number in column ${c + 1} of ${id}; got '${cell}'`);
      values.push(v);
    }
    out.push({ id, values: Float64Array.from(values) });
  }
  return out;
}

/** Forecast rows of a submission file (`id,F1…F48`), keyed by series id, NA cells dropped. */
export function readSubmission(path: string, prefix: string): Map<string, Float64Array> {
  const out = new Map<string, Float64Array>();
  for (const s of readSeriesFile(path)) if (s.id.startsWith(prefix)) out.set(s.id, s.values);
  return out;
}

export interface M4Info {
  /** The MASE seasonal lag M4 uses for the frequency (Hourly 24, Weekly 1). */
  maseLag: number;
  horizon: number;
}

/** M4-info rows for one frequency prefix ('H', 'W'). */
export function readInfo(path: string, prefix: string): Map<string, M4Info> {
  const out = new Map<string, M4Info>();
  const lines = readFileSync(path, 'utf8').split(/\r?\n/);
  for (const line of lines.slice(1)) {
    const [id, , frequency, horizon] = line.split(',').map(unquote);
    if (id === undefined || !id.startsWith(prefix)) continue;
    out.set(id, { maseLag: Number(frequency), horizon: Number(horizon) });
  }
  return out;
}

/** Writes rows in M4 submission layout: `id,F1,…,Fh`. */
export function writeSubmission(path: string, ids: readonly string[], rows: Float64Array, horizon: number): void {
  const header = ['id', ...Array.from({ length: horizon }, (_, k) => `F${k + 1}`)].join(',');
  const lines = [header];
  for (let j = 0; j < ids.length; j++) {
    const cells = [ids[j]!];
    for (let k = 0; k < horizon; k++) cells.push(String(Number(rows[j * horizon + k]!.toPrecision(10))));
    lines.push(cells.join(','));
  }
  writeFileSync(path, `${lines.join('\n')}\n`);
}

export function fileIfPresent(path: string): string | undefined {
  return existsSync(path) ? path : undefined;
}

function unquote(cell: string): string {
  const t = cell.trim();
  return t.startsWith('"') && t.endsWith('"') ? t.slice(1, -1) : t;
}
