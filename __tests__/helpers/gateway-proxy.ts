/**
 * A stand-in for Cloudflare AI Gateway in front of the fake Gemini: it serves Google's API only under a path prefix
 * (as `https://gateway.ai.cloudflare.com/v1/<account>/<gateway>/google-ai-studio` does), forwards each call with the
 * prefix removed, and records every path it was asked for, so a test can prove a base URL's path is kept.
 */
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface GatewayProxy {
  /** `http://127.0.0.1:<port>`, without the prefix */
  readonly url: string;
  /** the raw request target of every call received, query included, in order */
  readonly paths: string[];
  close(): Promise<void>;
}

/** Starts the proxy; calls outside `prefix` get a 404 and are not forwarded. */
export async function startGatewayProxy(prefix: string, target: string): Promise<GatewayProxy> {
  const paths: string[] = [];
  const { hostname, port } = new URL(target);
  const server = createServer((req, res) => {
    const url = req.url ?? '/';
    paths.push(url);
    if (!url.startsWith(`${prefix}/`)) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"no such gateway path"}');
      return;
    }
    const upstream = httpRequest(
      {
        host: hostname,
        port,
        method: req.method,
        path: url.slice(prefix.length),
        headers: { ...req.headers, host: `${hostname}:${port}` },
      },
      (upstreamRes) => {
        res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
        upstreamRes.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    paths,
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
