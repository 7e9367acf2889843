/**
 * Per-client limits in the synthesized stacks (constructs/client-limits.ts): without them nothing changes; with them
 * every shard binds `CLIENT_LIMITS` and the `CLIENT_LIMITER` namespace, shard 0 of prod (or the preview worker) hosts
 * the class and declares its migration only while the script lacks the tag, the others bind the host's namespace by
 * reference; the binding costs one key per worker; Terraform demands a token for every limited client; and a bad
 * limit fails synth naming the client and the field.
 */
import { PreviewStack, ValidationError, clientTokensProblem, maxKeysPerWorker } from '../../constructs';
import { CLIENT_LIMITER_MIGRATION_TAG, parseLimiterMigration } from '../../constructs/client-limits';
import { LOCAL_STATE, previewStack, prodStack, resolveScriptRef, scriptsByName, synthJson } from '../fixtures/synth';
import { fixtureBundles } from '../fixtures/bundles';
import { Testing } from 'cdktf';

const LIMITS = { alice: { rpm: 60 }, bob: { rpm: 600, burst: 20 } };
const TOKEN = 'a'.repeat(24);

type Json = Record<string, unknown>;

describe('without clientLimits', () => {
  it('binds no limits, no namespace, declares no migration and reads no scripts', () => {
    const json = synthJson(prodStack({ keyCount: 12 })) as unknown as Json & { data?: unknown };
    for (const script of Object.values(scriptsByName(json as never))) {
      expect(script.bindings.map((b) => b.name)).not.toEqual(expect.arrayContaining(['CLIENT_LIMITS']));
      expect(script.bindings.some((b) => b.type === 'durable_object_namespace')).toBe(false);
      expect(script.migrations).toBeUndefined();
    }
    expect(json.data).toBeUndefined();
  });

  it('treats {} as no limits', () => {
    const json = synthJson(prodStack({ keyCount: 12, clientLimits: {} }));
    expect(Object.values(scriptsByName(json)).flatMap((s) => s.bindings.map((b) => b.name))).not.toContain(
      'CLIENT_LIMITS',
    );
  });
});

describe('prod with clientLimits', () => {
  const json = synthJson(prodStack({ keyCount: 20, keysPerShard: 8, clientLimits: LIMITS }));
  const scripts = scriptsByName(json);
  const shard = (n: number) => scripts[`zen-ai-router-worker-${n}`];

  it('binds CLIENT_LIMITS and the CLIENT_LIMITER namespace last on every shard, and nothing on the orchestrator', () => {
    for (const n of [0, 1, 2]) {
      const bindings = shard(n)?.bindings ?? [];
      expect(bindings.slice(-2).map((b) => [b.name, b.type])).toEqual([
        ['CLIENT_LIMITS', 'plain_text'],
        ['CLIENT_LIMITER', 'durable_object_namespace'],
      ]);
      expect(JSON.parse(bindings.at(-2)?.text ?? '')).toEqual(LIMITS);
    }
    const orchestrator = scripts['zen-ai-router-orchestrator'];
    expect(orchestrator?.bindings.some((b) => b.name.startsWith('CLIENT_'))).toBe(false);
    expect(orchestrator?.migrations).toBeUndefined();
  });

  it('lets shard 0 host the class: its own namespace, and the migration while the script lacks the tag', () => {
    const host = shard(0);
    expect(host?.bindings.at(-1)).toEqual({
      name: 'CLIENT_LIMITER',
      type: 'durable_object_namespace',
      class_name: 'ClientRateLimiter',
    });
    const migrations = String(host?.migrations);
    expect(parseLimiterMigration(migrations)).toEqual({
      scriptName: 'zen-ai-router-worker-0',
      newTag: CLIENT_LIMITER_MIGRATION_TAG,
      newSqliteClasses: ['ClientRateLimiter'],
    });
    // the tag is looked up among the account's scripts at plan time
    const data = (json as unknown as { data: { cloudflare_workers_scripts: Json } }).data;
    const [dataId] = Object.keys(data.cloudflare_workers_scripts);
    expect(migrations).toContain(`data.cloudflare_workers_scripts.${dataId}.result`);
    expect(migrations.startsWith('${contains([for s in ')).toBe(true);
  });

  it("makes the other shards bind shard 0's namespace by reference, so Terraform deploys shard 0 first", () => {
    for (const n of [1, 2]) {
      const binding = shard(n)?.bindings.at(-1) as unknown as Json;
      expect(binding).toMatchObject({ name: 'CLIENT_LIMITER', class_name: 'ClientRateLimiter' });
      expect(resolveScriptRef(json, String(binding.script_name))).toBe('zen-ai-router-worker-0');
      expect(shard(n)?.migrations).toBeUndefined();
    }
  });

  it('demands a token for every limited client, in Terraform validation', () => {
    const validation = json.variable.client_tokens?.validation as Json[];
    expect(validation.at(-1)).toEqual({
      condition: '${alltrue([for name in ["alice", "bob"] : contains(keys(var.client_tokens), name)])}',
      error_message: expect.stringMatching(
        /^client_tokens must hold a token for every client CLIENT_LIMITS limits \(alice, bob,/,
      ),
    });
  });
});

describe('the preview with clientLimits', () => {
  it('hosts the class itself', () => {
    const json = synthJson(previewStack({ clientLimits: LIMITS }));
    const worker = scriptsByName(json)['zen-ai-router-worker-preview-7'];
    expect(worker?.bindings.at(-1)).toEqual({
      name: 'CLIENT_LIMITER',
      type: 'durable_object_namespace',
      class_name: 'ClientRateLimiter',
    });
    expect(parseLimiterMigration(String(worker?.migrations))?.scriptName).toBe('zen-ai-router-worker-preview-7');
  });

  it('holds one key fewer, for the CLIENT_LIMITS environment variable', () => {
    const preview = (clientLimits?: typeof LIMITS): PreviewStack =>
      new PreviewStack(Testing.app(), 'preview-7', {
        prNumber: 7,
        keyCount: 200,
        bundle: fixtureBundles.shard,
        state: LOCAL_STATE,
        ...(clientLimits === undefined ? {} : { clientLimits }),
      });
    expect(preview().boundKeyCount).toBe(maxKeysPerWorker('free'));
    expect(preview(LIMITS).boundKeyCount).toBe(maxKeysPerWorker('free') - 1);
  });
});

describe('a bad limit', () => {
  it.each([
    [{ alice: { rpm: 0 } }, 'clientLimits.alice.rpm must be an integer from 1 to 100000 (requests a minute), got 0'],
    [{ bob: { rpm: 5, burst: -1 } }, /^clientLimits\.bob\.burst must be an integer from 1 to 100000/],
    [{ bob: { rpm: 5, rate: 1 } }, 'clientLimits.bob.rate is not a limit; the fields are rpm and burst'],
    [{ pass: { rpm: 5 } }, /^clientLimits names the client "pass"/],
  ])('fails synth naming the client and the field: %p', (clientLimits, message) => {
    const synth = (): unknown => prodStack({ clientLimits: clientLimits as never });
    expect(synth).toThrow(ValidationError);
    expect(synth).toThrow(message);
  });

  it('leaves a shard one key fewer, and says CLIENT_LIMITS takes it', () => {
    const keysPerShard = maxKeysPerWorker('free', ['SHARD_INDEX']);
    expect(() => prodStack({ keyCount: 120, keysPerShard })).not.toThrow();
    expect(() => prodStack({ keyCount: 120, keysPerShard, clientLimits: LIMITS })).toThrow(
      `keysPerShard must be an integer from 1 to ${keysPerShard - 1} (the free Workers plan allows 64 environment variables per worker, 7 of them taken by PASS, GEMINI_BASE_URL, UPSTREAM_TIMEOUT_MS, MAX_WAIT_MS, CLIENT_TOKENS, SHARD_INDEX, CLIENT_LIMITS), got ${keysPerShard}`,
    );
  });
});

describe('clientTokensProblem with limited clients (for npm start)', () => {
  it('accepts tokens for every limited client, and refuses a limit without a token', () => {
    expect(clientTokensProblem({ alice: TOKEN, bob: `${TOKEN}b` }, 'pw', ['alice', 'bob'])).toBeUndefined();
    expect(clientTokensProblem({ alice: TOKEN }, 'pw', ['alice', 'bob'])).toMatch(
      /^client_tokens must hold a token for every client CLIENT_LIMITS limits \(alice, bob,/,
    );
  });
});
