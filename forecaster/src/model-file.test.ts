import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { builtinEnsembleModelPath, readEnsembleModelFile } from './model-file.js';

describe('ensemble model files', () => {
  it('reads the model shipped with the package, with its content version', async () => {
    const model = await readEnsembleModelFile(builtinEnsembleModelPath());
    expect(builtinEnsembleModelPath()).toContain(model.version);
  });

  it('names the file and the problem when a model cannot be used', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cityops-model-'));
    await expect(readEnsembleModelFile(join(dir, 'missing.json'))).rejects.toThrow(
      /expected a trained ensemble model file at '.*missing\.json'/,
    );
    writeFileSync(join(dir, 'bad.json'), '{"not": "a model"');
    await expect(readEnsembleModelFile(join(dir, 'bad.json'))).rejects.toThrow(/bad\.json' to hold a JSON ensemble model; it is not JSON/);
    writeFileSync(join(dir, 'wrong.json'), '{"version": 3}');
    await expect(readEnsembleModelFile(join(dir, 'wrong.json'))).rejects.toThrow(/wrong\.json' is not a valid ensemble model/);
  });
});
