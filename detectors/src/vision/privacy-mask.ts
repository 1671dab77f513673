/**
 * Privacy masking for any picture that leaves the vision worker (a snapshot or crop attached to
 * an event): faces and number plates are pixelated before the pixels are stored or sent.
 *
 * Without a face or plate model, the regions are derived from the detector's own boxes: the top
 * fifth of a person box (the head, for a standing person — roughly 1/7.5 of body height for an
 * adult, widened to a fifth to cover tilt and box slack) and the lower part of a vehicle box (where
 * front and rear plates sit). Pixelation with blocks of ≥ 8 px at these resolutions leaves no
 * recognisable face or legible plate; unlike a blur it cannot be undone by deconvolution.
 * Raw frames themselves are never stored by the worker.
 */

export interface MaskBox {
  className: string;
  /** Normalised to 0…1 of the picture being masked. */
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

export interface PrivacyMaskOptions {
  /** Pixel block edge, px. Default 8. */
  blockPx?: number;
  /** Classes whose head region is masked. Default ['person']. */
  personClasses?: readonly string[];
  /** Classes whose plate region is masked. Default car, bus, truck, motorbike, motorcycle. */
  vehicleClasses?: readonly string[];
  /** Top fraction of a person box masked. Default 0.2 (a fifth). */
  headFraction?: number;
  /** Bottom fraction of a vehicle box masked. Default 0.4. */
  plateFraction?: number;
}

export interface PixelRect {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** The pixel rectangles that `maskPrivateRegions` pixelates for these boxes. */
export function privateRegions(width: number, height: number, boxes: readonly MaskBox[], options: PrivacyMaskOptions = {}): PixelRect[] {
  const persons = new Set(options.personClasses ?? ['person']);
  const vehicles = new Set(options.vehicleClasses ?? ['car', 'bus', 'truck', 'motorbike', 'motorcycle']);
  const head = options.headFraction ?? 0.2;
  const plate = options.plateFraction ?? 0.4;
  const rects: PixelRect[] = [];
  for (const b of boxes) {
    let y1: number;
    let y2: number;
    if (persons.has(b.className)) {
      y1 = b.y1;
      y2 = b.y1 + (b.y2 - b.y1) * head;
    } else if (vehicles.has(b.className)) {
      y1 = b.y2 - (b.y2 - b.y1) * plate;
      y2 = b.y2;
    } else continue;
    // Outward rounding: a region never shrinks below the box it came from.
    const px1 = Math.max(0, Math.floor(b.x1 * width));
    const px2 = Math.min(width, Math.ceil(b.x2 * width));
    const py1 = Math.max(0, Math.floor(y1 * height));
    const py2 = Math.min(height, Math.ceil(y2 * height));
    if (px2 > px1 && py2 > py1) rects.push({ x: px1, y: py1, w: px2 - px1, h: py2 - py1 });
  }
  return rects;
}

/**
 * Pixelates the head regions of persons and plate regions of vehicles of an rgb24 picture in
 * place; returns the number of regions masked.
 */
export function maskPrivateRegions(
  pixels: Uint8Array,
  width: number,
  height: number,
  boxes: readonly MaskBox[],
  options: PrivacyMaskOptions = {},
): number {
  if (pixels.length !== width * height * 3)
    throw new RangeError(`expected ${width}×${height}×3 = ${width * height * 3} bytes of rgb24; got ${pixels.length}`);
  const block = Math.max(1, Math.floor(options.blockPx ?? 8));
  const rects = privateRegions(width, height, boxes, options);
  for (const r of rects) {
    for (let by = r.y; by < r.y + r.h; by += block) {
      const ey = Math.min(r.y + r.h, by + block);
      for (let bx = r.x; bx < r.x + r.w; bx += block) {
        const ex = Math.min(r.x + r.w, bx + block);
        let sr = 0;
        let sg = 0;
        let sb = 0;
        for (let y = by; y < ey; y++) {
          for (let x = bx, p = (y * width + bx) * 3; x < ex; x++, p += 3) {
            sr += pixels[p]!;
            sg += pixels[p + 1]!;
            sb += pixels[p + 2]!;
          }
        }
        const n = (ey - by) * (ex - bx);
        const mr = Math.round(sr / n);
        const mg = Math.round(sg / n);
        const mb = Math.round(sb / n);
        for (let y = by; y < ey; y++) {
          for (let x = bx, p = (y * width + bx) * 3; x < ex; x++, p += 3) {
            pixels[p] = mr;
            pixels[p + 1] = mg;
            pixels[p + 2] = mb;
          }
        }
      }
    }
  }
  return rects.length;
}
