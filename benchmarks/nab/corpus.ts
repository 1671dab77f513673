import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseNabTimestamp } from './scoring.js';

/** One NAB data file as read from disk, rows in file order. */
export interface NabDataFile {
  /** 'realTweets/Twitter_volume_AAPL.csv' — the key in labels/combined_windows.json. */
  name: string;
  category: string;
  file: string;
  /** The timestamp and value columns' text, written back unchanged. */
  timestampText: string[];
  valueText: string[];
  timestamps: Float64Array;
  values: Float64Array;
  windows: (readonly [number, number])[];
}

/**
 * Reads every `<data>/data/<category>/<file>.csv` and its windows from
 * `<data>/labels/combined_windows.json`. A file without an entry in the labels is an error:
 * scoring it as "no anomalies" would silently turn its real anomalies into false positives.
 */
export function readNabCorpus(dataDir: string): NabDataFile[] {
  const labelsPath = join(dataDir, 'labels', 'combined_windows.json');
  const labels = JSON.parse(readFileSync(labelsPath, 'utf8')) as Record<string, [string, string][]>;
  const files: NabDataFile[] = [];
  const root = join(dataDir, 'data');
  for (const category of readdirSync(root).sort()) {
    for (const file of readdirSync(join(root, category)).sort()) {
      if (!file.endsWith('.csv')) continue;
      const name = `${category}/${file}`;
      const limits = labels[name];
      if (limits === undefined) throw new Error(`expected windows for ${name} in ${labelsPath}; it has none`);
      const lines = readFileSync(join(root, category, file), 'utf8').split(/\r?\n/);
      if (lines[0]?.trim() !== 'timestamp,value') {
        throw new Error(`${name}: expected the header 'timestamp,value'; got '${lines[0] ?? ''}'`);
      }
      const timestampText: string[] = [];
      const valueText: string[] = [];
      for (let i = 1; i < lines.length; i++) {
        const line = lines[i]!;
        if (line.trim() === '') continue;
        const comma = line.indexOf(',');
        if (comma < 0) throw new Error(`${name}:${i + 1}: expected 'timestamp,value'; got '${line}'`);
        timestampText.push(line.slice(0, comma));
        valueText.push(line.slice(comma + 1));
      }
      files.push({
        name,
        category,
        file,
        timestampText,
        valueText,
        timestamps: Float64Array.from(timestampText, parseNabTimestamp),
        // An unparsable value becomes NaN, which the detector skips and counts like any bad reading.
        values: Float64Array.from(valueText, (v) => Number(v)),
        windows: limits.map(([a, b]) => [parseNabTimestamp(a), parseNabTimestamp(b)] as const),
      });
    }
  }
  return files;
}
