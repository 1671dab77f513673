import { createHash } from 'node:crypto';

/*
 * Headers that keep a page of the wall, the console or the admin screens from being framed,
 * scripted or made to leak by anything but the dashboard itself.
 *
 * The Content-Security-Policy allows scripts from this origin plus exactly the inline scripts
 * each exported page carries (Next's static export writes its React payload as inline
 * <script> elements), by their SHA-256: a script injected into a page by any other route — a
 * stored incident title rendered unescaped, a compromised upstream — does not run. Styles keep
 * 'unsafe-inline' because React writes style attributes (risk colours, chart geometry), which
 * hashes cannot cover; styles cannot run code.
 */

/** Headers for every HTML page, whatever it holds. */
export const PAGE_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'permissions-policy': 'camera=(), microphone=(), geolocation=(), payment=(), usb=()',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

/** Matches inline scripts: a <script> start tag without a src attribute, and its body. */
const INLINE_SCRIPT = /<script(?![^>]*\ssrc=)[^>]*>([\s\S]*?)<\/script>/gi;

/** The base64 SHA-256 source expression of each distinct inline script of `html`, in order. */
export function inlineScriptHashes(html: string): string[] {
  const hashes = new Set<string>();
  for (const match of html.matchAll(INLINE_SCRIPT)) {
    const body = match[1] ?? '';
    if (body === '') continue;
    hashes.add(`'sha256-${createHash('sha256').update(body, 'utf8').digest('base64')}'`);
  }
  return [...hashes];
}

export interface PolicyOptions {
  /**
   * The on-premises tile server's origin (`http://tiles.ops.local:8080`): the wall map loads its
   * raster tiles as images, so img-src allows that one origin too — nothing else from outside.
   */
  tileOrigin?: string;
}

/** The Content-Security-Policy for one exported page. */
export function contentSecurityPolicy(html: string, options: PolicyOptions = {}): string {
  return [
    "default-src 'self'",
    `script-src 'self' ${inlineScriptHashes(html).join(' ')}`.trimEnd(),
    "style-src 'self' 'unsafe-inline'",
    `img-src 'self' data: blob:${options.tileOrigin === undefined ? '' : ` ${options.tileOrigin}`}`,
    "font-src 'self' data:",
    "connect-src 'self'",
    // deck.gl and the audio beep may start workers from blobs; nothing loads from elsewhere.
    "worker-src 'self' blob:",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}
