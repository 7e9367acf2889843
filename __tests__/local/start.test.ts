/**
 * `startTopology` in workerd with two hand-made workers: a public one and a private one it reaches by a service binding,
 * like the orchestrator and a shard.
 */
import type { WorkerOptions } from 'miniflare';
import { createServer, type AddressInfo } from 'node:net';
import { startTopology, type RunningTopology } from '../../scripts/local/start';
import type { EmulatedWorker, Topology } from '../../scripts/local/emulated-topology';

/** Answers with its name, the URL it saw and the request's `mf-*` headers; `/private` calls the private worker. */
const code = (name: string): string => `export default {
  async fetch(request, env) {
    const path = new URL(request.url).pathname;
    if (env.PRIVATE && path === '/private') return env.PRIVATE.fetch(request);
    if (path === '/throw') throw new Error('thrown by ' + ${JSON.stringify(name)});
    const mf = [...request.headers].filter(([h]) => h.startsWith('mf-')).map(([h, v]) => h + '=' + v);
    return Response.json({ worker: ${JSON.stringify(name)}, url: request.url, mf });
  },
};`;

function worker(scriptName: string, isPublic: boolean, services: Record<string, string> = {}): EmulatedWorker {
  const options: WorkerOptions = {
    name: scriptName,
    compatibilityDate: '2026-04-20',
    modules: [{ type: 'ESModule', path: `/fixture/${scriptName}.js`, contents: code(scriptName) }],
    modulesRoot: '/fixture',
    serviceBindings: services,
  };
  return { resourceId: scriptName, scriptName, isPublic, apiKeyIndexes: {}, services, options };
}

const front = worker('front', true, { PRIVATE: 'back' });
const topology: Topology = { workers: [front, worker('back', false)], publicWorker: front };

interface Seen {
  readonly worker: string;
  readonly url: string;
  readonly mf: readonly string[];
}

let running: RunningTopology;
let port: number;
const logs: string[] = [];

/** A port that was free a moment ago. */
function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolvePort(port));
    });
    server.once('error', reject);
  });
}

beforeAll(async () => {
  port = await freePort();
  running = await startTopology({ topology, port, onLog: (message) => logs.push(message) });
});
afterAll(() => running?.dispose());

async function get(path: string, headers: Record<string, string> = {}): Promise<Seen> {
  const res = await fetch(`${running.url}${path}`, { headers });
  expect(res.status).toBe(200);
  return (await res.json()) as Seen;
}

describe('startTopology', () => {
  it('serves the public worker on the requested port, and the private one only through its binding', async () => {
    expect(running.url).toBe(`http://127.0.0.1:${port}`);
    expect(await get('/')).toEqual({ worker: 'front', url: `${running.url}/`, mf: [] });
    expect((await get('/private')).worker).toBe('back');
  });

  it('gives a client no way to address a private worker or rewrite the URL with Miniflare headers', async () => {
    const seen = await get('/x?y=1', { 'MF-Route-Override': 'back', 'MF-Original-URL': 'http://evil.example/other' });
    // as on Cloudflare, they are ordinary headers that reach the public worker unchanged
    expect(seen).toEqual({
      worker: 'front',
      url: `${running.url}/x?y=1`,
      mf: ['mf-original-url=http://evil.example/other', 'mf-route-override=back'],
    });
  });

  it('answers an uncaught exception with a bare 500, as Cloudflare does, and logs it', async () => {
    const res = await fetch(`${running.url}/throw`);
    expect([res.status, await res.text()]).toEqual([500, 'Internal Server Error']);
    // workerd writes the log line after the response, so give it a moment
    for (let i = 0; i < 100 && !logs.some((line) => line.includes('thrown by front')); i++)
      await new Promise((r) => setTimeout(r, 20));
    expect(logs.filter((line) => line.includes('Uncaught') && line.includes('thrown by front'))).toHaveLength(1);
  });
});
