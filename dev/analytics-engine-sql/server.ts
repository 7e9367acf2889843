/**
 * The Analytics Engine SQL API stand-in on 127.0.0.1: `POST /client/v4/accounts/<account>/analytics_engine/sql`
 * with a bearer token, answered by `./sql.ts` over the points it was given. It records every query, refuses a wrong
 * account or token as Cloudflare's API does (JSON `errors`), and a query it does not understand with the engine's
 * error as text.
 *
 * @module
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { answer, SqlError, type StoredPoint } from './sql';

export interface SqlStandInOptions {
  readonly accountId: string;
  readonly token: string;
  /** the datasets (tables) that exist, written to or not */
  readonly datasets: readonly string[];
  readonly points: readonly StoredPoint[];
  /** when `NOW()` is; the clock by default */
  readonly now?: () => number;
  /** @default 0: any free port */
  readonly port?: number;
}

export interface SqlStandIn {
  /** the API's base URL, as `USAGE_API_URL` takes it: `http://127.0.0.1:<port>/client/v4` */
  readonly baseUrl: string;
  /** every query received, in order */
  readonly queries: string[];
  close(): Promise<void>;
}

const PATH = /^\/client\/v4\/accounts\/([^/]+)\/analytics_engine\/sql$/;

function reply(res: ServerResponse, status: number, body: string, type: string): void {
  res.writeHead(status, { 'content-type': type });
  res.end(body);
}

function cloudflareError(res: ServerResponse, status: number, code: number, message: string): void {
  reply(
    res,
    status,
    JSON.stringify({ success: false, errors: [{ code, message }], messages: [], result: null }),
    'application/json',
  );
}

async function body(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startSqlStandIn(o: SqlStandInOptions): Promise<SqlStandIn> {
  const queries: string[] = [];
  const now = o.now ?? (() => Date.now());
  const server = createServer((req, res) => {
    void (async () => {
      const account = PATH.exec(req.url ?? '')?.[1];
      if (req.method !== 'POST' || account === undefined)
        return cloudflareError(res, 404, 7000, 'No route for that URI');
      if (req.headers.authorization !== `Bearer ${o.token}`)
        return cloudflareError(res, 401, 10000, 'Authentication error');
      if (account !== o.accountId) return cloudflareError(res, 403, 10000, 'Authentication error');
      const sql = await body(req);
      queries.push(sql);
      try {
        reply(res, 200, JSON.stringify(answer(sql, o.points, o.datasets, now())), 'application/json');
      } catch (error) {
        if (!(error instanceof SqlError)) throw error;
        reply(res, 422, `DB::Exception: ${error.message}\n`, 'text/plain; charset=utf-8');
      }
    })();
  });
  await new Promise<void>((resolve) => server.listen(o.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/client/v4`,
    queries,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
