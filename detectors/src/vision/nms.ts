/**
 * Candidate boxes of one frame (struct of arrays, reused across frames: no object per anchor)
 * and class-aware non-maximum suppression.
 *
 * Class-aware: a box only suppresses boxes of its own class, so a person on a bicycle keeps
 * both boxes (the YOLOX demo's `multiclass_nms_class_aware`, Ultralytics' default `agnostic=False`).
 * Greedy NMS in score order, O(k²) over the k candidates above the score threshold — small after
 * thresholding (tens to a few hundred), so no spatial index is worth it.
 */
export class Candidates {
  count = 0;
  x1: Float32Array;
  y1: Float32Array;
  x2: Float32Array;
  y2: Float32Array;
  score: Float32Array;
  classId: Int32Array;
  /** Scratch for NMS: candidate indices in score order, and suppression flags. */
  private order: Int32Array;
  private suppressed: Uint8Array;

  constructor(capacity = 1024) {
    this.x1 = new Float32Array(capacity);
    this.y1 = new Float32Array(capacity);
    this.x2 = new Float32Array(capacity);
    this.y2 = new Float32Array(capacity);
    this.score = new Float32Array(capacity);
    this.classId = new Int32Array(capacity);
    this.order = new Int32Array(capacity);
    this.suppressed = new Uint8Array(capacity);
  }

  clear(): void {
    this.count = 0;
  }

  /** Adds a box given as centre and size. */
  pushCenter(cx: number, cy: number, w: number, h: number, score: number, classId: number): void {
    if (this.count === this.x1.length) this.grow();
    const i = this.count++;
    this.x1[i] = cx - w / 2;
    this.y1[i] = cy - h / 2;
    this.x2[i] = cx + w / 2;
    this.y2[i] = cy + h / 2;
    this.score[i] = score;
    this.classId[i] = classId;
  }

  private grow(): void {
    const n = this.x1.length * 2;
    const copy = <T extends Float32Array | Int32Array | Uint8Array>(a: T, make: (n: number) => T): T => {
      const b = make(n);
      b.set(a);
      return b;
    };
    this.x1 = copy(this.x1, (k) => new Float32Array(k));
    this.y1 = copy(this.y1, (k) => new Float32Array(k));
    this.x2 = copy(this.x2, (k) => new Float32Array(k));
    this.y2 = copy(this.y2, (k) => new Float32Array(k));
    this.score = copy(this.score, (k) => new Float32Array(k));
    this.classId = copy(this.classId, (k) => new Int32Array(k));
    this.order = new Int32Array(n);
    this.suppressed = new Uint8Array(n);
  }

  /**
   * Greedy class-aware NMS; returns the kept candidate indices, best score first, at most
   * `maxKeep` of them.
   */
  nms(iouThreshold: number, maxKeep: number): number[] {
    const n = this.count;
    const { order, suppressed, score, classId, x1, y1, x2, y2 } = this;
    for (let i = 0; i < n; i++) order[i] = i;
    // Stable order for equal scores (by index), so results are deterministic.
    const sorted = order.subarray(0, n).sort((a, b) => score[b]! - score[a]! || a - b);
    suppressed.fill(0, 0, n);
    const keep: number[] = [];
    for (let p = 0; p < n && keep.length < maxKeep; p++) {
      const i = sorted[p]!;
      if (suppressed[i] === 1) continue;
      keep.push(i);
      const ax1 = x1[i]!;
      const ay1 = y1[i]!;
      const ax2 = x2[i]!;
      const ay2 = y2[i]!;
      const areaA = Math.max(0, ax2 - ax1) * Math.max(0, ay2 - ay1);
      const c = classId[i];
      for (let q = p + 1; q < n; q++) {
        const j = sorted[q]!;
        if (suppressed[j] === 1 || classId[j] !== c) continue;
        const w = Math.min(ax2, x2[j]!) - Math.max(ax1, x1[j]!);
        if (w <= 0) continue;
        const h = Math.min(ay2, y2[j]!) - Math.max(ay1, y1[j]!);
        if (h <= 0) continue;
        const inter = w * h;
        const areaB = (x2[j]! - x1[j]!) * (y2[j]! - y1[j]!);
        if (inter / (areaA + areaB - inter) > iouThreshold) suppressed[j] = 1;
      }
    }
    return keep;
  }
}

/** Intersection over union of two boxes given as corners. */
export function iou(a: BoxLike, b: BoxLike): number {
  const w = Math.min(a.x2, b.x2) - Math.max(a.x1, b.x1);
  const h = Math.min(a.y2, b.y2) - Math.max(a.y1, b.y1);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  const union = (a.x2 - a.x1) * (a.y2 - a.y1) + (b.x2 - b.x1) * (b.y2 - b.y1) - inter;
  return union > 0 ? inter / union : 0;
}

export interface BoxLike {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}
