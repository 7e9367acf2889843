import fc from 'fast-check';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { CLIENT_NAME_PATTERN, clientTokensProblem, terraformJsonEncode } from '../../constructs/client-tokens';
import {
  childEnv,
  clientNameOf,
  collectSecrets,
  CollectKeysError,
  escapeCommandData,
  maskCommands,
} from '../../scripts/ci/collect-keys';
import { defined } from '../helpers/guards';

const SCRIPT = resolve(__dirname, '../../scripts/ci/collect-keys.ts');
const TSX_CLI = require.resolve('tsx/cli');

// Canary values: if one of these shows up anywhere outside an ::add-mask:: line, a key leaked.
const canary = (n: number): string => `CANARY-key-${n}-AIzaSy${'x'.repeat(8)}${n}`;
const PASS = 'CANARY-pass-"quoted"-\\back';
// Client tokens: at least 24 printable ASCII characters; one with the characters JSON and Terraform escape.
const token = (name: string): string => `CANARY-token-${name}-${'y'.repeat(12)}`;
const ODD_TOKEN = 'CANARY-tok"en\\<b>&-zzzzzzzzzzzz';

/** The message of what `fn` throws; fails the test when it does not throw. */
function thrown(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
  throw new Error('expected a throw');
}

describe('collectSecrets', () => {
  it('orders KEY1..KEY12 numerically whatever order the JSON has them in', () => {
    const names = [12, 3, 10, 1, 7, 2, 11, 5, 9, 4, 8, 6];
    const json = JSON.stringify(Object.fromEntries([...names.map((n) => [`KEY${n}`, canary(n)]), ['PASS', PASS]]));
    const out = collectSecrets(json);
    expect(out.keyNames).toEqual(Array.from({ length: 12 }, (_, i) => `KEY${i + 1}`));
    expect(out.keys).toEqual(Array.from({ length: 12 }, (_, i) => canary(i + 1)));
    expect(out.pass).toBe(PASS);
  });

  it('keeps gaps out of the list but reports which names were used', () => {
    const out = collectSecrets(JSON.stringify({ KEY9: canary(9), KEY2: canary(2), KEY4: '', PASS }));
    expect(out.keys).toEqual([canary(2), canary(9)]);
    expect(out.keyNames).toEqual(['KEY2', 'KEY9']);
  });

  it('ignores github_token and every secret that is not exactly KEY<n> or PASS', () => {
    const out = collectSecrets(
      JSON.stringify({
        github_token: 'ghs_CANARY',
        CLOUDFLARE_API_TOKEN: 'cf-CANARY',
        KEYRING: 'nope',
        MY_KEY1: 'nope',
        KEY1_OLD: 'nope',
        AWS_SECRET_ACCESS_KEY: 'nope',
        KEY1: canary(1),
        PASS,
      }),
    );
    expect(out.keys).toEqual([canary(1)]);
    expect(out.keyNames).toEqual(['KEY1']);
  });

  it('accepts lower-case names, since secret names are case-insensitive', () => {
    expect(collectSecrets(JSON.stringify({ key2: canary(2), Key1: canary(1), pass: PASS })).keyNames).toEqual([
      'KEY1',
      'KEY2',
    ]);
  });

  it('keeps values with quotes, backslashes and newlines byte for byte', () => {
    const odd = 'a"b\'c\\d\ne\r\nf %0A `$(x)`';
    const out = collectSecrets(JSON.stringify({ KEY1: odd, PASS: 'multi\nline' }));
    expect(out.keys).toEqual([odd]);
    expect(out.pass).toBe('multi\nline');
    // and they survive the trip through TF_VAR_api_keys, which Terraform parses as JSON
    expect(JSON.parse(defined(childEnv({}, out).TF_VAR_api_keys, 'TF_VAR_api_keys'))).toEqual([odd]);
  });

  it('fails clearly when there are no keys at all', () => {
    expect(() => collectSecrets(JSON.stringify({ github_token: 'x', PASS }))).toThrow(
      /no Gemini keys found: create secrets named KEY1, KEY2/,
    );
    expect(() => collectSecrets(JSON.stringify({ KEY1: '', PASS }))).toThrow(CollectKeysError);
  });

  it('fails clearly when PASS is missing', () => {
    expect(() => collectSecrets(JSON.stringify({ KEY1: canary(1) }))).toThrow(/secret PASS is missing or empty/);
  });

  it('rejects KEY0 and zero-padded names instead of guessing their position', () => {
    expect(() => collectSecrets(JSON.stringify({ KEY01: canary(1), PASS }))).toThrow(
      /secret KEY01 is not a valid key name/,
    );
    expect(() => collectSecrets(JSON.stringify({ KEY0: canary(1), PASS }))).toThrow(/KEY0 is not a valid key name/);
  });

  it('fails on missing or malformed input without quoting the input', () => {
    expect(() => collectSecrets(undefined)).toThrow(/SECRETS_JSON is empty/);
    const broken = `{"KEY1": "${canary(1)}", oops}`;
    let message = '';
    try {
      collectSecrets(broken);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/not valid JSON/);
    expect(message).not.toContain('CANARY');
    expect(() => collectSecrets('["a"]')).toThrow(/got an array/);
  });
});

describe('collectSecrets: client tokens', () => {
  const base = { KEY1: canary(1), PASS };

  it('collects CLIENT_TOKEN_<NAME> as client <name> in lower case, in name order, and nothing else', () => {
    const out = collectSecrets(
      JSON.stringify({
        ...base,
        CLIENT_TOKEN_ZED: token('z'),
        CLIENT_TOKEN_CI_BOT: token('ci'),
        client_token_alice2: token('a'),
        MY_CLIENT_TOKEN_X: 'nope',
        CLIENT_TOKEN_UNSET: '',
      }),
    );
    expect(out.clientTokens).toEqual({ alice2: token('a'), ci_bot: token('ci'), zed: token('z') });
    expect(Object.keys(out.clientTokens)).toEqual(['alice2', 'ci_bot', 'zed']);
    expect(out.keys).toEqual([canary(1)]);
  });

  it('collects no tokens, as an empty object, when there are no CLIENT_TOKEN_ secrets', () => {
    expect(collectSecrets(JSON.stringify(base)).clientTokens).toEqual({});
  });

  it('gives every allowed client name without "-" exactly one secret name, and back', () => {
    const namePattern = new RegExp(CLIENT_NAME_PATTERN);
    const first = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789');
    const rest = fc.array(fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789_'), { maxLength: 31 });
    fc.assert(
      fc.property(first, rest, (head, tail) => {
        const client = `${head}${tail.join('')}`;
        fc.pre(client !== 'pass');
        expect(client).toMatch(namePattern);
        // GitHub shows and stores secret names in upper case
        const secret = `CLIENT_TOKEN_${client.toUpperCase()}`;
        expect(secret).toMatch(/^[A-Z0-9_]+$/);
        expect(clientNameOf(secret)).toBe(client);
        const out = collectSecrets(JSON.stringify({ ...base, [secret]: token('t') }));
        expect(out.clientTokens).toEqual({ [client]: token('t') });
        expect(clientTokensProblem(out.clientTokens, PASS)).toBeUndefined();
      }),
    );
  });

  it.each([
    ['CLIENT_TOKEN_', 'nothing after the prefix'],
    ['CLIENT_TOKEN__BOT', 'a leading "_"'],
    ['CLIENT_TOKEN_PASS', 'the name PASS is logged under'],
    [`CLIENT_TOKEN_${'A'.repeat(33)}`, 'over 32 characters'],
  ])('rejects %s (%s), naming the secret and the rule', (secret) => {
    const message = thrown(() => collectSecrets(JSON.stringify({ ...base, [secret]: token('x') })));
    expect(message).toBe(
      `secret ${secret} does not name a client: after CLIENT_TOKEN_ come 1 to 32 letters, digits or "_", starting ` +
        'with a letter or digit, and not PASS (e.g. CLIENT_TOKEN_CI_BOT for client ci_bot)',
    );
  });

  it.each([
    ['too short', 'CANARY-short'],
    ['with a space', 'CANARY-with a space-xxxxxxxxxxxx'],
    ['with a trailing line break, as a paste gives', `${token('nl')}\n`],
    ['not ASCII', 'CANARY-not-ascii-ü-xxxxxxxxxxxx'],
  ])('rejects a token %s, naming the secret and never the value', (_what, value) => {
    const message = thrown(() => collectSecrets(JSON.stringify({ ...base, CLIENT_TOKEN_BOB: value })));
    expect(message).toBe(
      'secret CLIENT_TOKEN_BOB must hold a token of at least 24 printable ASCII characters without spaces or line ' +
        'breaks (e.g. openssl rand -base64 33)',
    );
    expect(message).not.toContain('CANARY');
  });

  it('rejects a token equal to PASS, two clients with one token, and two secrets for one client', () => {
    // PASS is itself a valid token (26 printable characters), which is what makes this mistake possible
    expect(thrown(() => collectSecrets(JSON.stringify({ ...base, CLIENT_TOKEN_NEXT: PASS })))).toBe(
      'secret CLIENT_TOKEN_NEXT holds the same value as PASS, so the logs could not tell that client apart: give it its own token',
    );
    expect(
      thrown(() => collectSecrets(JSON.stringify({ ...base, CLIENT_TOKEN_B: token('s'), CLIENT_TOKEN_A: token('s') }))),
    ).toBe('secrets CLIENT_TOKEN_A and CLIENT_TOKEN_B hold the same token: each client needs its own');
    expect(
      thrown(() => collectSecrets(JSON.stringify({ ...base, CLIENT_TOKEN_A: token('1'), client_token_a: token('2') }))),
    ).toBe('secrets CLIENT_TOKEN_A and CLIENT_TOKEN_A both name client a: keep one of them');
  });

  it('rejects a CLIENT_TOKENS or CLIENT_TOKEN secret instead of deploying no tokens', () => {
    for (const secret of ['CLIENT_TOKENS', 'client_token']) {
      const message = thrown(() =>
        collectSecrets(JSON.stringify({ ...base, [secret]: JSON.stringify({ alice: token('a') }) })),
      );
      expect(message).toBe(
        `secret ${secret.toUpperCase()} is not read: create one secret per client named CLIENT_TOKEN_<NAME> ` +
          "(e.g. CLIENT_TOKEN_ALICE), holding that client's token",
      );
      expect(message).not.toContain('CANARY');
    }
  });

  it('rejects a non-string token', () => {
    expect(thrown(() => collectSecrets(JSON.stringify({ ...base, CLIENT_TOKEN_X: 42 })))).toBe(
      'secret CLIENT_TOKEN_X must be a string, got number',
    );
  });

  it("counts the 5 KB limit on the JSON as Terraform's jsonencode writes it, < > & escaped", () => {
    // 100 tokens of 40 characters: about 4.7 KB as JSON.stringify writes it, over 5 KB once each "<" takes 6
    const tokens = Object.fromEntries(
      Array.from({ length: 100 }, (_, i) => [
        `CLIENT_TOKEN_C${i}`,
        `CANARY<${String(i).padStart(3, '0')}${'x'.repeat(29)}`,
      ]),
    );
    const plain = JSON.stringify(Object.fromEntries(Object.entries(tokens).map(([k, v]) => [clientNameOf(k), v])));
    expect(plain.length).toBeLessThanOrEqual(5120);
    expect(terraformJsonEncode(JSON.parse(plain)).length).toBeGreaterThan(5120);
    const message = thrown(() => collectSecrets(JSON.stringify({ ...base, ...tokens })));
    expect(message).toBe(
      `the CLIENT_TOKEN_* secrets take ${terraformJsonEncode(JSON.parse(plain)).length} characters as JSON, over the 5120 ` +
        'Cloudflare allows for one environment variable: use fewer or shorter tokens',
    );
  });
});

describe('maskCommands', () => {
  it('masks each value, each line of a multi-line value, its JSON-escaped form and the whole list', () => {
    const lines = maskCommands(['one"two', 'l1\nl2']);
    expect(lines).toEqual(
      expect.arrayContaining([
        '::add-mask::one"two',
        '::add-mask::one\\"two',
        '::add-mask::l1%0Al2',
        '::add-mask::l1',
        '::add-mask::l2',
        '::add-mask::l1\\nl2',
        `::add-mask::${JSON.stringify(['one"two', 'l1\nl2']).replace(/\n/g, '%0A')}`,
      ]),
    );
    expect(lines.every((l) => l.startsWith('::add-mask::') && !l.includes('\n'))).toBe(true);
  });

  it("also masks the form Terraform's jsonencode gives <, > and &, and the encoded wholes it is given", () => {
    const lines = maskCommands([ODD_TOKEN], ['{"bob":"whole"}']);
    expect(lines).toEqual(
      expect.arrayContaining([
        `::add-mask::${ODD_TOKEN}`,
        '::add-mask::CANARY-tok\\"en\\\\<b>&-zzzzzzzzzzzz',
        '::add-mask::CANARY-tok\\"en\\\\\\u003cb\\u003e\\u0026-zzzzzzzzzzzz',
        '::add-mask::{"bob":"whole"}',
      ]),
    );
    expect(lines).not.toContain(`::add-mask::${JSON.stringify([ODD_TOKEN])}`);
  });

  it('escapes % so the runner unescapes to the real value', () => {
    expect(escapeCommandData('100%0A\r\n')).toBe('100%250A%0D%0A');
  });
});

describe('childEnv', () => {
  it('drops SECRETS_JSON and adds only the Terraform inputs and the count', () => {
    const env = childEnv(
      { SECRETS_JSON: '{}', PATH: '/bin', CLOUDFLARE_API_TOKEN: 't' },
      { keys: [canary(1), canary(2)], keyNames: ['KEY1', 'KEY2'], pass: PASS, clientTokens: { alice: token('a') } },
    );
    expect(env).not.toHaveProperty('SECRETS_JSON');
    expect(env).toMatchObject({ PATH: '/bin', CLOUDFLARE_API_TOKEN: 't', KEY_COUNT: '2', TF_VAR_pass: PASS });
    expect(JSON.parse(defined(env.TF_VAR_api_keys, 'TF_VAR_api_keys'))).toEqual([canary(1), canary(2)]);
    expect(JSON.parse(defined(env.TF_VAR_client_tokens, 'TF_VAR_client_tokens'))).toEqual({ alice: token('a') });
  });

  it('sets TF_VAR_client_tokens to {} without tokens, replacing any inherited value', () => {
    const env = childEnv(
      { TF_VAR_client_tokens: '{"old":"x"}' },
      { keys: [canary(1)], keyNames: ['KEY1'], pass: PASS, clientTokens: {} },
    );
    expect(env.TF_VAR_client_tokens).toBe('{}');
  });
});

describe('collect-keys CLI', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'collect-keys-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  // The child records what it received in a file the test reads, so the values never go through its stdout.
  const CHILD = `
    const fs = require('node:fs');
    fs.writeFileSync(process.env.OUT_FILE, JSON.stringify({
      keys: JSON.parse(process.env.TF_VAR_api_keys), pass: process.env.TF_VAR_pass,
      tokens: JSON.parse(process.env.TF_VAR_client_tokens),
      count: process.env.KEY_COUNT, sawSecretsJson: 'SECRETS_JSON' in process.env,
    }));
    console.log('child ran');
    process.exit(Number(process.env.CHILD_EXIT || 0));`;

  function run(
    secrets: Record<string, string> | string,
    extraEnv: Record<string, string> = {},
    cmd = [process.execPath, '-e', CHILD],
  ) {
    const outFile = join(dir, `child-${Math.random().toString(36).slice(2)}.json`);
    const ghOutput = join(dir, `gh-output-${Math.random().toString(36).slice(2)}`);
    writeFileSync(ghOutput, '');
    const result = spawnSync(process.execPath, [TSX_CLI, SCRIPT, '--', ...cmd], {
      env: {
        PATH: process.env.PATH,
        SECRETS_JSON: typeof secrets === 'string' ? secrets : JSON.stringify(secrets),
        GITHUB_OUTPUT: ghOutput,
        OUT_FILE: outFile,
        ...extraEnv,
      },
      encoding: 'utf8',
    });
    const child = (() => {
      try {
        return JSON.parse(readFileSync(outFile, 'utf8')) as {
          keys: string[];
          pass: string;
          tokens: Record<string, string>;
          count: string;
          sawSecretsJson: boolean;
        };
      } catch {
        return undefined;
      }
    })();
    return {
      status: result.status,
      stdout: result.stdout,
      stderr: result.stderr,
      child,
      ghOutput: readFileSync(ghOutput, 'utf8'),
    };
  }

  it('masks before anything else, hands the keys only to the child, and reports just the count', () => {
    const multi = `${canary(10)}\nsecond-line-CANARY`;
    const r = run({ KEY10: multi, KEY2: canary(2), KEY1: canary(1), github_token: 'ghs_CANARY', PASS });
    expect(r.status).toBe(0);

    const lines = r.stdout.split('\n').filter(Boolean);
    const firstOther = lines.findIndex((l) => !l.startsWith('::add-mask::'));
    expect(firstOther).toBeGreaterThan(0);
    expect(lines.slice(firstOther).some((l) => l.startsWith('::add-mask::'))).toBe(false);
    expect(lines).toContain('collect-keys: 3 key(s) from KEY1, KEY2, KEY10; PASS set; no client tokens');
    // `{}` is not a secret: masking it would star out every empty object in the log
    expect(lines).not.toContain('::add-mask::{}');
    expect(lines).toContain('child ran');

    // no canary outside the mask lines, on either stream; github_token is not even masked because it is not used
    const unmasked = [...lines.slice(firstOther), ...r.stderr.split('\n')].join('\n');
    expect(unmasked).not.toContain('CANARY');
    expect(r.stdout).not.toContain('ghs_CANARY');

    expect(r.child).toEqual({
      keys: [canary(1), canary(2), multi],
      pass: PASS,
      tokens: {},
      count: '3',
      sawSecretsJson: false,
    });
    expect(r.ghOutput).toBe('key-count=3\nclient-token-count=0\n');
  });

  it('masks every client token first, hands the tokens only to the child, and reports their names and count', () => {
    const r = run({
      KEY1: canary(1),
      PASS,
      CLIENT_TOKEN_ALICE: token('alice'),
      CLIENT_TOKEN_CI_BOT: ODD_TOKEN,
      github_token: 'ghs_CANARY',
    });
    expect(r.status).toBe(0);

    const lines = r.stdout.split('\n').filter(Boolean);
    const firstOther = lines.findIndex((l) => !l.startsWith('::add-mask::'));
    const masks = lines.slice(0, firstOther);
    expect(lines.slice(firstOther).some((l) => l.startsWith('::add-mask::'))).toBe(false);
    const tokensJson = JSON.stringify({ alice: token('alice'), ci_bot: ODD_TOKEN });
    expect(masks).toEqual(
      expect.arrayContaining([
        `::add-mask::${token('alice')}`,
        `::add-mask::${ODD_TOKEN}`,
        `::add-mask::${JSON.stringify(ODD_TOKEN).slice(1, -1)}`,
        `::add-mask::${terraformJsonEncode(ODD_TOKEN).slice(1, -1)}`,
        `::add-mask::${tokensJson}`,
      ]),
    );
    expect(lines).toContain('collect-keys: 1 key(s) from KEY1; PASS set; 2 client token(s): alice, ci_bot');
    const unmasked = [...lines.slice(firstOther), ...r.stderr.split('\n')].join('\n');
    expect(unmasked).not.toContain('CANARY');

    expect(r.child).toMatchObject({ tokens: { alice: token('alice'), ci_bot: ODD_TOKEN }, sawSecretsJson: false });
    expect(r.ghOutput).toBe('key-count=1\nclient-token-count=2\n');
    expect(r.ghOutput).not.toContain('CANARY');
  });

  it('fails on a bad client token, naming its secret and not its value, and never starts the child', () => {
    const r = run({ KEY1: canary(1), PASS, CLIENT_TOKEN_BOB: 'CANARY-too-short' });
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^::error title=collect-keys::secret CLIENT_TOKEN_BOB must hold a token of at least 24 /m);
    expect(`${r.stdout}${r.stderr}`).not.toContain('CANARY');
    expect(r.child).toBeUndefined();
    expect(r.ghOutput).toBe('');
  });

  it("propagates the child's exit code", () => {
    expect(run({ KEY1: canary(1), PASS }, { CHILD_EXIT: '7' }).status).toBe(7);
  });

  it('delivers exactly one interrupt to the command when the whole process group is interrupted', async () => {
    const countFile = join(dir, 'signals');
    // counts SIGINTs for a moment after the first, the way Terraform treats a second one as "exit immediately"
    const child = `
      let n = 0;
      process.on('SIGINT', () => { if (n++ === 0) setTimeout(() => { require('node:fs').writeFileSync(process.env.COUNT_FILE, String(n)); process.exit(130); }, 300); });
      require('node:fs').writeFileSync(process.env.COUNT_FILE + '.ready', '');
      setInterval(() => {}, 1000);`;
    const proc = spawn(process.execPath, [TSX_CLI, SCRIPT, '--', process.execPath, '-e', child], {
      env: { PATH: process.env.PATH, SECRETS_JSON: JSON.stringify({ KEY1: canary(1), PASS }), COUNT_FILE: countFile },
      detached: true,
      stdio: 'ignore',
    });
    const exited = new Promise<number | null>((res) => proc.on('exit', (code) => res(code)));
    while (!existsSync(`${countFile}.ready`)) await new Promise((r) => setTimeout(r, 20));
    process.kill(-(proc.pid as number), 'SIGINT'); // the group: tsx, collect-keys, and (were it not detached) the child
    expect(await exited).toBe(130);
    expect(readFileSync(countFile, 'utf8')).toBe('1');
  });

  it('fails with a clear error and never starts the child when there are no keys', () => {
    const r = run({ github_token: 'ghs_CANARY', CLOUDFLARE_API_TOKEN: 'cf-CANARY', PASS });
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^::error title=collect-keys::no Gemini keys found/m);
    expect(r.child).toBeUndefined();
    expect(r.ghOutput).toBe('');
    expect(`${r.stdout}${r.stderr}`).not.toContain('CANARY');
  });

  it('refuses to run without a command, so the keys cannot be exported some other way', () => {
    const r = run({ KEY1: canary(1), PASS }, {}, []);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/usage: collect-keys.ts -- <command>/);
    expect(r.stdout).not.toContain('CANARY');
  });
});
