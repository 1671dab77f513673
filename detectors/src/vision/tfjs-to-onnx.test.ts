import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { parseTfjsGraphModel, type TfjsGraphModel } from './tfjs-graph-model.js';
import { tfjsToOnnx } from './tfjs-to-onnx.js';

/** A tiny TF.js graph model: NHWC input → Conv2D SAME stride 2 + bias → Relu6 → Identity, weights as float32. */
function tinyModel(extraOp?: string): TfjsGraphModel {
  const filter = Float32Array.from({ length: 3 * 3 * 2 * 4 }, (_, i) => ((i * 37) % 11) / 10 - 0.5);
  const bias = Float32Array.of(0.1, -0.2, 0.3, 6);
  const weights = new Uint8Array([...new Uint8Array(filter.buffer), ...new Uint8Array(bias.buffer)]);
  const json = {
    format: 'graph-model',
    signature: {
      inputs: {
        'x:0': { name: 'x:0', dtype: 'DT_FLOAT', tensorShape: { dim: [{ size: '1' }, { size: '5' }, { size: '5' }, { size: '2' }] } },
      },
      outputs: { 'Identity:0': { name: 'Identity:0', dtype: 'DT_FLOAT' } },
    },
    modelTopology: {
      node: [
        { name: 'x', op: 'Placeholder', attr: { dtype: { type: 'DT_FLOAT' } } },
        { name: 'w', op: 'Const' },
        { name: 'b', op: 'Const' },
        {
          name: 'conv',
          op: 'Conv2D',
          input: ['x', 'w'],
          attr: {
            padding: { s: Buffer.from('SAME').toString('base64') },
            strides: { list: { i: ['1', '2', '2', '1'] } },
            data_format: { s: Buffer.from('NHWC').toString('base64') },
          },
        },
        { name: 'add', op: 'BiasAdd', input: ['conv', 'b'] },
        { name: 'act', op: extraOp ?? 'Relu6', input: ['add'] },
        { name: 'Identity', op: 'Identity', input: ['act'] },
      ],
    },
    weightsManifest: [
      {
        paths: [],
        weights: [
          { name: 'w', shape: [3, 3, 2, 4], dtype: 'float32' },
          { name: 'b', shape: [4], dtype: 'float32' },
        ],
      },
    ],
  };
  return parseTfjsGraphModel(json, weights);
}

/** The same computation written out: SAME padding of a 5×5 input at stride 2 is one cell on each side. */
function reference(x: Float32Array, model: TfjsGraphModel): Float32Array {
  const w = model.weights.get('w')!.data;
  const b = model.weights.get('b')!.data;
  const out = new Float32Array(3 * 3 * 4);
  for (let oy = 0; oy < 3; oy++)
    for (let ox = 0; ox < 3; ox++)
      for (let o = 0; o < 4; o++) {
        let s = b[o]!;
        for (let ky = 0; ky < 3; ky++)
          for (let kx = 0; kx < 3; kx++) {
            const y = oy * 2 + ky - 1;
            const xx = ox * 2 + kx - 1;
            if (y < 0 || y >= 5 || xx < 0 || xx >= 5) continue;
            for (let i = 0; i < 2; i++) s += x[(y * 5 + xx) * 2 + i]! * w[((ky * 3 + kx) * 2 + i) * 4 + o]!;
          }
        out[(oy * 3 + ox) * 4 + o] = Math.min(6, Math.max(0, s));
      }
  return out;
}

describe('tfjsToOnnx', () => {
  it('runs an NHWC conv with SAME padding, fused bias and Relu6 as TF computes it, for a batch of frames', async () => {
    const model = tinyModel();
    const session = await ort.InferenceSession.create(tfjsToOnnx(model));
    expect(session.inputMetadata[0]!.isTensor && session.inputMetadata[0]!.shape).toEqual(['batch', 5, 5, 2]);
    const a = Float32Array.from({ length: 50 }, (_, i) => Math.sin(i));
    const b = Float32Array.from({ length: 50 }, (_, i) => Math.cos(i * 3));
    const out = (await session.run({ x: new ort.Tensor('float32', Float32Array.from([...a, ...b]), [2, 5, 5, 2]) }))['Identity']!;
    expect(out.dims).toEqual([2, 3, 3, 4]);
    const data = out.data as Float32Array;
    const expected = [...reference(a, model), ...reference(b, model)];
    expected.forEach((v, i) => expect(data[i]).toBeCloseTo(v, 5));
    await session.release();
  });

  it('names the node and op it cannot convert', () => {
    expect(() => tfjsToOnnx(tinyModel('Erf'))).toThrow(
      /TF\.js node 'act' \(Erf\): expected one of the supported ops \(.*\); this op is not converted/,
    );
  });
});
