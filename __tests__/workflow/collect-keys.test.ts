import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  childEnv,
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

  it('escapes % so the runner unescapes to the real value', () => {
    expect(escapeCommandData('100%0A\r\n')).toBe('100%250A%0D%0A');
  });
});

describe('childEnv', () => {
  it('drops SECRETS_JSON and adds only the Terraform inputs and the count', () => {
    const env = childEnv(
      { SECRETS_JSON: '{}', PATH: '/bin', CLOUDFLARE_API_TOKEN: 't' },
      { keys: [canary(1), canary(2)], keyNames: ['KEY1', 'KEY2'], pass: PASS },
    );
    expect(env).not.toHaveProperty('SECRETS_JSON');
    expect(env).toMatchObject({ PATH: '/bin', CLOUDFLARE_API_TOKEN: 't', KEY_COUNT: '2', TF_VAR_pass: PASS });
    expect(JSON.parse(defined(env.TF_VAR_api_keys, 'TF_VAR_api_keys'))).toEqual([canary(1), canary(2)]);
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
    expect(lines).toContain('collect-keys: 3 key(s) from KEY1, KEY2, KEY10; PASS set');
    expect(lines).toContain('child ran');

    // no canary outside the mask lines, on either stream; github_token is not even masked because it is not used
    const unmasked = [...lines.slice(firstOther), ...r.stderr.split('\n')].join('\n');
    expect(unmasked).not.toContain('CANARY');
    expect(r.stdout).not.toContain('ghs_CANARY');

    expect(r.child).toEqual({ keys: [canary(1), canary(2), multi], pass: PASS, count: '3', sawSecretsJson: false });
    expect(r.ghOutput).toBe('key-count=3\n');
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
