import { describe, expect, it } from 'vitest';
import { classThresholdTable, parseLabels, parseVisionModelConfig, visionInputLayout } from './model-config.js';

describe('vision model config', () => {
  it('fills the defaults of its type: YOLOX preprocessing vs Ultralytics', () => {
    expect(visionInputLayout({ type: 'yolox', modelPath: 'm.onnx', labelsPath: 'l.txt' })).toEqual({
      width: 416,
      height: 416,
      letterbox: 'top-left',
      channelOrder: 'bgr',
      pixelScale: 1,
    });
    expect(visionInputLayout({ type: 'yolov8', modelPath: 'm.onnx', labels: ['a'] })).toEqual({
      width: 640,
      height: 640,
      letterbox: 'center',
      channelOrder: 'rgb',
      pixelScale: 1 / 255,
    });
    const c = parseVisionModelConfig({
      type: 'yolov5',
      modelPath: 'm.onnx',
      labels: ['a'],
      scoreThreshold: 0.5,
      executionProvider: 'cuda',
    });
    expect(c).toMatchObject({ scoreThreshold: 0.5, nmsIouThreshold: 0.45, executionProvider: 'cuda', maxBatchSize: 8 });
  });

  it('gives a parsed config back unchanged when parsed again, for every type (the camera sources re-read it)', () => {
    for (const type of ['yolox', 'yolov5', 'yolov8', 'nanodet'] as const) {
      const parsed = parseVisionModelConfig({ type, modelPath: type === 'nanodet' ? 'm.json' : 'm.onnx', labels: ['car'] });
      expect(parseVisionModelConfig(parsed), type).toEqual(parsed);
      expect(visionInputLayout(parsed).width, type).toBe(parsed.inputWidth);
    }
    expect(() => parseVisionModelConfig({ type: 'yolox', modelPath: 'm.onnx', labels: ['car'], centerOffset: 0 })).toThrow(
      "'centerOffset': only nanodet has anchor points; got it for yolox",
    );
  });

  it('rejects unknown keys, bad values and missing parts, all at once', () => {
    expect(() =>
      parseVisionModelConfig({ type: 'yolov8', modelpath: 'x', scoreThreshold: 2, executionProvider: 'tpu', strides: [8] }),
    ).toThrow(
      /unknown key 'modelpath'.*'scoreThreshold': expected 0…1; got 2.*'executionProvider': expected one of cpu, cuda, tensorrt, webgpu; got "tpu".*'modelPath': expected the path.*expected 'labelsPath'.*or 'labels'; got neither.*'strides': only yolox and nanodet decode a grid/,
    );
    expect(() => parseVisionModelConfig({ type: 'yolo11', modelPath: 'x' })).toThrow(
      /expected vision model type one of yolox, yolov5, yolov8, nanodet \(YOLO11 exports use 'yolov8'\); got "yolo11"/,
    );
  });

  it('builds the per-class threshold table and checks class names against the labels', () => {
    const labels = parseLabels('person\ncar\r\ntruck\n\n');
    expect(labels).toEqual(['person', 'car', 'truck']);
    const c = parseVisionModelConfig({ type: 'yolox', modelPath: 'm', labels, classThresholds: { car: 0.5 }, classes: ['person', 'car'] });
    expect([...classThresholdTable(c, labels)]).toEqual([Math.fround(0.3), 0.5, Infinity]);
    const bad = parseVisionModelConfig({ type: 'yolox', modelPath: 'm', labels, classThresholds: { cat: 0.5 } });
    expect(() => classThresholdTable(bad, labels)).toThrow(/name classes the labels do not have: 'cat' \(labels: person, car, truck\)/);
  });
});
