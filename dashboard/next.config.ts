import type { NextConfig } from 'next';

/*
 * The wall display is a static export (docs/decisions/0002-dashboard-static-export.md): `next
 * build` writes out/, and the platform's own node:http server serves it next to the JSON API and
 * the live stream. No Next server runs in production.
 */
const config: NextConfig = {
  output: 'export',
  // No image optimisation server in a static export; the wall has no raster images anyway.
  images: { unoptimized: true },
  reactStrictMode: true,
  // Sources import each other as './x.js' (NodeNext ESM, like every other package): let webpack
  // find the .ts/.tsx behind a .js specifier.
};

export default config;
