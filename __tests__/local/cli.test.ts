import {
  DEFAULT_PORT,
  banner,
  formatOther,
  formatRequest,
  parseApiKeys,
  parseArgs,
  parseClientTokens,
  printable,
  requestLineContext,
  resolveSecrets,
  synthEnv,
  type RequestLineContext,
} from '../../scripts/local/cli';
import { RequestLog, type RequestSummary } from '../../scripts/local/request-log';
import { buildTopology } from '../../scripts/local/emulated-topology';

describe('parseArgs', () => {
  it('defaults to the prod stack on port 8787 with a fresh synth', () => {
    expect(parseArgs([], {})).toEqual({ stack: 'prod', port: DEFAULT_PORT, skipSynth: false });
    expect(DEFAULT_PORT).toBe(8787);
  });

  it('reads --stack, --port (or PORT) and --skip-synth', () => {
    expect(parseArgs(['--stack', 'preview-12', '--port=9000', '--skip-synth'], {})).toEqual({
      stack: 'preview-12',
      port: 9000,
      skipSynth: true,
    });
    expect(parseArgs([], { PORT: '8080' }).port).toBe(8080);
    expect(parseArgs(['--port', '0'], { PORT: '8080' }).port).toBe(0);
  });

  it('throws on a bad stack, port or argument', () => {
    expect(() => parseArgs(['--stack', 'staging'], {})).toThrow('--stack must be prod or preview-<n>, got "staging"');
    expect(() => parseArgs([], { PORT: 'http' })).toThrow('PORT must be a port number 0..65535, got "http"');
    expect(() => parseArgs(['--port', '70000'], {})).toThrow('--port must be a port number 0..65535, got "70000"');
    expect(() => parseArgs(['--verbose'], {})).toThrow('unknown argument "--verbose"');
    expect(() => parseArgs(['--stack'], {})).toThrow('--stack needs a value');
  });
});

describe('parseApiKeys', () => {
  it('reads a JSON array of non-empty strings', () => {
    expect(parseApiKeys('["a","b"]')).toEqual(['a', 'b']);
  });

  it('throws without echoing the value, which holds secrets', () => {
    expect(() => parseApiKeys('canary-secret-1,canary-secret-2')).toThrow(/not valid JSON$/);
    expect(() => parseApiKeys('["canary-secret", ""]')).toThrow(
      'TF_VAR_api_keys must be a JSON array of non-empty strings',
    );
    for (const raw of ['canary-secret-1,x', '["canary-secret", ""]', '{"k":"canary-secret"}']) {
      expect(() => parseApiKeys(raw)).toThrow(
        expect.objectContaining({ message: expect.not.stringContaining('canary-secret') }),
      );
    }
  });
});

describe('synthEnv', () => {
  const env = {
    PATH: '/bin',
    TF_VAR_api_keys: '["canary"]',
    TF_VAR_pass: 'canary-pass',
    KEY_COUNT: '1',
    GEMINI_BASE_URL: 'http://127.0.0.1:8788',
  };

  it('drops every TF_VAR_* and GEMINI_BASE_URL, and sets PR_NUMBER so a preview stack exists', () => {
    const out = synthEnv(env, 'prod', undefined);
    expect(Object.keys(out).filter((k) => k.startsWith('TF_VAR_'))).toEqual([]);
    expect(JSON.stringify(out)).not.toContain('canary');
    expect(out).not.toHaveProperty('GEMINI_BASE_URL');
    expect(out).toEqual({ PATH: '/bin', PR_NUMBER: '1', KEY_COUNT: '1' });
    expect(synthEnv({ PR_NUMBER: '42' }, 'prod', undefined).PR_NUMBER).toBe('42');
    expect(synthEnv({ PR_NUMBER: '42' }, 'preview-7', undefined).PR_NUMBER).toBe('7');
  });

  it('sizes KEY_COUNT from the real key list and refuses a mismatch', () => {
    expect(synthEnv({}, 'prod', 13).KEY_COUNT).toBe('13');
    expect(() => synthEnv({ KEY_COUNT: '12' }, 'prod', 13)).toThrow(
      'KEY_COUNT is 12 but TF_VAR_api_keys holds 13 keys; Terraform would reject this, so fix one of them',
    );
  });
});

describe('resolveSecrets', () => {
  it('makes demo keys for every index the stack reads, and a generated password', () => {
    const secrets = resolveSecrets({}, 3, () => 'token');
    expect(secrets).toEqual({
      apiKeys: ['demo-key-01', 'demo-key-02', 'demo-key-03'],
      pass: 'demo-token',
      clientTokens: {},
      demo: true,
    });
  });

  it('takes TF_VAR_client_tokens with demo keys as with real ones, checked against the password', () => {
    const tokens = JSON.stringify({ alice: ALICE });
    expect(resolveSecrets({ TF_VAR_client_tokens: tokens }, 1, () => 'token').clientTokens).toEqual({ alice: ALICE });
    expect(
      resolveSecrets({ TF_VAR_api_keys: '["k1"]', TF_VAR_pass: PASS16, TF_VAR_client_tokens: tokens }, 1, () => 'x')
        .clientTokens,
    ).toEqual({ alice: ALICE });
    expect(() =>
      resolveSecrets({ TF_VAR_api_keys: '["k1"]', TF_VAR_pass: ALICE, TF_VAR_client_tokens: tokens }, 1, () => 'x'),
    ).toThrow(/^TF_VAR_client_tokens: client_tokens must not contain the value of pass/);
  });

  it('uses TF_VAR_api_keys and TF_VAR_pass when keys are given', () => {
    expect(resolveSecrets({ TF_VAR_api_keys: '["k1","k2"]', TF_VAR_pass: PASS16 }, 2, () => 'x')).toEqual({
      apiKeys: ['k1', 'k2'],
      pass: PASS16,
      clientTokens: {},
      demo: false,
    });
  });

  it('requires a password with real keys', () => {
    expect(() => resolveSecrets({ TF_VAR_api_keys: '["k1"]' }, 1, () => 'x')).toThrow(/^TF_VAR_pass is not set/);
  });

  it('refuses a password shorter than a deploy accepts, saying why', () => {
    expect(() => resolveSecrets({ TF_VAR_api_keys: '["k1"]', TF_VAR_pass: 'p' }, 1, () => 'x')).toThrow(
      /^TF_VAR_pass must be at least 16 characters, as a deploy requires: the gateway blanks the password out of every answer/,
    );
    expect(resolveSecrets({ TF_VAR_api_keys: '["k1"]', TF_VAR_pass: 'x'.repeat(16) }, 1, () => 'x').pass).toBe(
      'x'.repeat(16),
    );
  });
});

const ALICE = 'canary-token-alice-0123456789';
const PASS16 = 'a-password-of-16';

describe('parseClientTokens (TF_VAR_client_tokens)', () => {
  it('reads a JSON object of name to token; unset or empty means none', () => {
    expect(parseClientTokens(JSON.stringify({ alice: ALICE, bob: `${ALICE}b` }), 'p')).toEqual({
      alice: ALICE,
      bob: `${ALICE}b`,
    });
    expect(parseClientTokens(undefined, 'p')).toEqual({});
    expect(parseClientTokens(' ', 'p')).toEqual({});
  });

  it.each([
    [
      'not JSON',
      `{alice:${ALICE}`,
      /^TF_VAR_client_tokens must be a JSON object of client name to token.*not valid JSON$/,
    ],
    ['an array', JSON.stringify([ALICE]), /^TF_VAR_client_tokens must be a JSON object/],
    ['null', 'null', /^TF_VAR_client_tokens must be a JSON object/],
    ['a bad name', JSON.stringify({ 'Alice Smith': ALICE }), /^TF_VAR_client_tokens: client_tokens names must/],
    [
      'a short token',
      JSON.stringify({ alice: 'short' }),
      /^TF_VAR_client_tokens: client_tokens tokens must be at least 24/,
    ],
    ['a shared token', JSON.stringify({ alice: ALICE, bob: ALICE }), /same token/],
  ])('refuses %s as Terraform would, without echoing a token', (_label, raw, message) => {
    let error: unknown;
    try {
      parseClientTokens(raw, 'p');
    } catch (e) {
      error = e;
    }
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toContain(ALICE);
  });
});

describe('banner', () => {
  const base = {
    stack: 'prod',
    url: 'http://127.0.0.1:8787',
    upstream: 'http://127.0.0.1:5555',
    workers: ['orch', 'w0'],
  };

  it('prints the URL, the demo password and ready-to-paste examples', () => {
    const text = banner({ ...base, secrets: { apiKeys: ['d1'], pass: 'demo-abc', clientTokens: {}, demo: true } });
    expect(text).toContain('URL       http://127.0.0.1:8787/v1');
    expect(text).toContain('s + Enter prints it');
    expect(text).toContain('curl http://127.0.0.1:8787/zen/status -H "Authorization: Bearer demo-abc"');
    expect(text).toContain('Status page: http://127.0.0.1:8787/zen in a browser (sign in with the password)');
    expect(text).not.toContain('tokens ');
    expect(text).toContain('curl http://127.0.0.1:8787/v1/chat/completions -H "Authorization: Bearer demo-abc"');
    expect(text).toContain("new OpenAI({ baseURL: 'http://127.0.0.1:8787/v1', apiKey: 'demo-abc' })");
  });

  it('never prints a real password or key', () => {
    const text = banner({
      ...base,
      secrets: {
        apiKeys: ['canary-key'],
        pass: 'canary-pass',
        clientTokens: { bob: ALICE, alice: ALICE },
        demo: false,
      },
    });
    expect(text).not.toContain('canary');
    expect(text).toContain('-H "Authorization: Bearer $TF_VAR_pass"');
    expect(text).toContain('  tokens    alice, bob   (from TF_VAR_client_tokens, also accepted)');
  });
});

/** Prod with 16 keys in two shards of 8, as synthesized: shard i binds KEY1..KEY8 to var.api_keys[8i..8i+7]. */
function prodStack(): Record<string, unknown> {
  const script = (name: string, bindings: unknown[]) => ({
    script_name: name,
    content: 'export default { fetch() { return new Response(""); } };',
    main_module: 'worker.js',
    compatibility_date: '2026-04-20',
    bindings,
  });
  const shard = (i: number) =>
    script(
      `zen-ai-router-worker-${i}`,
      Array.from({ length: 8 }, (_, j) => ({
        name: `KEY${j + 1}`,
        type: 'secret_text',
        text: `\${var.api_keys[${8 * i + j}]}`,
      })),
    );
  return {
    resource: {
      cloudflare_workers_script: {
        Shards_0: shard(0),
        Shards_1: shard(1),
        Orchestrator: script(
          'zen-ai-router-orchestrator',
          [0, 1].map((i) => ({
            name: `BACKEND_SERVICE_${i}`,
            type: 'service',
            service: `\${cloudflare_workers_script.Shards_${i}.script_name}`,
          })),
        ),
      },
      cloudflare_workers_script_subdomain: {
        Orchestrator_Subdomain: { enabled: true, script_name: '${cloudflare_workers_script.Orchestrator.script_name}' },
      },
    },
  };
}

const prod = requestLineContext(
  buildTopology(prodStack(), {
    stackDir: '/fixture',
    secrets: { apiKeys: Array.from({ length: 16 }, (_, i) => `k${i}`), pass: 'p' },
  }),
);

describe('formatRequest', () => {
  it('names the shard, the key by its number in TF_VAR_api_keys, the status and the time', () => {
    // shard 1's KEY5 is the 13th key of the list
    const line = formatRequest(
      {
        requestId: 'r1',
        status: 200,
        ms: 38,
        shard: 1,
        keyIndex: 5,
        route: 'chat.completions',
        model: 'gemini-3.8-flash',
      },
      prod,
    );
    expect(line).toBe(
      '200     38 ms  shard 1 (zen-ai-router-worker-1)  KEY13  chat.completions  gemini-3.8-flash  [r1]',
    );
    expect(formatRequest({ requestId: 'r2', status: 200, ms: 3, shard: 0, keyIndex: 5 }, prod)).toContain('  KEY5  ');
    expect(formatRequest({ requestId: 'r3', status: 502, ms: 3, shard: 0, error: 'shard_error' }, prod)).toBe(
      '502      3 ms  shard 0 (zen-ai-router-worker-0)  no key  error=shard_error  [r3]',
    );
  });

  it('names a client token, never PASS, and sums up a status view by the shards that answered', () => {
    const summary = { requestId: 'r4', status: 200, ms: 5, shard: 1, keyIndex: 1, route: 'models.list' };
    expect(formatRequest({ ...summary, client: 'alice' }, prod)).toBe(
      '200      5 ms  shard 1 (zen-ai-router-worker-1)  KEY9  models.list  client=alice  [r4]',
    );
    expect(formatRequest({ ...summary, client: 'pass' }, prod)).not.toContain('client=');
    expect(
      formatRequest({ requestId: 's1', status: 200, ms: 7, route: 'zen.status', queried: 2, answered: 1 }, prod),
    ).toBe('200      7 ms  2 shards asked, 1 answered  zen.status  [s1]');
  });

  it('names the path of a request no route took', () => {
    const summary = { requestId: 'u1', status: 404, ms: 2, shard: 0, route: 'unmatched', error: 'unknown_url' };
    expect(formatRequest({ ...summary, path: '/v1/v1/messages' }, prod)).toBe(
      '404      2 ms  shard 0 (zen-ai-router-worker-0)  no key  unmatched  /v1/v1/messages  error=unknown_url  [u1]',
    );
  });

  it("reads a directly served request's key from the public worker, and says when the shard is unknown", () => {
    const preview: RequestLineContext = {
      shards: new Map(),
      publicWorker: { scriptName: 'zen-ai-router-worker-preview-1', apiKeyIndexes: { KEY1: 0, KEY2: 1 } },
    };
    expect(formatRequest({ requestId: 'p', status: 200, ms: 9, keyIndex: 2 }, preview)).toBe(
      '200      9 ms  KEY2  [p]',
    );
    // a shard's line whose orchestrator line never came: the orchestrator holds no keys, so the shard stays unnamed
    expect(formatRequest({ requestId: 'q', status: 200, ms: 9, keyIndex: 3 }, prod)).toBe(
      '200      9 ms  shard key 3  [q]',
    );
  });
});

describe('printable and formatOther', () => {
  it('escapes every control character a terminal would act on', () => {
    expect(printable('a\x1b[2Jb\x07c\x00d\x7fe\x9bf\ng\rh\ti')).toBe('a\\x1b[2Jb\\x07c\\x00d\\x7fe\\x9bf\\ng\\rh\\ti');
    expect(printable('evil\u202Etxt.exe \u2066x\u2069 \u2028')).toBe('evil\\u202etxt.exe \\u2066x\\u2069 \\u2028');
    expect(printable('gemini-3.8-flash ünïcödé 模型 \\x1b')).toBe('gemini-3.8-flash ünïcödé 模型 \\x1b');
  });

  it('keeps a multi-line message readable but indents every line after the first', () => {
    const forged = 'Uncaught Error: bad model "x\n200     12 ms  shard 0  KEY1  fake\x1b[1A"';
    expect(formatOther(forged)).toBe('Uncaught Error: bad model "x\n    200     12 ms  shard 0  KEY1  fake\\x1b[1A"');
  });

  it("leaves no raw control character in a request line built from a worker's JSON log line", () => {
    const printed: string[] = [];
    const log = new RequestLog({
      orchestrated: false,
      graceMs: 0,
      onRequest: (summary: RequestSummary) => printed.push(formatRequest(summary, prod)),
      onOther: ({ text }) => printed.push(formatOther(text)),
    });
    const hostile = '\x1b]0;pwned\x07\x1b[2J\r\n200 fake\u202e';
    log.accept(
      JSON.stringify({
        event: 'request',
        requestId: `id${hostile}`,
        status: 400,
        ms: 1,
        model: hostile,
        error: hostile,
      }),
      0,
    );
    log.accept(JSON.stringify({ event: 'key_cooldown', note: hostile }), 0);
    expect(printed).toHaveLength(2);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the assertion looks for the control characters that must not be printed
    for (const line of printed) expect(line).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/);
    expect(printed[0]).not.toContain('\n');
    expect(printed[0]).toContain('\\x1b]0;pwned\\x07\\x1b[2J\\r\\n200 fake\\u202e');
  });
});

describe('resolveSecrets with CLIENT_LIMITS', () => {
  const ALICE_TOKEN = 'a'.repeat(24);
  const tokens = JSON.stringify({ alice: ALICE_TOKEN });

  it('accepts tokens for every client with a limit, as Terraform would', () => {
    const env = { TF_VAR_client_tokens: tokens, CLIENT_LIMITS: '{"alice":{"rpm":60}}' };
    expect(resolveSecrets(env, 1, () => 'x').clientTokens).toEqual({ alice: ALICE_TOKEN });
  });

  it('refuses a limit for a client without a token, naming the clients, never a token', () => {
    const env = { TF_VAR_client_tokens: tokens, CLIENT_LIMITS: '{"alice":{"rpm":60},"alcie":{"rpm":5}}' };
    expect(() => resolveSecrets(env, 1, () => 'x')).toThrow(
      /^TF_VAR_client_tokens: client_tokens must hold a token for every client CLIENT_LIMITS limits \(alcie, alice, set at synth\)/,
    );
    expect(() => resolveSecrets(env, 1, () => 'x')).not.toThrow(ALICE_TOKEN);
  });

  it('leaves a malformed CLIENT_LIMITS to synth, which runs first and says why', () => {
    expect(resolveSecrets({ CLIENT_LIMITS: '{' }, 1, () => 'x').clientTokens).toEqual({});
  });
});
