/**
 * `GET /zen`, the status page, from the shard worker's edge (a preview worker, a shard alone) and from the
 * orchestrator, which serves it itself: one self-contained page under 100 KB, open without a credential, holding no
 * secret, whose Content-Security-Policy allows its own inline script and style by hash and nothing else.
 */
import { createHash } from 'node:crypto';
import { bundleWorker } from '../../../../../bundler/worker-bundles';
import { statusPage } from '../../../../../bundler/status-page';
import { routeRequest } from '../../../../../workers/orchestrator/route-request';
import { KeyPool } from '../../../../../workers/shard/core/key-pool';
import type { LogLine } from '../../../../../workers/shard/core/log';
import { handleRequest, type HandlerDeps } from '../../../../../workers/shard/edge/handler';
import { matchRoute } from '../../../../../workers/shard/surfaces/registry';
import { backend, bind, ok, routeHarness } from '../../../../helpers/stub-backends';

const PASS = 'canary-page-pass-0123456789';
const KEYS = ['canary-page-key-1', 'canary-page-key-2'];
const ALICE = 'canary-page-token-alice-0123456789';
const ENV = {
  KEY1: KEYS[0],
  KEY2: KEYS[1],
  PASS,
  CLIENT_TOKENS: JSON.stringify({ alice: ALICE }),
  GEMINI_BASE_URL: 'http://127.0.0.1:9',
};
const MAX_PAGE_BYTES = 100 * 1024;

function shardHarness() {
  const logs: LogLine[] = [];
  const upstream: string[] = [];
  const pool = new KeyPool();
  const deps: HandlerDeps = {
    now: () => 1_000,
    random: () => 0,
    randomUUID: () => 'req-page',
    sleep: () => Promise.resolve(true),
    log: (line) => logs.push(line),
    pool,
    fetch: (url) => {
      upstream.push(String(url));
      return Promise.resolve(new Response('{}'));
    },
  };
  const send = (method: string, path: string, headers: Record<string, string> = {}) =>
    handleRequest(new Request(`http://worker.test${path}`, { method, headers }), ENV, deps);
  return { send, logs, upstream, pool };
}

/** The content of every inline `<tag>` of the page. */
function inline(html: string, tag: 'script' | 'style'): string[] {
  return [...html.matchAll(new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, 'g'))].map((m) => m[1] ?? '');
}

const sha256 = (text: string): string => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

describe('the status page', () => {
  const page = statusPage();

  it('is one page under 100 KB that loads nothing from elsewhere', () => {
    expect(Buffer.byteLength(page.html, 'utf8')).toBeLessThan(MAX_PAGE_BYTES);
    expect(page.html.startsWith('<!doctype html>')).toBe(true);
    // no external script, style sheet, image or font: every src/href is a data: URL, and nothing names another host
    expect([...page.html.matchAll(/\b(?:src|href)\s*=\s*"([^"]*)"/g)].map((m) => m[1])).toEqual(['data:,']);
    expect(page.html).not.toMatch(/https?:\/\/|@import|url\(/);
    expect(inline(page.html, 'script')).toHaveLength(1);
    expect(inline(page.html, 'style')).toHaveLength(1);
  });

  it('allows exactly its inline script and style, by hash, and only its own origin to be asked', () => {
    const [script = ''] = inline(page.html, 'script');
    const [style = ''] = inline(page.html, 'style');
    expect(page.contentSecurityPolicy.split('; ')).toEqual([
      "default-src 'none'",
      `script-src ${sha256(script)}`,
      `style-src ${sha256(style)}`,
      "connect-src 'self'",
      'img-src data:',
      "base-uri 'none'",
      "form-action 'none'",
      "frame-ancestors 'none'",
      "require-trusted-types-for 'script'",
      "trusted-types 'none'",
    ]);
    expect(page.contentSecurityPolicy).not.toContain('unsafe');
    // no inline event handler or style attribute, which the policy would refuse
    expect(page.html).not.toMatch(/\son[a-z]+\s*=|\sstyle\s*=/i);
  });

  it('keeps the password for the tab only and sends it in a header to /zen/status', () => {
    const [script = ''] = inline(page.html, 'script');
    expect(script).toContain('sessionStorage');
    expect(script).not.toMatch(/localStorage|document\.cookie|indexedDB/);
    expect(script).toContain('"/zen/status"');
    expect(script).toMatch(/Bearer /);
  });

  it('is the same bytes each time it is built', () => {
    expect(statusPage()).toEqual(page);
  });
});

describe('GET /zen on a shard worker', () => {
  it('serves the page without a credential, with its policy, and counts no client request', async () => {
    const { send, logs, upstream, pool } = shardHarness();
    const res = await send('GET', '/zen');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('content-security-policy')).toBe(statusPage().contentSecurityPolicy);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = await res.text();
    expect(body).toBe(statusPage().html);
    for (const secret of [PASS, ALICE, ...KEYS]) expect(body).not.toContain(secret);
    expect(upstream).toEqual([]);
    expect(pool.requests().count).toBe(0);
    expect(logs).toEqual([expect.objectContaining({ event: 'request', route: 'zen.page', status: 200, attempts: 0 })]);
    expect(logs[0]).not.toHaveProperty('client');
  });

  it('answers HEAD with the headers alone, and other methods with 405', async () => {
    const { send } = shardHarness();
    const head = await send('HEAD', '/zen');
    expect([head.status, head.headers.get('content-type'), await head.text()]).toEqual([
      200,
      'text/html; charset=utf-8',
      '',
    ]);
    const post = await send('POST', '/zen');
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD, OPTIONS');
  });

  it('is a route of the zen surface, open; the status it reads still needs the password', async () => {
    expect(matchRoute('GET', '/zen', new URLSearchParams())).toEqual({
      kind: 'route',
      route: { name: 'zen.page', surface: 'zen', method: 'GET', open: true },
    });
    expect(matchRoute('GET', '/zen/', new URLSearchParams())).toEqual({ kind: 'not-found' });
    const { send } = shardHarness();
    expect((await send('GET', '/zen/status')).status).toBe(401);
    expect((await send('GET', '/zen/status', { authorization: `Bearer ${PASS}` })).status).toBe(200);
    // a credential sent with the page is not read, so a wrong one changes nothing
    expect((await send('GET', '/zen', { authorization: 'Bearer wrong' })).status).toBe(200);
  });
});

describe('GET /zen on the orchestrator', () => {
  it('serves the page itself: no shard is asked', async () => {
    const shard = backend(ok);
    const { deps, logs } = routeHarness();
    const res = await routeRequest(new Request('https://gw.test/zen'), bind(shard), deps);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toBe(statusPage().contentSecurityPolicy);
    expect(res.headers.get('x-request-id')).toBe('generated-id');
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(await res.text()).toBe(statusPage().html);
    expect(shard.seen).toEqual([]);
    expect(logs).toEqual([
      { event: 'orchestrator_request', requestId: 'generated-id', route: 'zen.page', status: 200, ms: 0 },
    ]);
    const head = await routeRequest(new Request('https://gw.test/zen', { method: 'HEAD' }), bind(shard), deps);
    expect([head.status, await head.text(), shard.seen.length]).toEqual([200, '', 0]);
  });

  it('forwards another method to a shard, whose 405 is the answer, and serves the page with no shard bound', async () => {
    const shard = backend(() => Promise.resolve(new Response('{}', { status: 405 })));
    const { deps } = routeHarness();
    const post = await routeRequest(new Request('https://gw.test/zen', { method: 'POST' }), bind(shard), deps);
    expect([post.status, shard.seen.length]).toEqual([405, 1]);
    expect((await routeRequest(new Request('https://gw.test/zen'), [], deps)).status).toBe(200);
  });
});

describe('the bundled workers', () => {
  it('carry the page and its policy as assembled at build time', () => {
    const page = statusPage();
    for (const name of ['orchestrator', 'shard'] as const) {
      const code = bundleWorker(name);
      // the minifier may quote the page's string its own way; the policy's hashes pin its script and style
      expect(code.includes(JSON.stringify(page.contentSecurityPolicy))).toBe(true);
      expect(code.includes('<title>zen-ai-router status</title>')).toBe(true);
    }
  });
});
