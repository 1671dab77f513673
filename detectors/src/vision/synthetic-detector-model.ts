import { encodeModel, type GraphNode, type Initializer } from '@cityops/ml';

/**
 * Detector-shaped ONNX models built in code, whose outputs are a deterministic function of the
 * input pixels — so tests (and `cityops doctor`-style checks) can drive a REAL ONNX Runtime
 * session through decoding, NMS, tracking and rules without a model file or trained weights.
 *
 * The graph, per stride s (8, 16, 32): AveragePool(s×s) gives each grid cell its mean colour;
 * a 1×1 Conv with constant weights turns the mean colour into scores; a zero-weight Conv plus a
 * constant grid gives the box channels. A cell is "an object" when it is painted a saturated
 * colour on the grey letterbox background (114):
 *
 *   class 0 — red   (R high, G and B low), class 1 — blue, class 2 — green; more classes never fire.
 *   score   = sigmoid((2·c − o1 − o2 − 384) / 32) for the class colour c: full red 255 → 0.98,
 *             R 200 → 0.62, R 180 → 0.32, a quarter-covered coarser cell → ~0 — so intensity
 *             grades the score, and only the finest cell that the object fills fires.
 *   box     = centred on that cell: centre (g + 0.5)·s, width and height s (× boxCells).
 *
 * Output layouts follow the real formats (see detector-plugins.ts): YOLOX [N, A, 5 + C] with
 * grid-relative boxes (tx = ty = 0.5, tw = th = 0) and sigmoid objectness; YOLOv5 [N, A, 5 + C]
 * with pixel boxes and objectness; YOLOv8/11 [N, 4 + C, A] with pixel boxes and no objectness.
 * Objectness is sigmoid(((R − G) + (B − G) − 128) / 32): high for red and blue, low for grey.
 */

export type SyntheticFormat = 'yolox' | 'yolov5' | 'yolov8';

export interface SyntheticModelOptions {
  format: SyntheticFormat;
  /** Square input size in px; a multiple of 32. Default 64. */
  inputSize?: number;
  /** Number of classes in the output. Default 3. */
  classes?: number;
  /** Symbolic batch dimension 'N' (true) or a fixed batch of 1. Default true. */
  dynamicBatch?: boolean;
  /** Channel order the model expects its input in. Default: 'bgr' for yolox, 'rgb' otherwise. */
  channelOrder?: 'rgb' | 'bgr';
  /** Model input value per pixel value (1 for 0..255, 1/255 for 0..1). Default: 1 for yolox, 1/255 otherwise. */
  pixelScale?: number;
  /**
   * Box edge in cells, centred on the cell (1 = exactly the cell). Larger boxes overlap from one
   * cell to the next, so a tracker can follow a square that moves a cell per frame. Default 1.
   */
  boxCells?: number;
  /** Input and output tensor names. Defaults 'images' and 'output' (as YOLOX and Ultralytics export). */
  inputName?: string;
  outputName?: string;
}

export const SYNTHETIC_STRIDES = [8, 16, 32] as const;
/** Colour signature per class: which RGB channel is the class colour. */
const CLASS_CHANNEL = [0, 2, 1] as const;
const K = 1 / 32;

export function buildSyntheticDetectorModel(options: SyntheticModelOptions): Uint8Array {
  const { format } = options;
  const size = options.inputSize ?? 64;
  const classes = options.classes ?? 3;
  const order = options.channelOrder ?? (format === 'yolox' ? 'bgr' : 'rgb');
  const scale = options.pixelScale ?? (format === 'yolox' ? 1 : 1 / 255);
  const inputName = options.inputName ?? 'images';
  const outputName = options.outputName ?? 'output';
  const boxCells = options.boxCells ?? 1;
  if (size % 32 !== 0 || size < 32) throw new RangeError(`expected inputSize a multiple of 32; got ${size}`);
  const objectness = format !== 'yolov8';
  const depth = 4 + (objectness ? 1 : 0) + classes;
  // Model input channel index of each RGB channel.
  const at = (rgb: number): number => (order === 'rgb' ? rgb : 2 - rgb);

  const nodes: GraphNode[] = [];
  const inits: Initializer[] = [];
  const perStride: string[] = [];
  let anchors = 0;
  for (const s of SYNTHETIC_STRIDES) {
    const g = size / s;
    anchors += g * g;
    const mean = `mean_s${s}`;
    nodes.push({
      op: 'AveragePool',
      inputs: [inputName],
      outputs: [mean],
      attributes: { kernel_shape: { ints: [s, s] }, strides: { ints: [s, s] } },
    });

    // Scores: objectness (optional) then classes, each a weighted sum of the cell's mean colour.
    const scoreRows = (objectness ? 1 : 0) + classes;
    const w = new Float32Array(scoreRows * 3);
    const b = new Float32Array(scoreRows);
    let row = 0;
    if (objectness) {
      // (R − G) + (B − G) − 128
      w[row * 3 + at(0)] = K / scale;
      w[row * 3 + at(1)] = (-2 * K) / scale;
      w[row * 3 + at(2)] = K / scale;
      b[row] = -128 * K;
      row++;
    }
    for (let c = 0; c < classes; c++, row++) {
      const ch = CLASS_CHANNEL[c];
      if (ch === undefined) {
        b[row] = -20; // a class with no colour signature never fires
        continue;
      }
      for (let rgb = 0; rgb < 3; rgb++) w[row * 3 + at(rgb)] = (rgb === ch ? 2 * K : -K) / scale;
      b[row] = -384 * K;
    }
    inits.push({ name: `w_cls_s${s}`, dims: [scoreRows, 3, 1, 1], data: w }, { name: `b_cls_s${s}`, dims: [scoreRows], data: b });
    nodes.push({ op: 'Conv', inputs: [mean, `w_cls_s${s}`, `b_cls_s${s}`], outputs: [`logit_s${s}`] });
    nodes.push({ op: 'Sigmoid', inputs: [`logit_s${s}`], outputs: [`score_s${s}`] });

    // Boxes: zeros of the batch's shape (a zero-weight conv) plus constants.
    inits.push(
      { name: `w_box_s${s}`, dims: [4, 3, 1, 1], data: new Float32Array(12) },
      { name: `b_box_s${s}`, dims: [4], data: new Float32Array(4) },
    );
    nodes.push({ op: 'Conv', inputs: [mean, `w_box_s${s}`, `b_box_s${s}`], outputs: [`zero_s${s}`] });
    const grid = new Float32Array(4 * g * g);
    for (let y = 0; y < g; y++) {
      for (let x = 0; x < g; x++) {
        const i = y * g + x;
        if (format === 'yolox') {
          // tx, ty offsets within the cell; tw = th = ln(boxCells) → boxCells·s.
          grid[i] = 0.5;
          grid[g * g + i] = 0.5;
          grid[2 * g * g + i] = Math.log(boxCells);
          grid[3 * g * g + i] = Math.log(boxCells);
        } else {
          grid[i] = (x + 0.5) * s;
          grid[g * g + i] = (y + 0.5) * s;
          grid[2 * g * g + i] = s * boxCells;
          grid[3 * g * g + i] = s * boxCells;
        }
      }
    }
    inits.push({ name: `grid_s${s}`, dims: [1, 4, g, g], data: grid });
    nodes.push({ op: 'Add', inputs: [`zero_s${s}`, `grid_s${s}`], outputs: [`box_s${s}`] });

    nodes.push({ op: 'Concat', inputs: [`box_s${s}`, `score_s${s}`], outputs: [`cells_s${s}`], attributes: { axis: { int: 1 } } });
    inits.push({ name: `shape_s${s}`, dims: [3], data: { int64: [0, depth, -1] } });
    nodes.push({ op: 'Reshape', inputs: [`cells_s${s}`, `shape_s${s}`], outputs: [`flat_s${s}`] });
    perStride.push(`flat_s${s}`);
  }
  const batch = options.dynamicBatch === false ? 1 : 'N';
  if (format === 'yolov8') {
    nodes.push({ op: 'Concat', inputs: perStride, outputs: [outputName], attributes: { axis: { int: 2 } } });
  } else {
    nodes.push({ op: 'Concat', inputs: perStride, outputs: ['all'], attributes: { axis: { int: 2 } } });
    nodes.push({ op: 'Transpose', inputs: ['all'], outputs: [outputName], attributes: { perm: { ints: [0, 2, 1] } } });
  }
  return encodeModel({
    name: `cityops-synthetic-${format}`,
    nodes,
    initializers: inits,
    inputs: [{ name: inputName, shape: [batch, 3, size, size] }],
    outputs: [{ name: outputName, shape: format === 'yolov8' ? [batch, depth, anchors] : [batch, anchors, depth] }],
  });
}
