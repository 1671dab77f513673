import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { encodeModel, ONNX_INT64 } from './onnx-graph-builder.js';

describe('encodeModel', () => {
  it('writes string attributes, negative ints and int64 inputs that ONNX Runtime reads as meant', async () => {
    // Resize needs its mode as a string attribute; Concat takes axis -1; Reshape an int64 shape with -1.
    const bytes = encodeModel({
      name: 'attrs',
      nodes: [
        {
          op: 'Resize',
          inputs: ['x', '', 'scales'],
          outputs: ['up'],
          attributes: { mode: { string: 'nearest' }, coordinate_transformation_mode: { string: 'asymmetric' } },
        },
        { op: 'Concat', inputs: ['up', 'up'], outputs: ['wide'], attributes: { axis: { int: -1 } } },
        { op: 'Reshape', inputs: ['wide', 'shape'], outputs: ['y'] },
      ],
      initializers: [
        { name: 'scales', dims: [4], data: Float32Array.of(1, 1, 2, 2) },
        { name: 'shape', dims: [2], data: { int64: [0, -1] } },
      ],
      inputs: [{ name: 'x', shape: ['batch', 1, 1, 2] }],
      outputs: [{ name: 'y', shape: ['batch', 16] }],
    });
    const session = await ort.InferenceSession.create(bytes);
    const out = (await session.run({ x: new ort.Tensor('float32', Float32Array.of(1, 2, 3, 4), [2, 1, 1, 2]) }))['y']!;
    expect(out.dims).toEqual([2, 16]);
    expect([...(out.data as Float32Array)].slice(0, 8)).toEqual([1, 1, 2, 2, 1, 1, 2, 2]);
    expect([...(out.data as Float32Array)].slice(16, 24)).toEqual([3, 3, 4, 4, 3, 3, 4, 4]);
    await session.release();
  });

  it('declares int64 graph outputs when asked', async () => {
    const bytes = encodeModel({
      name: 'shape',
      nodes: [{ op: 'Shape', inputs: ['x'], outputs: ['s'] }],
      initializers: [],
      inputs: [{ name: 'x', shape: ['n', 3] }],
      outputs: [{ name: 's', shape: [2], elemType: ONNX_INT64 }],
    });
    const session = await ort.InferenceSession.create(bytes);
    const out = (await session.run({ x: new ort.Tensor('float32', new Float32Array(15), [5, 3]) }))['s']!;
    expect([...(out.data as BigInt64Array)]).toEqual([5n, 3n]);
    await session.release();
  });
});
