/**
 * The contract between the constructs and the workers (workers/shared/contract.ts), checked from both ends: the
 * synthesized stacks bind exactly the names the contract lists, in its order, and the workers' own readers, given
 * those bindings with the values Terraform fills in, read every one of them and no other name.
 */
import {
  discoverBackends,
  parseShardAttempts,
  parseShardTimeoutMs,
  shardWeights,
  type Backend,
} from '../../../workers/orchestrator/backends';
import {
  BACKEND_BINDING_PATTERN,
  KEY_BINDING_PATTERN,
  ORCHESTRATOR_FIXED_BINDINGS,
  SHARD_ATTEMPTS_BINDING,
  SHARD_KEY_COUNTS_BINDING,
  SHARD_TIMEOUT_MS_BINDING,
  SRC_WORKER_FIXED_BINDINGS,
  SHARD_INDEX_BINDING,
  SRC_WORKER_OPTIONAL_BINDINGS,
  SRC_WORKER_SHARD_BINDINGS,
  SRC_WORKER_SURFACE_BINDINGS,
  backendBindingName,
  keyBindingName,
  parseAnthropicModelMap,
} from '../../../workers/shared/contract';
import { SRC_WORKER_DATASET_BINDINGS } from '../../../workers/shared/usage-schema';
import { readConfig } from '../../../workers/shard/edge/bindings';
import {
  previewStack,
  prodStack,
  resolveScriptRef,
  scriptsByName,
  synthJson,
  type Binding,
  type ScriptJson,
} from '../../fixtures/synth';
import { defined } from '../../helpers/guards';

const PASS = 'contract-pass-canary';
const TOKENS = { alice: 'contract-token-canary-alice-0123' };

/** Non-default settings, so a value read from anywhere but its binding shows. */
const SETTINGS = {
  geminiBaseUrl: 'https://gateway.example/v1/acct/gw/google-ai-studio',
  upstreamTimeoutMs: 45_000,
  maxWaitMs: 2_500,
  shardAttempts: 5,
  shardTimeoutMs: 50_000,
};

function prodScripts(): Record<string, ScriptJson> {
  return scriptsByName(synthJson(prodStack({ keysPerShard: 8, ...SETTINGS })));
}

function previewScripts(): Record<string, ScriptJson> {
  return scriptsByName(synthJson(previewStack(SETTINGS)));
}

/** What Terraform puts into a secret binding at apply time; a secret this test does not know fails it. */
function secretValue(binding: Binding): string {
  const key = /^\$\{var\.api_keys\[([0-9]+)\]\}$/.exec(binding.text ?? '');
  if (key) return `contract-key-canary-${key[1]}`;
  if (binding.text === '${var.pass}') return PASS;
  if (binding.text === '${jsonencode(var.client_tokens)}') return JSON.stringify(TOKENS);
  throw new Error(`binding ${binding.name} holds ${binding.text}, which this test cannot fill in`);
}

/** The env workerd hands a shard worker deployed with these bindings: its text bindings (the dataset is metering's). */
function textEnv(script: ScriptJson): Record<string, string> {
  return Object.fromEntries(
    script.bindings
      .filter((b) => b.type !== 'analytics_engine')
      .map((b) => [b.name, b.type === 'secret_text' ? secretValue(b) : defined(b.text, `${b.name}'s text`)]),
  );
}

/** `env` behind a proxy that records every binding name the reader asks for, or lists. */
function recording<T extends object>(env: T): { env: T; read: Set<string>; listed: { value: boolean } } {
  const read = new Set<string>();
  const listed = { value: false };
  const proxy = new Proxy(env, {
    get(target, name, receiver) {
      if (typeof name === 'string') read.add(name);
      return Reflect.get(target, name, receiver);
    },
    ownKeys(target) {
      listed.value = true;
      return Reflect.ownKeys(target);
    },
  });
  return { env: proxy, read, listed };
}

describe('the shard worker contract', () => {
  const scripts = { ...prodScripts(), ...previewScripts() };

  test.each([
    ['zen-ai-router-worker-0', 8, SRC_WORKER_SHARD_BINDINGS],
    ['zen-ai-router-worker-1', 8, SRC_WORKER_SHARD_BINDINGS],
    ['zen-ai-router-worker-2', 4, SRC_WORKER_SHARD_BINDINGS],
    ['zen-ai-router-worker-preview-7', 20, []],
  ])('%s binds its %i keys as KEY1..KEYk, the fixed bindings, then %p, in the contract order', (name, keys, shard) => {
    const script = defined(scripts[name], name);
    expect(script.bindings.map((b) => b.name)).toEqual([
      ...Array.from({ length: keys }, (_unused, j) => keyBindingName(j + 1)),
      ...SRC_WORKER_FIXED_BINDINGS,
      ...shard,
      ...SRC_WORKER_DATASET_BINDINGS,
    ]);
    expect(script.bindings.filter((b) => b.name.startsWith('KEY')).every((b) => KEY_BINDING_PATTERN.test(b.name))).toBe(
      true,
    );
  });

  test('the worker reads every binding the construct writes, with the values written, and asks for no other name', () => {
    const script = defined(scripts['zen-ai-router-worker-1'], 'shard 1');
    const { env, read, listed } = recording(textEnv(script));
    const result = readConfig(env);
    if (!result.ok) throw new Error(`the shard worker refuses its synthesized bindings: ${result.problem}`);
    expect(result.config).toEqual({
      keys: Array.from({ length: 8 }, (_, j) => ({ index: j + 1, value: `contract-key-canary-${8 + j}` })),
      pass: PASS,
      clientTokens: [{ name: 'alice', value: TOKENS.alice }],
      baseUrl: SETTINGS.geminiBaseUrl,
      timeoutMs: SETTINGS.upstreamTimeoutMs,
      maxWaitMs: SETTINGS.maxWaitMs,
      // never bound, so the worker's default
      maxBodyBytes: 100_000_000,
      // BACKEND_SERVICE_1 reaches it, and its owner tags say so
      shardIndex: 1,
    });
    // the keys are found by listing the env; every name asked for by name is a fixed or optional binding or a key
    expect(listed.value).toBe(true);
    const named = [...read].filter((name) => !KEY_BINDING_PATTERN.test(name)).sort();
    expect(named).toEqual(
      [...SRC_WORKER_FIXED_BINDINGS, ...SRC_WORKER_OPTIONAL_BINDINGS, ...SRC_WORKER_SHARD_BINDINGS].sort(),
    );
  });
});

describe('the shard worker contract with its surface bindings set', () => {
  const MAP = { opus: 'gemini-3.5-pro', saga: 'gemini-3.5-flash' };
  const scripts = scriptsByName(synthJson(prodStack({ keyCount: 12, keysPerShard: 8, anthropicModelMap: MAP })));

  test.each([
    ['zen-ai-router-worker-0', 8],
    ['zen-ai-router-worker-1', 4],
  ])('%s binds its %i keys, the fixed, the shard, then the surface bindings in the contract order', (name, keys) => {
    const script = defined(scripts[name], name);
    expect(script.bindings.map((b) => b.name)).toEqual([
      ...Array.from({ length: keys }, (_unused, j) => keyBindingName(j + 1)),
      ...SRC_WORKER_FIXED_BINDINGS,
      ...SRC_WORKER_SHARD_BINDINGS,
      ...SRC_WORKER_SURFACE_BINDINGS,
      ...SRC_WORKER_DATASET_BINDINGS,
    ]);
  });

  test("the Anthropic routes' parser reads the bound map, with the lines it does not name left at their defaults", () => {
    const script = defined(scripts['zen-ai-router-worker-1'], 'shard 1');
    const binding = defined(
      script.bindings.find((b) => b.name === 'ANTHROPIC_MODEL_MAP'),
      'the ANTHROPIC_MODEL_MAP binding',
    );
    expect(binding.type).toBe('plain_text');
    const parsed = parseAnthropicModelMap(binding.text);
    if (!parsed.ok) throw new Error(`the shard worker refuses its synthesized map: ${parsed.problem}`);
    expect(parsed.map).toMatchObject({ ...MAP, sonnet: expect.any(String), haiku: expect.any(String) });
  });
});

describe('the orchestrator contract', () => {
  const orchestrator = defined(prodScripts()['zen-ai-router-orchestrator'], 'the orchestrator');

  test('binds BACKEND_SERVICE_0..N-1 and then exactly the fixed bindings, in the contract order', () => {
    expect(orchestrator.bindings.map((b) => b.name)).toEqual([
      ...[0, 1, 2].map(backendBindingName),
      ...ORCHESTRATOR_FIXED_BINDINGS,
    ]);
    const services = orchestrator.bindings.filter((b) => b.type === 'service');
    expect(services.map((b) => b.name).every((name) => BACKEND_BINDING_PATTERN.test(name))).toBe(true);
  });

  test('the worker finds every shard and reads every setting the construct writes, with the values written', () => {
    const stub: Backend = { fetch: async () => new Response(null) };
    const env: Record<string, unknown> = Object.fromEntries(
      orchestrator.bindings.map((b) => [b.name, b.type === 'service' ? stub : b.text]),
    );
    const backends = discoverBackends(env);
    expect(backends.map((b) => b.index)).toEqual([0, 1, 2]);
    // read by name, as the handler (workers/orchestrator/index.ts) reads them from its typed env
    expect(parseShardAttempts(env[SHARD_ATTEMPTS_BINDING])).toBe(SETTINGS.shardAttempts);
    expect(parseShardTimeoutMs(env[SHARD_TIMEOUT_MS_BINDING])).toBe(SETTINGS.shardTimeoutMs);
    expect(shardWeights(env[SHARD_KEY_COUNTS_BINDING], backends)).toEqual({ weights: [8, 8, 4] });
  });

  test('each BACKEND_SERVICE_<n> reaches the shard whose SHARD_INDEX is n, which its owner tags name', () => {
    const json = synthJson(prodStack({ keysPerShard: 8, ...SETTINGS }));
    const scripts = scriptsByName(json);
    const services = orchestrator.bindings.filter((b) => b.type === 'service');
    const pairs = services.map((b) => {
      const shard = defined(scripts[defined(resolveScriptRef(json, b.service ?? ''), b.name)], b.name);
      return [b.name, shard.bindings.find((s) => s.name === SHARD_INDEX_BINDING)?.text];
    });
    expect(pairs).toEqual([0, 1, 2].map((n) => [backendBindingName(n), String(n)]));
  });
});
