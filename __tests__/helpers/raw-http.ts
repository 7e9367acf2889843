/**
 * An HTTP request with the path sent exactly as given (no URL normalisation by the client), for tests of path
 * tricks such as `..`, encoded slashes and doubled slashes.
 */
import { request } from 'node:http';

export interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

export interface RawRequest {
  readonly method?: string;
  /** sent verbatim as the request target */
  readonly path: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string | Buffer;
  /** @default 5000 */
  readonly timeoutMs?: number;
}

export function rawRequest(baseUrl: string, r: RawRequest): Promise<RawResponse> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    // agent: false — a fresh connection per request, so a server closing one after a refusal cannot affect the next
    const req = request(
      { host: hostname, port, method: r.method ?? 'GET', path: r.path, headers: r.headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(res.headers))
            if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
          resolve({ status: res.statusCode ?? 0, headers, body: Buffer.concat(chunks).toString('utf8') });
        });
      },
    );
    req.setTimeout(r.timeoutMs ?? 5000, () =>
      req.destroy(new Error(`no response to ${r.method ?? 'GET'} ${r.path.slice(0, 80)}`)),
    );
    req.on('error', reject);
    req.end(r.body);
  });
}
