/**
 * End to end: usage metering in the stack `cdktf synth` really produces, as `npm start` emulates it in workerd, with
 * canary secrets, against the fake Gemini on 127.0.0.1. Every shard writes to the in-memory stand-in for its
 * Analytics Engine dataset; the status view reads today's usage back, per key, project, client and model; the
 * figures are what the clients were told; and no key, password or token reaches any of it.
 */
import { rmSync } from 'node:fs';
import { startFakeGemini, type FakeGemini } from '../../dev/fake-gemini';
import { requestLineContext } from '../../scripts/local/cli';
import { startTopology, type RunningTopology } from '../../scripts/local/start';
import { formatStatusView } from '../../scripts/local/status-view';
import type { Topology } from '../../scripts/local/emulated-topology';
import type { UsageStatus } from '../../workers/shard/core/usage-summary';
import { CANARY_CLIENT_TOKEN, CANARY_PASS, canaryApiKeys, canarySearch } from '../security/canaries';
import { synthesizeToTempDir, synthesizedTopology } from '../helpers/emulated-topology';

const API_KEYS = canaryApiKeys(4);
const SECRETS = { apiKeys: API_KEYS, pass: CANARY_PASS, clientTokens: { alice: CANARY_CLIENT_TOKEN } };
const leaks = canarySearch([...API_KEYS, CANARY_PASS, CANARY_CLIENT_TOKEN]);

jest.setTimeout(120_000);

let outDir: string;
let fake: FakeGemini;
let topology: Topology;
let running: RunningTopology;
const logs: string[] = [];

beforeAll(async () => {
  // two shards of two keys, without KEY_PROJECTS: shard 1 cannot tell its keys' global numbers
  outDir = await synthesizeToTempDir('zen-usage-e2e-', 'prod', { KEY_COUNT: '4', KEYS_PER_SHARD: '2' });
  fake = await startFakeGemini();
  topology = synthesizedTopology(outDir, 'prod', SECRETS, fake.url);
  running = await startTopology({ topology, port: 0, onLog: (message) => logs.push(message) });
});

afterAll(async () => {
  await running?.dispose();
  await fake?.close();
  if (outDir) rmSync(outDir, { recursive: true, force: true });
});

const bearer = (token: string) => ({ authorization: `Bearer ${token}`, 'content-type': 'application/json' });

async function post(path: string, headers: Record<string, string>, body: object): Promise<string> {
  const response = await fetch(`${running.url}${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
  return response.text();
}

async function status(): Promise<{ shards: { shard: number; status?: { usage?: UsageStatus } }[] }> {
  const response = await fetch(`${running.url}/zen/status`, { headers: bearer(CANARY_PASS) });
  return (await response.json()) as never;
}

describe('usage metering through the prod topology', () => {
  let prompts = 0;

  beforeAll(async () => {
    for (let i = 0; i < 4; i++) {
      const reply = JSON.parse(
        await post('/v1/chat/completions', bearer(CANARY_PASS), {
          model: 'gemini-3.8-flash',
          messages: [{ role: 'user', content: `question number ${i}` }],
        }),
      ) as { usage: { prompt_tokens: number } };
      prompts += reply.usage.prompt_tokens;
    }
    const streamed = await post('/v1/chat/completions', bearer(CANARY_CLIENT_TOKEN), {
      model: 'gemini-3.5-flash',
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: 'stream it please' }],
    });
    prompts += Number(/"prompt_tokens":([0-9]+)/.exec(streamed)?.[1]);
    const native = await post(
      '/v1beta/models/gemini-3.8-flash:streamGenerateContent?alt=sse',
      { 'x-goog-api-key': CANARY_CLIENT_TOKEN, 'content-type': 'application/json' },
      { contents: [{ role: 'user', parts: [{ text: 'a native stream' }] }] },
    );
    const usages = [...native.matchAll(/"promptTokenCount":([0-9]+)/g)];
    prompts += Number(usages.at(-1)?.[1]);
    // a wrong password (refused before any key), and a model field that is a key (Google knows no such model)
    await post('/v1/chat/completions', bearer(`${CANARY_PASS}-wrong`), { model: 'gemini-3.8-flash', messages: [] });
    await post('/v1/chat/completions', bearer(CANARY_PASS), {
      model: API_KEYS[0] as string,
      messages: [{ role: 'user', content: 'hi' }],
    });
    // a stream's data point is written when its end has gone out; give workerd a moment
    await new Promise((resolve) => setTimeout(resolve, 300));
  });

  test('each shard reports its dataset; together they hold one point per request, with the tokens clients saw', async () => {
    const usages = (await status()).shards.map((s) => s.status?.usage).filter((u) => u !== undefined);
    expect(usages).toHaveLength(2);
    const sum = (pick: (u: UsageStatus) => number) => usages.reduce((n, u) => n + pick(u as UsageStatus), 0);
    expect(sum((u) => u.requests)).toBe(8);
    expect(sum((u) => u.errors)).toBe(2);
    expect(sum((u) => u.tokens.prompt)).toBe(prompts);
    const clients = usages.flatMap((u) => (u as UsageStatus).clients);
    expect(clients.filter((c) => c.client === 'alice').reduce((n, c) => n + c.requests, 0)).toBe(2);
  });

  test("the status view's usage names keys by their global number, as the request lines do", async () => {
    const view = formatStatusView(await status(), requestLineContext(topology));
    const usage = view.slice(view.indexOf('usage today'));
    expect(usage).toMatch(/^usage today \(since .*midnight Pacific time; npm start's in-memory dataset\)/);
    expect(usage).toContain('8 requests, 2 errors');
    const keyRows = usage.split('\n').filter((line) => /^ {2}KEY[0-9]+ /.test(line));
    expect(keyRows.length).toBeGreaterThan(0);
    expect(usage).not.toMatch(/shard[0-9]+:KEY/);
    expect(usage).toMatch(/\n {2}alice +2 /);
  });

  test('no key, password or token in the usage the status view answers, nor in the view', async () => {
    const body = await status();
    expect(leaks(JSON.stringify(body.shards.map((s) => s.status?.usage)))).toEqual([]);
    expect(leaks(formatStatusView(body, requestLineContext(topology)))).toEqual([]);
    // the model field that was a key is written as [redacted]
    expect(JSON.stringify(body)).toContain('"model":"[redacted]"');
  });
});
