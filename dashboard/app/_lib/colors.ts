import { WARNING_LEVEL_INFO, type WarningLevel } from '@cityops/schemas';

/** deck.gl colours are [r, g, b, a] in 0…255. */
export type Rgba = [number, number, number, number];

export function hexToRgba(hex: string, alpha = 255): Rgba {
  const n = Number.parseInt(hex.replace('#', ''), 16);
  return [(n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff, alpha];
}

/** The schemas' level colours, converted once. */
export const LEVEL_RGB: Readonly<Record<WarningLevel, Rgba>> = {
  blue: hexToRgba(WARNING_LEVEL_INFO.blue.colorHex),
  yellow: hexToRgba(WARNING_LEVEL_INFO.yellow.colorHex),
  orange: hexToRgba(WARNING_LEVEL_INFO.orange.colorHex),
  red: hexToRgba(WARNING_LEVEL_INFO.red.colorHex),
};

export function withAlpha([r, g, b]: Rgba, alpha: number): Rgba {
  return [r, g, b, alpha];
}

/*
 * Map palette. Sensor status colours are deliberately outside the four warning colours (no blue,
 * yellow, orange or red), so a dot is never read as a warning level from five metres away.
 */
export const MAP_COLORS = {
  district: [22, 34, 54, 200] as Rgba,
  districtOutline: [94, 116, 148, 255] as Rgba,
  water: [12, 44, 78, 255] as Rgba,
  waterLine: [28, 78, 128, 255] as Rgba,
  road: [58, 72, 94, 255] as Rgba,
  roadMajor: [86, 104, 130, 255] as Rgba,
  label: [226, 232, 240, 235] as Rgba,
  labelOutline: [5, 9, 18, 255] as Rgba,
  camera: [148, 163, 184, 255] as Rgba,
  sensorNormal: [45, 212, 191, 255] as Rgba,
  sensorAnomalous: [232, 121, 249, 255] as Rgba,
  sensorSilent: [71, 85, 105, 255] as Rgba,
  markerStroke: [255, 255, 255, 255] as Rgba,
  /** A department's station: a white ring round a dark centre, unlike any sensor, camera or incident. */
  stationRing: [241, 245, 249, 255] as Rgba,
  stationFill: [5, 9, 18, 255] as Rgba,
  /**
   * Districts over raster tiles: translucent enough that the tiles' streets read through, dark
   * enough that the level shading, sensors and labels keep their contrast.
   */
  districtOverTiles: [22, 34, 54, 110] as Rgba,
};

/** A station-to-incident line: the incident's level colour, slightly translucent where lines cross. */
export function dispatchLineColor(level: WarningLevel): Rgba {
  return withAlpha(LEVEL_RGB[level], 210);
}

export function rgbaCss([r, g, b, a]: Rgba): string {
  return `rgba(${r}, ${g}, ${b}, ${(a / 255).toFixed(3)})`;
}

/*
 * The events heatmap: violet through pink to near white, none of the four warning colours and
 * translucent, so the districts' level shading and the sensors stay readable through it.
 */
const HEAT_LOW: Rgba = [109, 40, 217, 70];
const HEAT_HIGH: Rgba = [253, 230, 255, 190];

/** A heat cell's colour: `count` of the grid's `max`, on a square-root scale so one event still shows. */
export function heatColor(count: number, max: number): Rgba {
  const t = max <= 0 ? 0 : Math.sqrt(Math.min(1, count / max));
  const mix = (i: number) => Math.round(HEAT_LOW[i]! + (HEAT_HIGH[i]! - HEAT_LOW[i]!) * t);
  return [mix(0), mix(1), mix(2), mix(3)];
}

/** The legend's swatch of the heat ramp. */
export const HEAT_GRADIENT_CSS = `linear-gradient(90deg, ${rgbaCss(HEAT_LOW)}, ${rgbaCss(HEAT_HIGH)})`;
