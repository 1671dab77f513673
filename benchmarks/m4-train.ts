/**
 * m4-train — trains the forecast ensemble for one M4 frequency and saves it as a versioned file.
 *
 *   node scripts/run-bench.mjs m4-train --data /work/shared/data/m4 --freq Hourly|Weekly --out <dir>
 *        [--split test|validation]
 *
 * Training reads the training file only. With --split validation (the default for Weekly, whose
 * test set is held back) the last h points of each series are left out, so the model can be
 * scored on them by `m4 --split validation --model <file>`. Writes <dir>/ensemble-<version>.json
 * and prints model_version and the path; the version is a hash of the file's content.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { trainEnsemble } from '@cityops/forecaster';
import { M4_FREQUENCIES, parseFrequency } from './m4/config.js';
import { fileIfPresent, readSeriesFile } from './m4/data.js';

const { values: args } = parseArgs({
  options: {
    data: { type: 'string', default: '/work/shared/data/m4' },
    freq: { type: 'string', default: 'Hourly' },
    out: { type: 'string', default: '/tmp/m4-models' },
    split: { type: 'string' },
  },
});
const freq = parseFrequency(args.freq);
const { train: config } = M4_FREQUENCIES[freq];
const split = args.split ?? (fileIfPresent(join(args.data, `${freq}-test.csv`)) !== undefined ? 'test' : 'validation');
if (split !== 'test' && split !== 'validation') throw new Error(`expected --split test or validation; got ${split}`);
const series = readSeriesFile(join(args.data, `${freq}-train.csv`)).map((s) =>
  split === 'test' ? s.values : s.values.subarray(0, s.values.length - config.horizon),
);
const model = trainEnsemble(series, { ...config, onProgress: (line) => console.log(line) });
mkdirSync(args.out, { recursive: true });
const path = join(args.out, `ensemble-${model.version}.json`);
writeFileSync(path, JSON.stringify(model));
console.log(`path=${path}`);
console.log(`model_version=${model.version}`);
