/**
 * The orchestrator bundle running in workerd, bound to small stub shards, exactly as service bindings wire it in
 * production. The pure routing rules are covered in orchestrator-route-request.test.ts; this file checks what only the
 * runtime can show: real service bindings, streaming across both hops, and what a throwing or hanging shard does.
 */
import { Miniflare } from 'miniflare';
import { connect } from 'node:net';
import { bundleWorker } from '../../../bundler/worker-bundles';
import { DEFAULT_COMPATIBILITY_DATE, POOL_EXHAUSTED, POOL_HEADER } from '../../../workers/shared/contract';
import { googleErrorBody } from '../../helpers/google-errors';
import { defined } from '../../helpers/guards';

/** A shard that reports who it is and what it received, or echoes a streamed body back as it arrives. */
const echoShard = (name: string): string => `
export default {
  async fetch(request) {
    const url = new URL(request.url);
    if (url.pathname === '/stream') {
      return new Response(request.body, { headers: { 'content-type': 'application/octet-stream', 'x-shard': '${name}' } });
    }
    if (url.pathname === '/redirect') return new Response(null, { status: 302, headers: { location: '/elsewhere' } });
    return Response.json(
      { shard: '${name}', method: request.method, url: request.url, headers: Object.fromEntries(request.headers),
        body: await request.text() },
      { status: 200, headers: { 'x-shard': '${name}', 'set-cookie': 'a=b' } },
    );
  },
};`;

const THROWING_SHARD = `export default { async fetch() { throw new Error('shard exploded: secret-internal-detail'); } };`;
/** A shard whose keys are all cooling, answering as the shard worker does. */
const COOLING_SHARD = (retryAfter: number): string => `export default { async fetch() {
  return Response.json({ error: { message: 'cooling', type: 'rate_limit_error', code: 'all_keys_cooling' } },
    { status: 429, headers: { 'retry-after': '${retryAfter}', '${POOL_HEADER}': '${POOL_EXHAUSTED}' } });
} };`;
/** A shard that reads a generateContent body whole, as one that looks for resource names does, and misdirects it to shard 1. */
const MISDIRECTING_SHARD = `export default { async fetch(request) {
  if (!new URL(request.url).pathname.endsWith(':generateContent')) return new Response('not misdirected');
  await request.arrayBuffer();
  return Response.json({ error: { code: 'misdirected_request' } }, { status: 421, headers: { 'x-zen-owner': '1' } });
} };`;
const HANGING_SHARD = `export default { async fetch() { await new Promise((r) => setTimeout(r, 30000)); return new Response('late'); } };`;

const worker = (name: string, script: string, extra: Record<string, unknown> = {}) => ({
  name,
  modules: true,
  script,
  compatibilityDate: DEFAULT_COMPATIBILITY_DATE,
  ...extra,
});

describe('orchestrator in workerd', () => {
  let mf: Miniflare;
  const logs: Record<string, unknown>[] = [];

  beforeAll(async () => {
    const orchestrator = bundleWorker('orchestrator');
    mf = new Miniflare({
      handleStructuredLogs: ({ message }: { message: string }) => {
        if (message.startsWith('{')) logs.push(JSON.parse(message) as Record<string, unknown>);
      },
      workers: [
        worker('orchestrator', orchestrator, {
          serviceBindings: { BACKEND_SERVICE_0: 'shard-0', BACKEND_SERVICE_1: 'shard-1', BACKEND_SERVICE_2: 'shard-2' },
          bindings: { SHARD_ATTEMPTS: '1', SHARD_KEY_COUNTS: '8,8,4' },
        }),
        // the default SHARD_ATTEMPTS (3): a throwing shard is still not retried
        worker('orchestrator-faulty', orchestrator, {
          serviceBindings: { BACKEND_SERVICE_0: 'shard-0', BACKEND_SERVICE_1: 'shard-throws' },
          bindings: { SHARD_KEY_COUNTS: '1,1' },
        }),
        worker('orchestrator-weighted', orchestrator, {
          serviceBindings: { BACKEND_SERVICE_0: 'shard-throws', BACKEND_SERVICE_1: 'shard-1' },
          bindings: { SHARD_KEY_COUNTS: '0,4' },
        }),
        worker('orchestrator-unweighted', orchestrator, {
          serviceBindings: { BACKEND_SERVICE_0: 'shard-0', BACKEND_SERVICE_1: 'shard-1' },
        }),
        worker('orchestrator-cooling', orchestrator, {
          serviceBindings: { BACKEND_SERVICE_0: 'shard-cooling-30', BACKEND_SERVICE_1: 'shard-1' },
          bindings: { SHARD_KEY_COUNTS: '1,1' },
        }),
        worker('orchestrator-all-cooling', orchestrator, {
          serviceBindings: { BACKEND_SERVICE_0: 'shard-cooling-30', BACKEND_SERVICE_1: 'shard-cooling-7' },
          bindings: { SHARD_KEY_COUNTS: '1,1' },
        }),
        worker('orchestrator-hang', orchestrator, {
          serviceBindings: { BACKEND_SERVICE_0: 'shard-hangs', BACKEND_SERVICE_1: 'shard-0' },
          bindings: { SHARD_TIMEOUT_MS: '300', SHARD_KEY_COUNTS: '1,0' },
        }),
        // every draw picks shard 0, which misdirects to shard 1; no pool re-route, so only the misdirect keeps a copy
        worker('orchestrator-owned', orchestrator, {
          serviceBindings: { BACKEND_SERVICE_0: 'shard-misdirects', BACKEND_SERVICE_1: 'shard-1' },
          bindings: { SHARD_ATTEMPTS: '1', SHARD_KEY_COUNTS: '1,0' },
        }),
        worker('orchestrator-empty', orchestrator),
        worker('shard-0', echoShard('shard-0')),
        worker('shard-1', echoShard('shard-1')),
        worker('shard-2', echoShard('shard-2')),
        worker('shard-throws', THROWING_SHARD),
        worker('shard-hangs', HANGING_SHARD),
        worker('shard-misdirects', MISDIRECTING_SHARD),
        worker('shard-cooling-30', COOLING_SHARD(30)),
        worker('shard-cooling-7', COOLING_SHARD(7)),
      ],
    });
    await mf.ready;
  });

  afterAll(async () => {
    await mf.dispose();
  });

  /**
   * The log lines of the requests whose id starts with `prefix`, once `count` of them are in. workerd's console
   * output reaches Node through a pipe, so a line can arrive after the response it belongs to.
   */
  async function logsFor(prefix: string, count: number): Promise<Record<string, unknown>[]> {
    const matching = (): Record<string, unknown>[] =>
      logs.filter((l) => typeof l.requestId === 'string' && l.requestId.startsWith(prefix));
    for (let waited = 0; matching().length < count && waited < 5000; waited += 10) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return matching();
  }

  const id = (prefix: string, i = 0): Record<string, string> => ({ 'x-request-id': `${prefix}-${i}` });

  async function via(name: string, path: string, init?: RequestInit): Promise<Response> {
    const fetcher = await mf.getWorker(name);
    return (await fetcher.fetch(`http://gateway.test${path}`, init as never)) as unknown as Response;
  }

  it('spreads requests over every bound shard', async () => {
    const seen = new Map<string, number>();
    for (let i = 0; i < 90; i++) {
      const res = await mf.dispatchFetch('http://gateway.test/v1/models', { headers: id('spread', i) });
      const shard = res.headers.get('x-shard') ?? 'none';
      seen.set(shard, (seen.get(shard) ?? 0) + 1);
      await res.arrayBuffer();
    }
    // with keys 8, 8, 4 each shard has probability at most 0.8^90 < 1e-8 of being missed
    expect([...seen.keys()].sort()).toEqual(['shard-0', 'shard-1', 'shard-2']);
    const shardsLogged = new Set((await logsFor('spread-', 90)).map((l) => l.shard));
    expect([...shardsLogged].sort()).toEqual([0, 1, 2]);
  });

  it('passes method, path, query, headers and body through, and answers with the shard response untouched', async () => {
    const res = await mf.dispatchFetch('http://gateway.test/v1/chat/completions?alt=sse', {
      method: 'POST',
      headers: {
        authorization: 'Bearer the-pass',
        'content-type': 'application/json',
        'x-custom': 'kept',
        'x-request-id': 'client-req-1',
      },
      body: '{"model":"gemini-3.8-flash"}',
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('set-cookie')).toBe('a=b');
    expect(res.headers.get('x-request-id')).toBe('client-req-1');
    const echoed = (await res.json()) as { method: string; url: string; headers: Record<string, string>; body: string };
    expect(echoed.method).toBe('POST');
    expect(new URL(echoed.url).pathname + new URL(echoed.url).search).toBe('/v1/chat/completions?alt=sse');
    expect(echoed.headers).toMatchObject({
      authorization: 'Bearer the-pass',
      'content-type': 'application/json',
      'x-custom': 'kept',
      'x-request-id': 'client-req-1',
    });
    expect(echoed.body).toBe('{"model":"gemini-3.8-flash"}');
    expect(await logsFor('client-req-1', 1)).toEqual([
      expect.objectContaining({
        event: 'orchestrator_request',
        requestId: 'client-req-1',
        shard: expect.any(Number),
        status: 200,
      }),
    ]);
  });

  it('gives the shard and the client the same generated request id when the client sends none', async () => {
    const res = await mf.dispatchFetch('http://gateway.test/v1/models');
    const echoed = (await res.json()) as { headers: Record<string, string> };
    const generated = res.headers.get('x-request-id');
    expect(generated).toMatch(/^[0-9a-f-]{36}$/);
    expect(echoed.headers['x-request-id']).toBe(generated);
    expect(await logsFor(defined(generated, 'the generated request id'), 1)).toEqual([
      expect.objectContaining({ requestId: generated, status: 200 }),
    ]);
  });

  /**
   * A GET with `cf-ray` sent byte for byte over a socket: Node's HTTP clients refuse control characters in a header,
   * workerd (like a client talking to it directly) does not.
   */
  async function rawGetWithRay(ray: string, requestId: string): Promise<string> {
    const { hostname, port } = await mf.ready;
    const socket = connect(Number(port), hostname);
    socket.write(
      `GET /v1/models HTTP/1.1\r\nHost: gateway.test\r\ncf-ray: ${ray}\r\nx-request-id: ${requestId}\r\nConnection: close\r\n\r\n`,
    );
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
    await new Promise((resolve, reject) => socket.on('close', resolve).on('error', reject));
    return answer;
  }

  it.each([
    ['log-injection JSON', 'r1","status":200,"injected":"yes'],
    ['a terminal escape sequence', '\u001b[2J\u001b[31minjected\u0007'],
  ])('neither echoes nor logs a cf-ray holding %s, and gives the shard the id it answers with', async (name, ray) => {
    const requestId = `ray-${name.length}`;
    const answer = await rawGetWithRay(ray, requestId);
    const [head, body] = answer.split('\r\n\r\n') as [string, string];
    expect(head).toMatch(/^HTTP\/1\.1 200 /);
    expect(head.toLowerCase()).toContain(`x-request-id: ${requestId}\r\n`);
    expect(head).not.toContain('injected');
    // the echo shard's body shows the id the shard was given, so its own log line carries the same one
    expect(JSON.parse(body).headers['x-request-id']).toBe(requestId);
    await logsFor(requestId, 1);
    expect(JSON.stringify(logs)).not.toContain('injected');
  });

  it('passes a redirect through instead of following it', async () => {
    const res = await mf.dispatchFetch('http://gateway.test/redirect', { redirect: 'manual' });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/elsewhere');
  });

  it('streams both ways: the first echoed chunk arrives before the request body is finished', async () => {
    const encoder = new TextEncoder();
    let sendNext: (chunk: string | null) => void = () => undefined;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        sendNext = (chunk) => (chunk === null ? controller.close() : controller.enqueue(encoder.encode(chunk)));
      },
    });
    sendNext('first;');
    const res = await mf.dispatchFetch('http://gateway.test/stream', { method: 'POST', body, duplex: 'half' } as never);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    const first = await reader.read();
    // the client has not finished its body yet, so only an unbuffered path can have delivered this
    expect(decoder.decode(first.value)).toBe('first;');
    sendNext('second;');
    sendNext(null);
    let rest = '';
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) rest += decoder.decode(chunk.value);
    expect(rest).toBe('second;');
  });

  it('answers JSON 502 without the shard error text when the shard throws, and never retries it by default', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 40; i++) {
      const res = await via('orchestrator-faulty', '/v1/models', { headers: id('faulty', i) });
      statuses.push(res.status);
      if (res.status === 502) {
        const text = await res.text();
        expect(JSON.parse(text)).toEqual({
          error: {
            message: 'The backend shard failed to answer; retry the request',
            type: 'server_error',
            code: 'shard_error',
          },
        });
        expect(text).not.toContain('secret-internal-detail');
        expect(res.headers.get('content-type')).toContain('application/json');
      } else {
        await res.arrayBuffer();
      }
    }
    expect(new Set(statuses)).toEqual(new Set([200, 502]));
    const lines = await logsFor('faulty-', 40);
    const failures = lines.filter((l) => l.status === 502);
    expect(failures.length).toBe(statuses.filter((s) => s === 502).length);
    for (const l of failures) expect(l).toMatchObject({ shard: 1, error: 'shard_error' });
    expect(lines.some((l) => 'attempts' in l)).toBe(false);
    expect(JSON.stringify(lines)).not.toContain('secret-internal-detail');
  });

  it('never sends a request to a shard whose SHARD_KEY_COUNTS entry is 0', async () => {
    for (let i = 0; i < 30; i++) {
      const res = await via('orchestrator-weighted', '/v1/embeddings', {
        method: 'POST',
        body: 'payload',
        headers: id('weighted', i),
      });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { body: string }).body).toBe('payload');
    }
    const lines = await logsFor('weighted-', 30);
    expect(
      lines.every((l) => l.status === 200 && l.shard === 1 && !('attempts' in l) && !('shardKeyCounts' in l)),
    ).toBe(true);
  });

  it('without SHARD_KEY_COUNTS still answers, spreading uniformly, and every log line says the weights are missing', async () => {
    for (let i = 0; i < 10; i++) {
      const res = await via('orchestrator-unweighted', '/v1/models', { headers: id('unweighted', i) });
      expect(res.status).toBe(200);
      await res.arrayBuffer();
    }
    const lines = await logsFor('unweighted-', 10);
    expect(lines).toHaveLength(10);
    for (const l of lines) expect(l).toMatchObject({ status: 200, shardKeyCounts: 'missing' });
  });

  it('by default moves past a shard whose keys are all cooling, or passes on the soonest refusal', async () => {
    for (let i = 0; i < 20; i++) {
      const res = await via('orchestrator-cooling', '/v1/embeddings', {
        method: 'POST',
        body: 'payload',
        headers: id('cooling', i),
      });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { body: string }).body).toBe('payload');
    }
    const lines = await logsFor('cooling-', 20);
    expect(lines.every((l) => l.status === 200 && l.shard === 1)).toBe(true);
    expect(lines.some((l) => l.attempts === 2)).toBe(true);

    const refused = await via('orchestrator-all-cooling', '/v1/models', { headers: id('allcool') });
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('7');
    expect(refused.headers.get('x-request-id')).toBe('allcool-0');
    expect(await refused.json()).toMatchObject({ error: { code: 'all_keys_cooling' } });
    expect(await logsFor('allcool-', 1)).toEqual([expect.objectContaining({ shard: 1, status: 429, attempts: 2 })]);
  });

  it('answers JSON 504 when the shard hangs past SHARD_TIMEOUT_MS', async () => {
    const res = await via('orchestrator-hang', '/v1/models', { headers: id('hang') });
    expect(res.status).toBe(504);
    expect(await res.json()).toMatchObject({ error: { code: 'shard_timeout', type: 'server_error' } });
    expect(await logsFor('hang-', 1)).toEqual([
      expect.objectContaining({ shard: 0, status: 504, error: 'shard_timeout' }),
    ]);
  });

  it('answers JSON 503 when no shard is bound', async () => {
    const res = await via('orchestrator-empty', '/v1/models', { headers: id('empty') });
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ error: { code: 'no_backend', type: 'server_error' } });
    expect(res.headers.get('x-request-id')).toBe('empty-0');
    const lines = await logsFor('empty-', 1);
    expect(lines).toEqual([expect.objectContaining({ status: 503, error: 'no_backend' })]);
    expect(lines[0]).not.toHaveProperty('shard');
  });

  it("follows a shard's misdirect once, with the whole body, and tells the owner how many shards there are", async () => {
    const payload = JSON.stringify({ contents: [{ parts: [{ text: 'é✓'.repeat(400_000) }] }] });
    const res = await via('orchestrator-owned', '/v1beta/models/m:generateContent', {
      method: 'POST',
      body: payload,
      headers: { ...id('misdirect'), 'content-type': 'application/json', 'x-zen-shard-count': '9' },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-shard')).toBe('shard-1');
    expect(res.headers.get('x-zen-owner')).toBeNull();
    const echoed = (await res.json()) as { headers: Record<string, string>; body: string };
    expect(echoed.body).toBe(payload);
    expect(echoed.headers['x-zen-shard-count']).toBe('2');
    expect(await logsFor('misdirect-', 1)).toEqual([
      expect.objectContaining({ shard: 1, status: 200, attempts: 2, owner: 1, misdirectedBy: 0 }),
    ]);
  });

  it('sends a URL naming an owned resource to its shard, and answers an untagged one with 404', async () => {
    const owned = await via('orchestrator-owned', '/v1beta/files/z1k1abcd-f1', { headers: id('owned') });
    expect(owned.headers.get('x-shard')).toBe('shard-1');
    await owned.arrayBuffer();
    const unknown = await via('orchestrator-owned', '/v1beta/files/f1', { headers: id('unowned') });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual(googleErrorBody(404, 'unknown_resource_owner'));
    expect(await logsFor('owned-', 1)).toEqual([expect.objectContaining({ shard: 1, status: 200, owner: 1 })]);
    expect(await logsFor('unowned-', 1)).toEqual([
      expect.objectContaining({ status: 404, error: 'unknown_resource_owner' }),
    ]);
  });
});
