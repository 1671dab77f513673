import { describe, expect, it } from 'vitest';
import { DashboardError } from './errors.js';
import { tileServerFromEnv } from './tile-server.js';

const refusal = (env: Record<string, string>): string => {
  try {
    tileServerFromEnv(env);
  } catch (e) {
    expect(e).toBeInstanceOf(DashboardError);
    expect((e as DashboardError).code).toBe('invalid-option');
    return (e as Error).message;
  }
  throw new Error(`expected ${JSON.stringify(env)} to be refused`);
};

describe('the on-premises tile server from the environment', () => {
  it('is none when CITYOPS_TILE_URL is unset or empty', () => {
    expect(tileServerFromEnv({})).toBeNull();
    expect(tileServerFromEnv({ CITYOPS_TILE_URL: '  ', CITYOPS_TILE_MAX_ZOOM: '12' })).toBeNull();
  });

  it('reads an http or https XYZ template, its origin, the attribution and the highest zoom (default 19)', () => {
    expect(tileServerFromEnv({ CITYOPS_TILE_URL: 'http://tiles.ops.local/{z}/{x}/{y}.png' })).toEqual({
      url: 'http://tiles.ops.local/{z}/{x}/{y}.png',
      origin: 'http://tiles.ops.local',
      attribution: '',
      max_zoom: 19,
    });
    expect(
      tileServerFromEnv({
        CITYOPS_TILE_URL: 'https://gis.city.gov.cn:8443/osm/{z}/{x}/{y}.webp?style=night',
        CITYOPS_TILE_ATTRIBUTION: ' © 市规划院 / OpenStreetMap contributors\n',
        CITYOPS_TILE_MAX_ZOOM: '17',
      }),
    ).toEqual({
      url: 'https://gis.city.gov.cn:8443/osm/{z}/{x}/{y}.webp?style=night',
      origin: 'https://gis.city.gov.cn:8443',
      attribution: '© 市规划院 / OpenStreetMap contributors',
      max_zoom: 17,
    });
  });

  it('refuses a template without {z}, {x} and {y}, naming the variable and what was expected', () => {
    expect(refusal({ CITYOPS_TILE_URL: 'http://tiles.ops.local/{z}/{x}.png' })).toBe(
      "CITYOPS_TILE_URL: expected an XYZ tile URL template over http or https with {z}, {x} and {y}, e.g. http://tiles.ops.local/{z}/{x}/{y}.png ({y} is missing); got 'http://tiles.ops.local/{z}/{x}.png'",
    );
    expect(refusal({ CITYOPS_TILE_URL: 'tiles.ops.local' })).toContain('({z} is missing)');
  });

  it('refuses a scheme other than http or https, other placeholders, credentials and bad numbers', () => {
    expect(refusal({ CITYOPS_TILE_URL: 'file:///srv/tiles/{z}/{x}/{y}.png' })).toMatch(
      /^CITYOPS_TILE_URL: .*scheme file is not http or https/,
    );
    expect(refusal({ CITYOPS_TILE_URL: 'ftp://tiles/{z}/{x}/{y}.png' })).toContain('scheme ftp is not http or https');
    expect(refusal({ CITYOPS_TILE_URL: 'http://{s}.tiles.local/{z}/{x}/{y}.png' })).toContain('{s} is not supported');
    expect(refusal({ CITYOPS_TILE_URL: 'http://[bad/{z}/{x}/{y}.png' })).toContain('this is not a URL');
    expect(refusal({ CITYOPS_TILE_URL: 'http://ops:pw@tiles.local/{z}/{x}/{y}.png' })).toContain('without user:password@');
    expect(refusal({ CITYOPS_TILE_URL: 'http://tiles.local/{z}/{x}/{y}.png', CITYOPS_TILE_MAX_ZOOM: '19.5' })).toBe(
      "CITYOPS_TILE_MAX_ZOOM: expected an integer from 0 to 24 (default 19); got '19.5'",
    );
    expect(refusal({ CITYOPS_TILE_URL: 'http://tiles.local/{z}/{x}/{y}.png', CITYOPS_TILE_ATTRIBUTION: 'x'.repeat(201) })).toMatch(
      /^CITYOPS_TILE_ATTRIBUTION: expected at most 200 characters/,
    );
  });
});
