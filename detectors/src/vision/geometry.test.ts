import { describe, expect, it } from 'vitest';
import {
  applyHomography,
  homographyFromPoints,
  pointInPolygon,
  polygonCentroid,
  segmentsIntersect,
  sideOfLine,
  type Point,
} from './geometry.js';

describe('geometry', () => {
  const square: Point[] = [
    [0.2, 0.2],
    [0.8, 0.2],
    [0.8, 0.8],
    [0.2, 0.8],
  ];

  it('tests points against a polygon', () => {
    expect(pointInPolygon(0.5, 0.5, square)).toBe(true);
    expect(pointInPolygon(0.9, 0.5, square)).toBe(false);
    const l: Point[] = [
      [0, 0],
      [1, 0],
      [1, 0.3],
      [0.3, 0.3],
      [0.3, 1],
      [0, 1],
    ];
    expect(pointInPolygon(0.6, 0.6, l)).toBe(false);
    expect(pointInPolygon(0.1, 0.6, l)).toBe(true);
    expect(polygonCentroid(square)[0]).toBeCloseTo(0.5);
  });

  it('finds segment crossings and the side of a directed line', () => {
    expect(segmentsIntersect([0.5, 0.4], [0.5, 0.6], [0, 0.5], [1, 0.5])).toBe(true);
    expect(segmentsIntersect([0.5, 0.1], [0.5, 0.4], [0, 0.5], [1, 0.5])).toBe(false);
    // Line pointing right on screen: above it (y smaller) is its left.
    expect(sideOfLine([0, 0.5], [1, 0.5], 0.5, 0.4)).toBeLessThan(0);
  });

  it('solves a homography from four point pairs and maps image points to lon/lat', () => {
    // A camera looking at a trapezoid of road: far edge narrow (top of the image), near edge wide.
    const image: Point[] = [
      [0.4, 0.3],
      [0.6, 0.3],
      [1, 1],
      [0, 1],
    ];
    const map: Point[] = [
      [121.47, 31.231],
      [121.471, 31.231],
      [121.471, 31.23],
      [121.47, 31.23],
    ];
    const h = homographyFromPoints(image, map);
    for (let i = 0; i < 4; i++) {
      const ll = applyHomography(h, image[i]![0], image[i]![1])!;
      expect(ll[0]).toBeCloseTo(map[i]![0], 9);
      expect(ll[1]).toBeCloseTo(map[i]![1], 9);
    }
    expect(() =>
      homographyFromPoints(
        [
          [0, 0],
          [0.5, 0.5],
          [1, 1],
          [0, 1],
        ],
        map,
      ),
    ).toThrow(/no three on one line/);
  });
});
