import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { CONFIG_VARIABLES } from '../../config';
import { CDKTF_CLI_PATH, CDKTF_NATIVE_MODULE, cdktfCliEnv, cdktfCliLoadProblem } from '../../scripts/local/cdktf-cli';
import { runSynth } from '../../scripts/local/synth';
import { expectedR2Backend, type StackJson } from '../fixtures/synth';

const ROOT = resolve(__dirname, '../..');
const ACCOUNT = '0123456789abcdef0123456789abcdef';
// shaped like Gemini keys, but too short to trip a secret scanner
const KEYS = ['AIzaCANARYkeyOne0001', 'AIzaCANARYkeyTwo0002', 'AIzaCANARYkeyThree03'];
const CANARIES = [
  ...KEYS,
  'CANARY-pass-7c1e',
  'CANARY-client-token-alice-0000',
  'CANARYAWSACCESSKEYID',
  'CANARY/aws/secret/access/key',
  'CANARY-cloudflare-api-token',
];

/** Every file under `dir`, recursively. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

describe('cdktf synth with canary secrets in the environment', () => {
  const outDir = mkdtempSync(join(tmpdir(), 'zen-canary-'));
  // what `npm start` and `npm run synth` write from the same environment, without the CLI
  const localOutDir = mkdtempSync(join(tmpdir(), 'zen-canary-local-'));
  let output = '';
  // what the CLI alone printed
  let cliOutput = '';

  beforeAll(async () => {
    // deploys run this CLI, so a Node.js it cannot start on is a failure to fix, never a reason to skip
    const problem = cdktfCliLoadProblem();
    if (problem !== undefined) {
      throw new Error(
        `the cdktf CLI cannot start on Node.js ${process.version}: ${problem}. ` +
          `Compile the module for this Node.js (README "Node.js versions": npm rebuild ${CDKTF_NATIVE_MODULE}).`,
      );
    }
    // start from a clean slate so the developer's own configuration cannot change what is synthesized, and without
    // CHECKPOINT_DISABLE: turning the checkpoint off is the project's job (cdktfCliEnv), tested below
    const inherited = Object.fromEntries(
      Object.entries(process.env).filter(
        ([name]) =>
          !name.startsWith('TF_VAR_') &&
          name !== 'CHECKPOINT_DISABLE' &&
          !(CONFIG_VARIABLES as readonly string[]).includes(name),
      ),
    );
    const env = {
      ...inherited,
      CI: '1',
      KEY_COUNT: String(KEYS.length),
      KEYS_PER_SHARD: '2',
      PR_NUMBER: '7',
      CLOUDFLARE_ACCOUNT_ID: ACCOUNT,
      STATE_BUCKET: 'zen-state',
      TF_VAR_api_keys: JSON.stringify(KEYS),
      TF_VAR_pass: 'CANARY-pass-7c1e',
      TF_VAR_client_tokens: JSON.stringify({ alice: 'CANARY-client-token-alice-0000' }),
      CLIENT_TOKENS: JSON.stringify({ alice: 'CANARY-client-token-alice-0000' }),
      ...Object.fromEntries(KEYS.map((key, i) => [`KEY${i + 1}`, key])),
      PASS: 'CANARY-pass-7c1e',
      AWS_ACCESS_KEY_ID: 'CANARYAWSACCESSKEYID',
      AWS_SECRET_ACCESS_KEY: 'CANARY/aws/secret/access/key',
      CLOUDFLARE_API_TOKEN: 'CANARY-cloudflare-api-token',
    };
    const [{ stdout, stderr }, local] = await Promise.all([
      promisify(execFile)(process.execPath, [CDKTF_CLI_PATH, 'synth', '--output', outDir], {
        cwd: ROOT,
        env: cdktfCliEnv(env),
        timeout: 120_000,
        maxBuffer: 16 * 1024 * 1024,
      }),
      runSynth({ outDir: localOutDir, env }),
    ]);
    cliOutput = stdout + stderr;
    output = cliOutput + local.output;
  }, 150_000);

  afterAll(() => {
    rmSync(outDir, { recursive: true, force: true });
    rmSync(localOutDir, { recursive: true, force: true });
  });

  const stack = (name: string): StackJson =>
    JSON.parse(readFileSync(join(outDir, 'stacks', name, 'cdk.tf.json'), 'utf8')) as StackJson;

  test('the CLI prints no checkpoint or telemetry error (offline it would: getaddrinfo ENOTFOUND checkpoint-api...)', () => {
    expect(cliOutput).toContain('Generated Terraform code for the stacks');
    expect(cliOutput).not.toMatch(/checkpoint|telemetry/i);
  });

  test('writes prod and the preview stack', () => {
    expect(readdirSync(join(outDir, 'stacks')).sort()).toEqual(['preview-7', 'prod']);
  });

  test('the local synth writes byte for byte what the CLI writes', () => {
    const relative = (dir: string) =>
      filesUnder(dir)
        .map((file) => file.slice(dir.length))
        .sort();
    expect(relative(localOutDir)).toEqual(relative(outDir));
    const differing = relative(outDir).filter(
      (file) => !readFileSync(join(outDir, file)).equals(readFileSync(join(localOutDir, file))),
    );
    expect(differing).toEqual([]);
  });

  test('no canary appears in any synthesized file or in the synth output', () => {
    const files = [...filesUnder(outDir), ...filesUnder(localOutDir)];
    expect(files.length).toBeGreaterThan(8);
    const leaks = files.flatMap((file) => {
      const content = readFileSync(file, 'utf8');
      return CANARIES.filter((canary) => content.includes(canary)).map((canary) => `${file}: ${canary}`);
    });
    expect(leaks).toEqual([]);
    expect(CANARIES.filter((canary) => output.includes(canary))).toEqual([]);
  });

  test.each(['prod', 'preview-7'])(
    '%s: every content_file resolves from the stack dir to a file with its content_sha256',
    (name) => {
      const scripts = Object.values(stack(name).resource.cloudflare_workers_script);
      expect(scripts.length).toBeGreaterThan(0);
      for (const script of scripts) {
        const file = resolve(outDir, 'stacks', name, script.content_file);
        expect(createHash('sha256').update(readFileSync(file)).digest('hex')).toBe(script.content_sha256);
      }
    },
  );

  test.each(['prod', 'preview-7'])('%s: R2 backend with a per-stack key, a lock file and no credentials', (name) => {
    expect(stack(name).terraform.backend).toEqual(
      expectedR2Backend('zen-state', `zen-ai-router/${name}.tfstate`, ACCOUNT),
    );
  });

  test('the account id from the environment becomes the account_id default; keys stay variable references', () => {
    const prod = stack('prod');
    expect(prod.variable.account_id?.default).toBe(ACCOUNT);
    const shard = Object.values(prod.resource.cloudflare_workers_script).find(
      (s) => s.script_name === 'zen-ai-router-worker-1',
    );
    expect(shard?.bindings.slice(0, 2)).toEqual([
      { name: 'KEY1', type: 'secret_text', text: '${var.api_keys[2]}' },
      { name: 'PASS', type: 'secret_text', text: '${var.pass}' },
    ]);
  });
});

describe('main.ts with a bad configuration', () => {
  test('exits 1 with the validation message alone, before bundling anything', async () => {
    const inherited = Object.fromEntries(
      Object.entries(process.env).filter(([name]) => !(CONFIG_VARIABLES as readonly string[]).includes(name)),
    );
    const run = promisify(execFile)(join(ROOT, 'node_modules', '.bin', 'tsx'), ['main.ts'], {
      cwd: ROOT,
      env: { ...inherited, PR_NUMBER: 'abc' },
      timeout: 60_000,
    });
    await expect(run).rejects.toMatchObject({
      code: 1,
      stdout: '',
      stderr: 'configuration error: PR_NUMBER must be a positive integer (1, 2, 3, ...), got "abc"\n',
    });
  });
});
