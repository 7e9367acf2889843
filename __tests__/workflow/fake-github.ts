import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A tiny in-memory GitHub REST API (issues and issue comments) on 127.0.0.1, paginating 2 items per page. */
export interface FakeComment {
  id: number;
  body: string;
  user: { login: string; type: 'Bot' | 'User' };
}
export interface FakeIssue {
  id: number;
  number: number;
  title: string;
  body: string;
  state: 'open' | 'closed';
  user: { login: string; type: 'Bot' | 'User' };
  pull_request?: object;
}

export interface FakeGitHub {
  readonly url: string;
  readonly comments: Map<number, FakeComment[]>;
  readonly issues: FakeIssue[];
  /** pull request number to state; unknown numbers are 404 */
  readonly pulls: Map<number, 'open' | 'closed'>;
  readonly requests: { method: string; path: string; auth: string | undefined }[];
  close(): Promise<void>;
}

const PAGE = 2;
const BOT = { login: 'github-actions[bot]', type: 'Bot' as const };

async function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  let text = '';
  for await (const chunk of req) text += chunk;
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}

export async function startFakeGitHub(repo: string): Promise<FakeGitHub> {
  const comments = new Map<number, FakeComment[]>();
  const issues: FakeIssue[] = [];
  const pulls = new Map<number, 'open' | 'closed'>();
  const requests: FakeGitHub['requests'] = [];
  let nextId = 1000;
  let url = '';

  const paginate = (res: import('node:http').ServerResponse, items: unknown[], u: URL): void => {
    const page = Number(u.searchParams.get('page') ?? '1');
    const slice = items.slice((page - 1) * PAGE, page * PAGE);
    if (page * PAGE < items.length) {
      const next = new URL(`${u.pathname}${u.search}`, url);
      next.searchParams.set('page', String(page + 1));
      res.setHeader('link', `<${next.toString()}>; rel="next"`);
    }
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(slice));
  };

  const server: Server = createServer((req, res) => {
    void (async () => {
      const u = new URL(req.url ?? '/', 'http://127.0.0.1');
      requests.push({ method: req.method ?? '', path: u.pathname + u.search, auth: req.headers.authorization });
      const body = await readBody(req);
      const base = `/repos/${repo}`;
      /** the number in the path when it matches `pattern` (whose one group is that number) */
      const numberIn = (pattern: string): number | undefined => {
        const digits = new RegExp(`^${base}${pattern}$`).exec(u.pathname)?.[1];
        return digits === undefined ? undefined : Number(digits);
      };
      const json = (status: number, data: unknown): void => {
        res.statusCode = status;
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify(data));
      };
      const n = numberIn('/issues/(\\d+)/comments');
      if (n !== undefined) {
        const list = comments.get(n) ?? [];
        if (req.method === 'GET') return paginate(res, list, u);
        if (req.method === 'POST') {
          const c = { id: nextId++, body: String(body.body), user: BOT };
          comments.set(n, [...list, c]);
          return json(201, c);
        }
      }
      const commentId = numberIn('/issues/comments/(\\d+)');
      if (commentId !== undefined && req.method === 'PATCH') {
        for (const list of comments.values()) {
          const c = list.find((x) => x.id === commentId);
          if (c) {
            c.body = String(body.body);
            return json(200, c);
          }
        }
        return json(404, { message: 'Not Found' });
      }
      if (u.pathname === `${base}/issues`) {
        if (req.method === 'GET')
          return paginate(
            res,
            issues.filter((i) => i.state === (u.searchParams.get('state') ?? 'open')),
            u,
          );
        if (req.method === 'POST') {
          const number = issues.length + 1;
          const issue: FakeIssue = {
            id: nextId++,
            number,
            title: String(body.title),
            body: String(body.body),
            state: 'open',
            user: BOT,
          };
          issues.push(issue);
          return json(201, issue);
        }
      }
      const issueNumber = numberIn('/issues/(\\d+)');
      if (issueNumber !== undefined && req.method === 'PATCH') {
        const issue = issues.find((i) => i.number === issueNumber);
        if (!issue) return json(404, { message: 'Not Found' });
        if (typeof body.body === 'string') issue.body = body.body;
        if (body.state === 'open' || body.state === 'closed') issue.state = body.state;
        return json(200, issue);
      }
      const pullNumber = numberIn('/pulls/(\\d+)');
      if (pullNumber !== undefined && req.method === 'GET') {
        const state = pulls.get(pullNumber);
        return state ? json(200, { number: pullNumber, state }) : json(404, { message: 'Not Found' });
      }
      json(404, { message: `no fake route for ${req.method} ${u.pathname}` });
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    comments,
    issues,
    pulls,
    requests,
    close: () => new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve()))),
  };
}
