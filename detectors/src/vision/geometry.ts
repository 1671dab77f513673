/**
 * Image-space geometry for camera rules: zones are polygons and lines are segments in
 * coordinates normalised to 0…1 of the source image (so they survive a change of stream
 * resolution), and a per-camera homography maps image points to lon/lat on the city map.
 */

export type Point = readonly [number, number];

/** Even-odd ray casting: is (x, y) inside the polygon (closed implicitly)? */
export function pointInPolygon(x: number, y: number, polygon: readonly Point[]): boolean {
  let inside = false;
  for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++) {
    const [xi, yi] = polygon[i]!;
    const [xj, yj] = polygon[j]!;
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/** Signed area (shoelace); its absolute value is the area. */
export function polygonArea(polygon: readonly Point[]): number {
  let a = 0;
  for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++)
    a += polygon[j]![0] * polygon[i]![1] - polygon[i]![0] * polygon[j]![1];
  return a / 2;
}

/** Area centroid of a simple polygon (the vertex mean when the area is ~0). */
export function polygonCentroid(polygon: readonly Point[]): Point {
  const a = polygonArea(polygon);
  if (Math.abs(a) < 1e-12) {
    const n = polygon.length;
    return [polygon.reduce((s, p) => s + p[0], 0) / n, polygon.reduce((s, p) => s + p[1], 0) / n];
  }
  let cx = 0;
  let cy = 0;
  for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++) {
    const f = polygon[j]![0] * polygon[i]![1] - polygon[i]![0] * polygon[j]![1];
    cx += (polygon[j]![0] + polygon[i]![0]) * f;
    cy += (polygon[j]![1] + polygon[i]![1]) * f;
  }
  return [cx / (6 * a), cy / (6 * a)];
}

/**
 * Which side of the directed line a→b the point is on: > 0 left (counter-clockwise in image
 * coordinates, where y grows downwards this is the right-hand side on screen), < 0 the other, 0 on it.
 */
export function sideOfLine(a: Point, b: Point, x: number, y: number): number {
  return (b[0] - a[0]) * (y - a[1]) - (b[1] - a[1]) * (x - a[0]);
}

/** Do segments p→q and a→b intersect (proper crossing or touching)? */
export function segmentsIntersect(p: Point, q: Point, a: Point, b: Point): boolean {
  const d1 = sideOfLine(a, b, p[0], p[1]);
  const d2 = sideOfLine(a, b, q[0], q[1]);
  const d3 = sideOfLine(p, q, a[0], a[1]);
  const d4 = sideOfLine(p, q, b[0], b[1]);
  return ((d1 > 0 && d2 < 0) || (d1 < 0 && d2 > 0)) && ((d3 > 0 && d4 < 0) || (d3 < 0 && d4 > 0));
}

/** A 3×3 homography, row-major: [lon·w, lat·w, w]ᵀ = H · [x, y, 1]ᵀ with x, y normalised image coordinates. */
export type Homography = readonly [number, number, number, number, number, number, number, number, number];

/** Maps a normalised image point to [lon, lat]; undefined where the point is on or beyond the horizon (w ≤ 0). */
export function applyHomography(h: Homography, x: number, y: number): [number, number] | undefined {
  const w = h[6] * x + h[7] * y + h[8];
  if (!(w > 1e-12)) return undefined;
  return [(h[0] * x + h[1] * y + h[2]) / w, (h[3] * x + h[4] * y + h[5]) / w];
}

/**
 * The homography taking four image points to four map points (the direct linear transform with
 * h33 = 1, solved by Gaussian elimination) — how an operator calibrates a camera: click four
 * ground points in the picture, give their lon/lat. Throws when three points are collinear.
 */
export function homographyFromPoints(image: readonly Point[], map: readonly Point[]): Homography {
  if (image.length !== 4 || map.length !== 4)
    throw new RangeError(`expected 4 image and 4 map points; got ${image.length} and ${map.length}`);
  const A: number[][] = [];
  for (let i = 0; i < 4; i++) {
    const [x, y] = image[i]!;
    const [u, v] = map[i]!;
    A.push([x, y, 1, 0, 0, 0, -u * x, -u * y, u]);
    A.push([0, 0, 0, x, y, 1, -v * x, -v * y, v]);
  }
  // Gaussian elimination with partial pivoting on the 8×9 augmented matrix.
  for (let col = 0; col < 8; col++) {
    let pivot = col;
    for (let r = col + 1; r < 8; r++) if (Math.abs(A[r]![col]!) > Math.abs(A[pivot]![col]!)) pivot = r;
    if (Math.abs(A[pivot]![col]!) < 1e-12)
      throw new RangeError('expected four points with no three on one line; the homography is singular');
    [A[col], A[pivot]] = [A[pivot]!, A[col]!];
    const row = A[col]!;
    for (let r = 0; r < 8; r++) {
      if (r === col) continue;
      const f = A[r]![col]! / row[col]!;
      if (f === 0) continue;
      for (let k = col; k < 9; k++) A[r]![k]! -= f * row[k]!;
    }
  }
  const h = [...A.map((r, i) => r[8]! / r[i]!), 1];
  // A homography is defined up to scale, sign included: choose the sign that makes w positive
  // on the calibrated ground, so that w ≤ 0 means "beyond the horizon" in applyHomography.
  const [x0, y0] = image[0]!;
  const sign = h[6]! * x0 + h[7]! * y0 + 1 < 0 ? -1 : 1;
  const s = h.map((v) => v * sign);
  return [s[0]!, s[1]!, s[2]!, s[3]!, s[4]!, s[5]!, s[6]!, s[7]!, s[8]!];
}
