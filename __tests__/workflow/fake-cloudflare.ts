/**
 * A stand-in for Cloudflare's two token verify endpoints on 127.0.0.1, answering as the API does: a known token gets
 * `{ success: true, result: { id, status } }`, an unknown one 401 with error code 1000. User-owned tokens verify at
 * `/user/tokens/verify` only, account-owned ones at `/accounts/<their account>/tokens/verify` only. Every request is
 * recorded, so a test can tell where a token was sent.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeToken {
  readonly id: string;
  readonly status?: 'active' | 'disabled' | 'expired';
  /** the account that owns the token; a user token when unset */
  readonly account?: string;
}

export interface FakeCloudflare {
  /** base URL as the API's, ending in /client/v4 */
  readonly url: string;
  /** token value → what the API knows of it */
  readonly tokens: Map<string, FakeToken>;
  readonly requests: { path: string; authorization: string | undefined }[];
  /** when set, every request is answered this way instead */
  override: 'status-500' | 'redirect' | 'hang' | 'not-json' | undefined;
  close(): Promise<void>;
}

const INVALID = { success: false, errors: [{ code: 1000, message: 'Invalid API Token' }], messages: [], result: null };

export async function startFakeCloudflare(): Promise<FakeCloudflare> {
  const tokens = new Map<string, FakeToken>();
  const requests: FakeCloudflare['requests'] = [];
  const fake = { tokens, requests, override: undefined } as Omit<FakeCloudflare, 'url' | 'close'> & {
    override: FakeCloudflare['override'];
  };
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    requests.push({ path, authorization: req.headers.authorization });
    if (fake.override === 'hang') return; // never answers; the client's timeout ends it
    if (fake.override === 'redirect') {
      res.writeHead(302, { location: 'http://127.0.0.1:9/elsewhere' }).end();
      return;
    }
    if (fake.override === 'status-500') {
      res.writeHead(500, { 'content-type': 'text/plain' }).end('upstream trouble');
      return;
    }
    if (fake.override === 'not-json') {
      res.writeHead(200, { 'content-type': 'text/html' }).end('<html>maintenance</html>');
      return;
    }
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
    const known = tokens.get(token);
    const account = /^\/client\/v4\/accounts\/([0-9a-f]{32})\/tokens\/verify$/.exec(path)?.[1];
    const fits =
      known !== undefined &&
      (path === '/client/v4/user/tokens/verify' ? known.account === undefined : known.account === account);
    res.setHeader('content-type', 'application/json');
    if (!fits) {
      res.statusCode = 401;
      res.end(JSON.stringify(INVALID));
      return;
    }
    const result = { id: known.id, status: known.status ?? 'active' };
    res.end(JSON.stringify({ success: true, errors: [], messages: [], result }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(fake, {
    url: `http://127.0.0.1:${port}/client/v4`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}
