import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A route group: handles the request and returns true, or returns false to pass it on. */
export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;

/**
 * One HTTP server per process: the ingest API, the dashboard and /api/health are route groups
 * tried in order. An exception in a handler becomes a 500 for that request, never a crash.
 */
export async function startHttpServer(
  port: number,
  handlers: readonly RequestHandler[],
  onError: (e: unknown) => void,
): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    void route(req, res);
  });
  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      for (const h of handlers) {
        if (await h(req, res)) return;
      }
      sendJson(res, 404, { error: `no route for ${req.method ?? 'GET'} ${req.url ?? '/'}` });
    } catch (e) {
      onError(e);
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error', detail: e instanceof Error ? e.message : String(e) });
      else res.destroy();
    }
  }
  // Long-lived SSE connections must not be cut by the default request timeouts.
  server.requestTimeout = 0;
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return { server, port: (server.address() as AddressInfo).port };
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

export async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}
