/**
 * A pass-through HTTP proxy between the workers and the fake Gemini that counts upstream responses fully received.
 * It lets a test check, without timing anything, that a client already holds the first streamed chunk while the
 * upstream response it came from is still unfinished: proof that no hop buffered the stream.
 */
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface UpstreamTap {
  readonly url: string;
  /** upstream responses whose last byte has reached the tap */
  readonly finishedResponses: () => number;
  close(): Promise<void>;
}

export async function startUpstreamTap(target: string): Promise<UpstreamTap> {
  let finished = 0;
  const server: Server = createServer((req, res) => {
    const upstream = httpRequest(
      new URL(req.url ?? '/', target),
      { method: req.method, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.on('end', () => (finished += 1));
        up.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    finishedResponses: () => finished,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
