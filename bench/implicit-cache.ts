/**
 * Benchmark 11: Gemini's implicit cache through the gateway. Google caches a repeated prompt prefix per project
 * (implicit caching, on by default for 2.5 and later), and agents resend their whole history every turn, so a
 * conversation whose turns stay on one project has every turn after the first served mostly from that cache.
 *
 * The prod stack as `cdktf synth` writes it with `KEY_PROJECTS` (issue 22's pool: one project of 10 keys and 10 of one
 * key) runs in workerd in front of the fake Gemini, which counts per project and answers a prompt repeating at least
 * 4,096 words its project saw in the last minutes with `cachedContentTokenCount` (`dev/fake-gemini/implicit-cache.ts`).
 * Timing plays no part: the figures depend on where each turn was sent, nothing else.
 *
 * 1. Agents with a session id: 20 conversations of 10 growing turns (half Claude Code-like on `/v1/messages`, half
 *    Codex-like on `/v1/responses`), sent as the clients send them (id in a header and in the body), with the id in
 *    the body only (the shard finds it and sends the request home), and without ids (a random project per turn).
 * 2. Gemini CLI-like traffic, which carries no id and whose conversations share a long prefix (system prompt and
 *    environment context): without an id, and with either body-prefix fingerprint a gateway could take
 *    (`bench/cache-traffic.ts`, `prefixKey`). The gateway has no such fingerprint; the benchmark sends it as a session
 *    id header, which routes exactly as a fingerprint the shard computed and sent home would.
 * 3. The same for a program on the native API whose conversations share only a long system prompt, to see how each
 *    fingerprint fares with a client built otherwise.
 *
 * Each run's "ideal" is what one project that saw every earlier turn could serve from its cache: every turn after a
 * conversation's first, and the shared start of first turns where it passes the cache's minimum.
 *
 * `npx tsx bench/implicit-cache.ts [--projects 10+1x10] [--turns 10]` (or `CACHE_PROJECTS`, `CACHE_TURNS`). Progress
 * goes to stderr, tables to stdout.
 */
import { Miniflare } from 'miniflare';
import { createHash } from 'node:crypto';
import { implicitCacheMinTokens, startFakeGemini, type FakeGemini } from '../dev/fake-gemini';
import { fakeProjects } from '../scripts/local/key-projects';
import { BENCH_PASS, QUIET } from './bench-topology';
import { callsPerProject, loadSpread, projectLayoutLabels } from './capacity-model';
import { synthesizeProd, variantWorkers, type SynthesizedProd } from './capacity-topology';
import {
  AGENT_TRAFFIC,
  GEMINI_CLI_TRAFFIC,
  NATIVE_APP_TRAFFIC,
  cacheFigures,
  parseCacheOptions,
  type CacheOptions,
  type TrafficShape,
  conversations,
  history,
  idealCachedTokens,
  prefixKey,
  promptWords,
  type Conversation,
  type PrefixFingerprint,
  type TurnUsage,
} from './cache-traffic';
import { fmt, printTable, runBenchmark } from './stats';

/** The request shapes: Claude Code's Messages, Codex's Responses, and the native API (Gemini CLI, SDK apps). */
type Client = 'claude-code' | 'codex' | 'native';
/** Where a request carries its conversation: as the client sends it, in the body only, nowhere, or a fingerprint. */
type IdPlacement = 'as-sent' | 'body-only' | 'none' | PrefixFingerprint;

interface Sent {
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: unknown;
}

const MODEL = 'gemini-3.8-flash';

function claudeCode(c: Conversation, turn: number, ids: IdPlacement): Sent {
  const messages = history(c, turn).map((m) => ({ role: m.role === 'model' ? 'assistant' : 'user', content: m.text }));
  return {
    path: '/v1/messages',
    headers: {
      'x-api-key': BENCH_PASS,
      'anthropic-version': '2023-06-01',
      ...(ids === 'as-sent' ? { 'x-claude-code-session-id': c.id } : {}),
    },
    body: {
      // Claude Code's default line, which the gateway maps to gemini-3.8-flash
      model: 'claude-opus-5-5',
      max_tokens: 1024,
      system: c.system,
      messages,
      ...(ids === 'none' ? {} : { metadata: { user_id: JSON.stringify({ session_id: c.id }) } }),
    },
  };
}

function codex(c: Conversation, turn: number, ids: IdPlacement): Sent {
  const input = history(c, turn).map((m) =>
    m.role === 'model'
      ? { role: 'assistant', content: [{ type: 'output_text', text: m.text }] }
      : { role: 'user', content: [{ type: 'input_text', text: m.text }] },
  );
  return {
    path: '/v1/responses',
    headers: { authorization: `Bearer ${BENCH_PASS}`, ...(ids === 'as-sent' ? { 'session-id': c.id } : {}) },
    body: {
      model: MODEL,
      instructions: c.system,
      input,
      store: false,
      stream: false,
      ...(ids === 'none' ? {} : { prompt_cache_key: c.id }),
    },
  };
}

function native(c: Conversation, turn: number, ids: IdPlacement): Sent {
  const messages = history(c, turn);
  // hashed whole: the gateway's fingerprintOf reads only an id's first 256 characters, all shared here
  const fingerprint =
    ids === 'shared-prefix' || ids === 'first-prompt'
      ? createHash('sha256')
          .update(prefixKey(ids, c.system, messages))
          .digest('hex')
          .slice(0, 16)
      : undefined;
  return {
    path: `/v1beta/models/${MODEL}:generateContent`,
    headers: {
      'x-goog-api-key': BENCH_PASS,
      ...(fingerprint !== undefined ? { 'x-claude-code-session-id': fingerprint } : {}),
    },
    body: {
      systemInstruction: { parts: [{ text: c.system }] },
      contents: messages.map((m) => ({ role: m.role, parts: [{ text: m.text }] })),
    },
  };
}

const REQUEST: Readonly<Record<Client, (c: Conversation, turn: number, ids: IdPlacement) => Sent>> = {
  'claude-code': claudeCode,
  codex,
  native,
};

const asNumber = (value: unknown): number => (typeof value === 'number' && Number.isFinite(value) ? value : 0);

/** The prompt and cached tokens an answer reports, in each surface's words. */
function usageOf(client: Client, json: Record<string, unknown>): { prompt: number; cached: number } {
  const usage = (json.usage ?? json.usageMetadata ?? {}) as Record<string, unknown>;
  switch (client) {
    case 'claude-code':
      return {
        prompt: asNumber(usage.input_tokens) + asNumber(usage.cache_read_input_tokens),
        cached: asNumber(usage.cache_read_input_tokens),
      };
    case 'codex':
      return {
        prompt: asNumber(usage.input_tokens),
        cached: asNumber((usage.input_tokens_details as Record<string, unknown> | undefined)?.cached_tokens),
      };
    case 'native':
      return { prompt: asNumber(usage.promptTokenCount), cached: asNumber(usage.cachedContentTokenCount) };
  }
}

/** One run of traffic: its clients (one per conversation, in order) and where the conversation goes. */
interface Run {
  readonly label: string;
  readonly clients: readonly Client[];
  readonly conversations: readonly Conversation[];
  readonly ids: IdPlacement;
}

interface RunResult {
  readonly usages: TurnUsage[];
  /** answers whose prompt size differs from the words the benchmark sent: the ideal would then be off */
  readonly sizeMismatches: number;
  /** calls per key as the fake counted them, aligned with the pool's keys */
  readonly callsPerKey: number[];
  /** the distinct projects each conversation's turns reached, averaged */
  readonly projectsPerConversation: number;
  readonly failures: number;
}

/** Every conversation's turn 1, then every turn 2, and so on, as agents working side by side send them. */
function sendOrder(all: readonly Conversation[]): [number, number][] {
  const turns = Math.max(...all.map((c) => c.turns.length));
  return Array.from({ length: turns }, (_, turn) =>
    all.flatMap((c, i): [number, number][] => (turn < c.turns.length ? [[i, turn]] : [])),
  ).flat();
}

/** Sends the run's turns in {@link sendOrder} through a fresh gateway, against the fake with a cleared cache. */
async function runTraffic(fake: FakeGemini, prod: SynthesizedProd, labels: readonly string[], run: Run) {
  fake.reset();
  fake.configure({ projects: fakeProjects(prod.apiKeys, labels) });
  const mf = new Miniflare({ ...QUIET, host: '127.0.0.1', port: 0, workers: variantWorkers(prod.topology, {}) });
  const url = await mf.ready;
  const order = sendOrder(run.conversations);
  const prompts = order.map(([i, turn]) => promptWords(run.conversations[i] as Conversation, turn));
  const ideal = idealCachedTokens(
    prompts,
    order.map(([i]) => i),
    implicitCacheMinTokens(MODEL),
  );
  const usages: TurnUsage[] = [];
  const reached = run.conversations.map(() => new Set<string>());
  let failures = 0;
  let sizeMismatches = 0;
  try {
    for (const [n, [i, turn]] of order.entries()) {
      const client = run.clients[i] as Client;
      const sent = REQUEST[client](run.conversations[i] as Conversation, turn, run.ids);
      const before = fake.calls.length;
      const response = await fetch(new URL(sent.path, url), {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...sent.headers },
        body: JSON.stringify(sent.body),
      });
      const json = (await response.json()) as Record<string, unknown>;
      if (response.status !== 200) failures++;
      const { prompt, cached } = usageOf(client, json);
      if (prompt !== prompts[n]?.length) sizeMismatches++;
      usages.push({ promptTokens: prompt, cachedTokens: cached, idealTokens: ideal[n] ?? 0 });
      for (const call of fake.calls.slice(before)) reached[i]?.add(fake.projectOf(call.apiKey ?? ''));
    }
  } finally {
    await mf.dispose();
  }
  const position = new Map(prod.apiKeys.map((k, i) => [k, i]));
  const callsPerKey = prod.apiKeys.map(() => 0);
  for (const call of fake.calls) {
    const at = position.get(call.apiKey ?? '');
    if (at !== undefined) callsPerKey[at] = (callsPerKey[at] ?? 0) + 1;
  }
  const projectsPerConversation = reached.reduce((sum, s) => sum + s.size, 0) / reached.length;
  return { usages, sizeMismatches, callsPerKey, projectsPerConversation, failures } satisfies RunResult;
}

const percent = (x: number): string => `${fmt(x * 100, 1)}%`;

function printRuns(title: string, labels: readonly string[], results: readonly (readonly [Run, RunResult])[]): void {
  process.stdout.write(`### ${title}\n\n`);
  printTable(
    [
      'traffic',
      'turns',
      'turns that hit',
      'ideal',
      'hit / ideal',
      'prompt tokens from cache',
      'ideal',
      'tokens / ideal',
      'projects per conversation',
      'per-project load max / mean',
      'failures',
      'prompt size mismatches',
    ],
    results.map(([run, r]) => {
      const f = cacheFigures(r.usages);
      return [
        run.label,
        f.turns,
        percent(f.hitShare),
        percent(f.idealHitShare),
        fmt(f.hitShare / f.idealHitShare, 2),
        percent(f.tokenShare),
        percent(f.idealTokenShare),
        fmt(f.tokenShare / f.idealTokenShare, 2),
        fmt(r.projectsPerConversation, 2),
        fmt(loadSpread(callsPerProject(labels, r.callsPerKey)).maxOverMean, 2),
        r.failures,
        r.sizeMismatches,
      ];
    }),
  );
}

/** The runs of one group: the same conversations as each of `placements` sends them. */
function runsOf(
  conversationsOfRun: readonly Conversation[],
  clients: readonly Client[],
  placements: readonly (readonly [IdPlacement, string])[],
): Run[] {
  return placements.map(([ids, label]) => ({ label, clients, conversations: conversationsOfRun, ids }));
}

/** The three kinds of traffic and how each is sent, with the titles of their tables. */
function groupsOf(options: CacheOptions, pool: string): [string, Run[]][] {
  const agents = conversations({ ...AGENT_TRAFFIC, turns: options.turns });
  const cli = conversations({ ...GEMINI_CLI_TRAFFIC, turns: options.turns });
  const app = conversations({ ...NATIVE_APP_TRAFFIC, turns: options.turns });
  const fingerprints = [
    ['none', 'no id (today): random routing'],
    ['shared-prefix', 'fingerprint of the shared prefix (system prompt and first content)'],
    ['first-prompt', 'fingerprint through the first prompt'],
  ] as const;
  const of = (shape: TrafficShape) => `${shape.conversations} conversations of ${options.turns} turns`;
  return [
    [
      `Agents with a session id: ${of(AGENT_TRAFFIC)}, ${pool}`,
      runsOf(
        agents,
        agents.map((_, i): Client => (i % 2 === 0 ? 'claude-code' : 'codex')),
        [
          ['as-sent', 'ids as the clients send them (header and body)'],
          ['body-only', 'id in the body only (prompt_cache_key, metadata.user_id)'],
          ['none', 'no ids: random routing'],
        ],
      ),
    ],
    [
      `Gemini CLI-like traffic, no id: ${of(GEMINI_CLI_TRAFFIC)} sharing a ${GEMINI_CLI_TRAFFIC.sharedSystemWords}-word system prompt and a ${GEMINI_CLI_TRAFFIC.sharedPreambleWords}-word environment context, ${pool}`,
      runsOf(
        cli,
        cli.map((): Client => 'native'),
        fingerprints,
      ),
    ],
    [
      `A native API program, no id: ${of(NATIVE_APP_TRAFFIC)} sharing a ${NATIVE_APP_TRAFFIC.sharedSystemWords}-word system prompt, no preamble, ${pool}`,
      runsOf(
        app,
        app.map((): Client => 'native'),
        fingerprints,
      ),
    ],
  ];
}

async function main(): Promise<void> {
  const options = parseCacheOptions(process.argv.slice(2), process.env);
  const labels = projectLayoutLabels(options.projects) ?? [];
  const pool = `${labels.length} keys in ${new Set(labels).size} projects (${options.projects})`;
  const fake = await startFakeGemini({ port: 0 });
  const prod = await synthesizeProd(labels.length, 8, fake.url, BENCH_PASS, labels);
  try {
    for (const [title, runs] of groupsOf(options, pool)) {
      const results: [Run, RunResult][] = [];
      for (const run of runs) {
        process.stderr.write(`implicit-cache: ${run.label}\n`);
        results.push([run, await runTraffic(fake, prod, labels, run)]);
      }
      printRuns(title, labels, results);
    }
  } finally {
    prod.dispose();
    await fake.close();
  }
}

runBenchmark(main);
