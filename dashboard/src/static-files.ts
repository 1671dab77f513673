import { createReadStream, type Stats } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { contentSecurityPolicy, PAGE_SECURITY_HEADERS, type PolicyOptions } from './security-headers.js';

/*
 * Serves the Next.js static export (out/). The platform's own node:http server runs this, so
 * there is no Next server runtime in the hot process (docs/decisions/0002).
 */

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  // Next's exported React Server Component payloads.
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.gif': 'image/gif',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.wasm': 'application/wasm',
  '.webmanifest': 'application/manifest+json',
};

/** Hashed build assets never change under the same name; everything else revalidates (cheap 304s). */
const IMMUTABLE = 'public, max-age=31536000, immutable';
const REVALIDATE = 'no-cache';

const NOT_BUILT_PAGE = `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>CityOps — dashboard not built</title>
<style>body{background:#0b1220;color:#e5edf7;font:28px/1.5 system-ui,sans-serif;display:grid;place-items:center;height:100vh;margin:0}
main{max-width:40em;padding:2em}code{background:#1e293b;padding:.15em .4em;border-radius:.2em}</style></head>
<body><main><h1>CityOps</h1>
<p>dashboard not built yet: run <code>npm run build</code></p>
<p>大屏尚未构建：请先运行 <code>npm run build</code></p>
<p style="opacity:.7;font-size:.75em">The JSON API (/api/…) and the live stream work without it.</p>
</main></body></html>
`;

export interface StaticFiles {
  /** Always answers (file, 304, 404, 405 or the not-built 503 page); resolves once the response is sent. */
  serve(req: IncomingMessage, res: ServerResponse, pathname: string): Promise<void>;
}

export function createStaticFiles(dir: string, policy: PolicyOptions = {}): StaticFiles {
  const root = resolve(dir);
  /** Each page's policy, keyed by path and version (size + mtime): a rebuild changes the hashes. */
  const pagePolicies = new Map<string, { version: string; policy: string }>();

  async function pageHeaders(path: string, stats: Stats): Promise<Record<string, string>> {
    const version = `${stats.size}-${stats.mtimeMs}`;
    let cached = pagePolicies.get(path);
    if (cached?.version !== version) {
      cached = { version, policy: contentSecurityPolicy(await readFile(path, 'utf8'), policy) };
      pagePolicies.set(path, cached);
    }
    return { ...PAGE_SECURITY_HEADERS, 'content-security-policy': cached.policy };
  }

  return {
    async serve(req, res, pathname) {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        sendText(req, res, 405, 'method not allowed: the dashboard serves GET and HEAD\n', { allow: 'GET, HEAD' });
        return;
      }
      let decoded: string;
      try {
        decoded = decodeURIComponent(pathname);
      } catch {
        sendText(req, res, 400, `bad path: expected a URL-encoded path; got '${pathname.slice(0, 100)}'\n`);
        return;
      }
      const found = decoded.includes('\0') ? undefined : await findFile(root, decoded);
      if (found !== undefined) {
        await sendFile(req, res, found.path, found.stats, decoded.startsWith('/_next/static/') ? IMMUTABLE : REVALIDATE, pageHeaders);
        return;
      }
      const index = await statFile(join(root, 'index.html'));
      if (index === undefined) {
        sendText(req, res, 503, NOT_BUILT_PAGE, { 'content-type': 'text/html; charset=utf-8', 'retry-after': '30' });
        return;
      }
      const notFound = join(root, '404.html');
      const notFoundStats = await statFile(notFound);
      if (notFoundStats !== undefined) {
        await sendFile(req, res, notFound, notFoundStats, REVALIDATE, pageHeaders, 404);
        return;
      }
      sendText(req, res, 404, `not found: ${decoded.slice(0, 200)}\n`);
    },
  };
}

/** `/` → index.html; `/x` → x, x.html (Next's exported routes) or x/index.html; never outside root. */
async function findFile(root: string, path: string): Promise<{ path: string; stats: Stats } | undefined> {
  const candidates = path.endsWith('/') ? [`${path}index.html`] : [path, `${path}.html`, `${path}/index.html`];
  for (const candidate of candidates) {
    const full = join(root, candidate);
    // join() normalises '..' away; anything that ends up outside root is a traversal attempt.
    if (!full.startsWith(root + sep)) return undefined;
    const stats = await statFile(full);
    if (stats !== undefined) return { path: full, stats };
  }
  return undefined;
}

async function statFile(path: string): Promise<Stats | undefined> {
  try {
    const s = await stat(path);
    return s.isFile() ? s : undefined;
  } catch {
    return undefined;
  }
}

async function sendFile(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  stats: Stats,
  cacheControl: string,
  pageHeaders: (path: string, stats: Stats) => Promise<Record<string, string>>,
  status = 200,
): Promise<void> {
  const etag = `W/"${stats.size.toString(16)}-${Math.floor(stats.mtimeMs).toString(16)}"`;
  const ext = extname(path).toLowerCase();
  const headers = {
    'content-type': CONTENT_TYPES[ext] ?? 'application/octet-stream',
    'cache-control': cacheControl,
    etag,
    'last-modified': stats.mtime.toUTCString(),
    'x-content-type-options': 'nosniff',
    ...(ext === '.html' ? await pageHeaders(path, stats) : {}),
  };
  if (status === 200 && req.headers['if-none-match'] === etag) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  res.writeHead(status, { ...headers, 'content-length': stats.size });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  try {
    await pipeline(createReadStream(path), res);
  } catch {
    // The browser went away mid-file (or the file vanished during a rebuild): nothing to answer.
    res.destroy();
  }
}

function sendText(req: IncomingMessage, res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(body),
    'x-content-type-options': 'nosniff',
    ...headers,
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}
