/**
 * Operator-only details, end to end (issue 24, "`/zen/status` … is readable with any client token"): per-key status
 * answers the password `PASS` alone. Through the emulated prod topology (the orchestrator's merged view and each
 * shard's own) and the preview worker, with two named clients and the operator: a client token gets 403 with a
 * message that says the status is the operator's, and nothing of the pool; a wrong credential still gets 401.
 */
import { rmSync } from 'node:fs';
import { type FakeGemini, startFakeGemini } from '../../dev/fake-gemini';
import { requestLineContext } from '../../scripts/local/cli';
import { backendScripts, type Topology } from '../../scripts/local/emulated-topology';
import { type RunningTopology, startTopology } from '../../scripts/local/start';
import { formatStatusView } from '../../scripts/local/status-view';
import { defined } from '../helpers/guards';
import { synthesizeToTempDir, synthesizedTopology } from '../helpers/emulated-topology';

const KEYS = Array.from({ length: 12 }, (_, i) => `canary-key-${String(i).padStart(2, '0')}-operator`);
const PASS = 'canary-pass-operator-only';
const TOKENS = { alice: 'canary-token-alice-operator-01234', bob: 'canary-token-bob-operator-0123456' };
const PR = '9';

const OPERATOR_ONLY = {
  error: {
    message: 'The key status is for the operator: send the gateway password (PASS), not a client token.',
    type: 'permission_error',
    code: 'operator_only',
  },
};

jest.setTimeout(120_000);

type Json = Record<string, unknown>;

let outDir: string;
let fake: FakeGemini;
const logs: string[] = [];
const running: RunningTopology[] = [];

async function start(stack: string): Promise<{ topology: Topology; gateway: RunningTopology }> {
  const topology = synthesizedTopology(outDir, stack, { apiKeys: KEYS, pass: PASS, clientTokens: TOKENS }, fake.url);
  const gateway = await startTopology({ topology, port: 0, onLog: (message) => logs.push(message) });
  running.push(gateway);
  return { topology, gateway };
}

/** Node's fetch, or a worker's own (Miniflare's `getWorker`), as far as this test uses them. */
interface Fetcher {
  fetch(
    url: string,
    init: { headers: Record<string, string> },
  ): Promise<{ readonly status: number; text(): Promise<string> }>;
}

async function status(
  fetcher: Fetcher,
  base: string,
  credential: string,
  id: string,
): Promise<{ status: number; body: Json; text: string }> {
  const res = await fetcher.fetch(`${base}/zen/status`, {
    headers: { authorization: `Bearer ${credential}`, 'x-request-id': id },
  });
  const text = await res.text();
  return { status: res.status, body: JSON.parse(text) as Json, text };
}

const node: Fetcher = { fetch: (url, init) => fetch(url, init) };

function linesFor(id: string): Json[] {
  return logs
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Json)
    .filter((line) => line.requestId === id);
}

/** The log lines of a request once `count` have arrived (workerd's output may trail the response). */
async function waitForLines(id: string, count: number): Promise<Json[]> {
  for (let i = 0; i < 500 && linesFor(id).length < count; i++) await new Promise((r) => setTimeout(r, 10));
  return linesFor(id);
}

beforeAll(async () => {
  // a preview stack's synth writes prod too
  outDir = await synthesizeToTempDir('zen-operator-', `preview-${PR}`, { KEY_COUNT: String(KEYS.length) });
  fake = await startFakeGemini({ port: 0 });
});

afterAll(async () => {
  await Promise.all(running.map((r) => r.dispose()));
  await fake?.close();
  if (outDir) rmSync(outDir, { recursive: true, force: true });
});

describe('the prod topology', () => {
  let topology: Topology;
  let gateway: RunningTopology;

  beforeAll(async () => {
    ({ topology, gateway } = await start('prod'));
  });

  it("answers the operator with every shard's keys, as npm start's status view prints them", async () => {
    const view = await status(node, gateway.url, PASS, 'op-status');
    expect(view.status).toBe(200);
    expect(view.body).toMatchObject({ shardCount: 2, answered: 2 });
    const printed = formatStatusView(view.body, requestLineContext(topology));
    expect(printed.split('\n').filter((line) => /^ {4}KEY[0-9]+ /.test(line))).toHaveLength(KEYS.length);
  });

  it('answers a client token 403 with a message that says so, and nothing of the pool', async () => {
    for (const [client, token] of Object.entries(TOKENS)) {
      const id = `client-status-${client}`;
      const view = await status(node, gateway.url, token, id);
      expect([view.status, view.body]).toEqual([403, OPERATOR_ONLY]);
      expect(view.text).not.toMatch(/"keys"|KEY[0-9]|requests/);
      // each shard logged the refusal under the client's name; the orchestrator passed it on
      const lines = await waitForLines(id, 3);
      expect(lines.filter((l) => l.event === 'request')).toEqual([
        expect.objectContaining({ route: 'zen.status', client, status: 403, error: 'operator_only' }),
        expect.objectContaining({ route: 'zen.status', client, status: 403, error: 'operator_only' }),
      ]);
      expect(lines.filter((l) => l.event === 'orchestrator_request')).toEqual([
        expect.objectContaining({ route: 'zen.status', status: 403, queried: 2 }),
      ]);
    }
  });

  it("refuses a client token on each shard's own status too, and serves the operator there", async () => {
    for (const n of [0, 1]) {
      const shard = await gateway.miniflare.getWorker(defined(backendScripts(topology).get(n), `shard ${n}`));
      const refused = await status(shard, 'http://shard.local', TOKENS.alice, `shard-${n}-alice`);
      expect([refused.status, refused.body]).toEqual([403, OPERATOR_ONLY]);
      const served = await status(shard, 'http://shard.local', PASS, `shard-${n}-op`);
      expect(served.status).toBe(200);
      expect(Array.isArray(served.body.keys)).toBe(true);
    }
  });

  it('still answers a wrong credential 401, as before', async () => {
    const wrong = await status(node, gateway.url, 'not-a-token-of-this-gateway-000', 'wrong-status');
    expect(wrong.status).toBe(401);
    expect(wrong.body).toMatchObject({ error: { code: 'invalid_api_key' } });
  });

  it('serves the clients everything else', async () => {
    const models = await fetch(`${gateway.url}/v1/models`, { headers: { authorization: `Bearer ${TOKENS.bob}` } });
    expect(models.status).toBe(200);
  });
});

describe('the preview worker', () => {
  it('answers the operator and refuses a client token the same way', async () => {
    const { gateway } = await start(`preview-${PR}`);
    const served = await status(node, gateway.url, PASS, 'preview-op');
    expect(served.status).toBe(200);
    expect(Array.isArray(served.body.keys)).toBe(true);
    const refused = await status(node, gateway.url, TOKENS.bob, 'preview-bob');
    expect([refused.status, refused.body]).toEqual([403, OPERATOR_ONLY]);
  });
});
