/**
 * Trains the anomaly ensemble's learned member on generated series and writes its weights:
 *
 *   node --conditions=@cityops/source --import tsx detectors/src/timeseries/train-neural-forecast.ts [--out detectors/models/neural-forecast.json] [--seed N]
 *
 * (or, after a build, `node detectors/dist/timeseries/train-neural-forecast.js`). Deterministic: the
 * same seed gives the same file. The network is converted to ONNX in code at
 * load time (neural-forecast-model.ts), so only the weights are shipped.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { weightsToJson } from './neural-forecast-model.js';
import { trainNeuralForecast } from './neural-forecast-training.js';

const { values: args } = parseArgs({
  options: {
    out: { type: 'string', default: fileURLToPath(new URL('../../models/neural-forecast.json', import.meta.url)) },
    seed: { type: 'string' },
    samples: { type: 'string' },
  },
});

const started = Date.now();
const result = trainNeuralForecast({
  ...(args.seed === undefined ? {} : { seed: Number(args.seed) }),
  ...(args.samples === undefined ? {} : { samples: Number(args.samples) }),
});
writeFileSync(args.out, weightsToJson(result.weights));
console.log(`wrote ${args.out} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
console.log(`validation_huber_loss=${result.validationLoss.toFixed(5)} persistence_huber_loss=${result.persistenceLoss.toFixed(5)}`);
