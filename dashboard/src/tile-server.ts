import type { WallTileServer } from './api-types.js';
import { DashboardError } from './errors.js';

/*
 * An on-premises raster tile server for the wall map (CITYOPS_TILE_URL and friends). Read once
 * at start and refused there when malformed: a wall that silently draws no tiles would be found
 * out only in front of the operators. The browser learns it from /api/city (never from the
 * static build), and only its origin is added to the pages' img-src.
 */

export interface TileServerConfig extends WallTileServer {
  /** scheme://host[:port] of `url`: the one origin the pages may load images from besides their own. */
  origin: string;
}

export const DEFAULT_TILE_MAX_ZOOM = 19;
const MAX_ATTRIBUTION_CHARS = 200;
const EXAMPLE = 'http://tiles.ops.local/{z}/{x}/{y}.png';

type Env = Readonly<Record<string, string | undefined>>;

/** The tile server the environment names, or null when CITYOPS_TILE_URL is unset or empty. */
export function tileServerFromEnv(env: Env): TileServerConfig | null {
  const template = (env.CITYOPS_TILE_URL ?? '').trim();
  if (template === '') return null;
  return {
    ...parseTileTemplate(template),
    attribution: attribution(env.CITYOPS_TILE_ATTRIBUTION),
    max_zoom: maxZoom(env.CITYOPS_TILE_MAX_ZOOM),
  };
}

function invalid(variable: string, expected: string, got: string): DashboardError {
  return new DashboardError('invalid-option', `${variable}: expected ${expected}; got '${got.slice(0, 200)}'`);
}

function parseTileTemplate(template: string): { url: string; origin: string } {
  const expected = `an XYZ tile URL template over http or https with {z}, {x} and {y}, e.g. ${EXAMPLE}`;
  for (const part of ['{z}', '{x}', '{y}']) {
    if (!template.includes(part)) throw invalid('CITYOPS_TILE_URL', `${expected} (${part} is missing)`, template);
  }
  const other = /\{(?![zxy]\})[^}]*\}/.exec(template);
  if (other !== null) {
    throw invalid('CITYOPS_TILE_URL', `${expected}, and no other placeholder (${other[0]} is not supported: name one host)`, template);
  }
  let parsed: URL;
  try {
    parsed = new URL(template.replaceAll('{z}', '0').replaceAll('{x}', '0').replaceAll('{y}', '0'));
  } catch {
    throw invalid('CITYOPS_TILE_URL', `${expected} (this is not a URL)`, template);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw invalid('CITYOPS_TILE_URL', `${expected} (scheme ${parsed.protocol.replace(':', '')} is not http or https)`, template);
  }
  // Every wall browser receives the URL: a password in it would be handed to all of them.
  if (parsed.username !== '' || parsed.password !== '') {
    throw invalid('CITYOPS_TILE_URL', `${expected}, without user:password@ (every wall browser would receive it)`, template);
  }
  return { url: template, origin: parsed.origin };
}

function attribution(raw: string | undefined): string {
  // Shown as text (React escapes it); control characters would only garble the corner.
  const text = (raw ?? '').replace(/[\p{Cc}]/gu, ' ').trim();
  if (text.length > MAX_ATTRIBUTION_CHARS) {
    throw invalid(
      'CITYOPS_TILE_ATTRIBUTION',
      `at most ${MAX_ATTRIBUTION_CHARS} characters`,
      `${text.slice(0, 40)}… (${text.length} characters)`,
    );
  }
  return text;
}

function maxZoom(raw: string | undefined): number {
  if (raw === undefined || raw.trim() === '') return DEFAULT_TILE_MAX_ZOOM;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 24) throw invalid('CITYOPS_TILE_MAX_ZOOM', 'an integer from 0 to 24 (default 19)', raw);
  return n;
}
