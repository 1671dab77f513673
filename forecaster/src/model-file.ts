import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parseEnsembleModel, type EnsembleModel } from './ensemble.js';
import { ForecastError } from './errors.js';

/**
 * The trained ensemble shipped with the package (forecaster/models/), produced by
 * `npm run train:m4 -- --data <m4 dir> --freq Hourly --out forecaster/models`: the model
 * `npm start` forecasts with, so no model is downloaded at run time. Its name carries its
 * content version; a retrain writes a new file and this path moves with it.
 */
export const BUILTIN_ENSEMBLE_MODEL_FILE = 'ensemble-m4-hourly-0ac5e862.json';

/** Where the shipped model lies (the same from src/ and dist/: both sit one level below the package). */
export function builtinEnsembleModelPath(): string {
  return fileURLToPath(new URL(`../models/${BUILTIN_ENSEMBLE_MODEL_FILE}`, import.meta.url));
}

/** Reads and validates a trained ensemble file; errors name the file and what was wrong. */
export async function readEnsembleModelFile(path: string): Promise<EnsembleModel> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new ForecastError(
      'invalid-config',
      `expected a trained ensemble model file at '${path}'; could not read it: ${(e as Error).message}`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ForecastError('invalid-config', `expected '${path}' to hold a JSON ensemble model; it is not JSON: ${(e as Error).message}`);
  }
  try {
    return parseEnsembleModel(json);
  } catch (e) {
    throw new ForecastError('invalid-config', `'${path}' is not a valid ensemble model: ${(e as Error).message}`, { cause: e });
  }
}
