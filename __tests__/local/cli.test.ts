import {
  DEFAULT_PORT,
  banner,
  formatRequest,
  parseApiKeys,
  parseArgs,
  resolveSecrets,
  synthEnv,
} from '../../scripts/local/cli';

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
    expect(() => parseApiKeys('["canary-secret", ""]')).toThrow('TF_VAR_api_keys must be a JSON array of non-empty strings');
    for (const raw of ['canary-secret-1,x', '["canary-secret", ""]', '{"k":"canary-secret"}']) {
      expect(() => parseApiKeys(raw)).toThrow(expect.objectContaining({ message: expect.not.stringContaining('canary-secret') }));
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
    expect(secrets).toEqual({ apiKeys: ['demo-key-01', 'demo-key-02', 'demo-key-03'], pass: 'demo-token', demo: true });
  });

  it('uses TF_VAR_api_keys and TF_VAR_pass when keys are given', () => {
    expect(resolveSecrets({ TF_VAR_api_keys: '["k1","k2"]', TF_VAR_pass: 'p' }, 2, () => 'x')).toEqual({
      apiKeys: ['k1', 'k2'],
      pass: 'p',
      demo: false,
    });
  });

  it('requires a password with real keys', () => {
    expect(() => resolveSecrets({ TF_VAR_api_keys: '["k1"]' }, 1, () => 'x')).toThrow(/^TF_VAR_pass is not set/);
  });
});

describe('banner', () => {
  const base = { stack: 'prod', url: 'http://127.0.0.1:8787', upstream: 'http://127.0.0.1:5555', workers: ['orch', 'w0'] };

  it('prints the URL, the demo password and ready-to-paste examples', () => {
    const text = banner({ ...base, secrets: { apiKeys: ['d1'], pass: 'demo-abc', demo: true } });
    expect(text).toContain('URL       http://127.0.0.1:8787/v1');
    expect(text).toContain('curl http://127.0.0.1:8787/v1/chat/completions -H "Authorization: Bearer demo-abc"');
    expect(text).toContain("new OpenAI({ baseURL: 'http://127.0.0.1:8787/v1', apiKey: 'demo-abc' })");
  });

  it('never prints a real password or key', () => {
    const text = banner({ ...base, secrets: { apiKeys: ['canary-key'], pass: 'canary-pass', demo: false } });
    expect(text).not.toContain('canary');
    expect(text).toContain('-H "Authorization: Bearer $TF_VAR_pass"');
  });
});

describe('formatRequest', () => {
  it('names the shard, key, status and time', () => {
    const line = formatRequest(
      { requestId: 'r1', status: 200, ms: 38, shard: 1, keyIndex: 4, route: 'chat.completions', model: 'gemini-2.5-flash' },
      new Map([[1, 'zen-ai-router-worker-1']]),
    );
    expect(line).toBe('200     38 ms  shard 1 (zen-ai-router-worker-1)  key 4  chat.completions  gemini-2.5-flash  [r1]');
    expect(formatRequest({ requestId: 'r2', status: 502, ms: 3, shard: 0, error: 'shard_error' }, new Map())).toBe(
      '502      3 ms  shard 0  no key  error=shard_error  [r2]',
    );
  });
});
