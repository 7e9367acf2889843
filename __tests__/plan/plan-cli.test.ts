/**
 * `npm run plan` end to end: the real script synthesizes the app (with canary secrets in every place a secret could
 * come from) when its output directory is empty, then prints the summary as text, Markdown and JSON, and compares it
 * with a previous synth and with deployed outputs. No canary, and no alert address, may appear in any of it.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { CONFIG_VARIABLES } from '../../config';
import { parsePlanArgs } from '../../scripts/plan/plan-cli';
import type { PlanReport } from '../../scripts/plan/plan-report';
import { CANARY_CLIENT_TOKEN, CANARY_PASS, canaryApiKeys, canarySearch } from '../security/canaries';

const ROOT = resolve(__dirname, '../..');
const KEYS = canaryApiKeys(12);
const OTHER_CANARIES = ['CANARYAWSACCESSKEYID', 'CANARY/aws/secret', 'CANARY-cloudflare-token'];
const findCanaries = canarySearch([...KEYS, CANARY_PASS, CANARY_CLIENT_TOKEN, ...OTHER_CANARIES]);

const inherited = Object.fromEntries(
  Object.entries(process.env).filter(
    ([name]) => !name.startsWith('TF_VAR_') && !(CONFIG_VARIABLES as readonly string[]).includes(name),
  ),
);
const ENV = {
  ...inherited,
  KEY_COUNT: String(KEYS.length),
  PR_NUMBER: '7',
  WORKERS_PLAN: 'paid',
  CLOUDFLARE_ACCOUNT_ID: '0123456789abcdef0123456789abcdef',
  STATE_BUCKET: 'zen-state',
  ALERT_EMAILS: 'canary-ops@example.com',
  TF_VAR_api_keys: JSON.stringify(KEYS),
  TF_VAR_pass: CANARY_PASS,
  TF_VAR_client_tokens: JSON.stringify({ alice: CANARY_CLIENT_TOKEN }),
  ...Object.fromEntries(KEYS.map((key, i) => [`KEY${i + 1}`, key])),
  PASS: CANARY_PASS,
  CLIENT_TOKENS: JSON.stringify({ alice: CANARY_CLIENT_TOKEN }),
  AWS_ACCESS_KEY_ID: 'CANARYAWSACCESSKEYID',
  AWS_SECRET_ACCESS_KEY: 'CANARY/aws/secret',
  CLOUDFLARE_API_TOKEN: 'CANARY-cloudflare-token',
};

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

async function plan(args: readonly string[], env: NodeJS.ProcessEnv = ENV): Promise<Run> {
  try {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'scripts/plan.ts', ...args],
      {
        cwd: ROOT,
        env,
        timeout: 120_000,
        maxBuffer: 16 * 1024 * 1024,
      },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

describe('parsePlanArgs', () => {
  test('defaults, switches and values in both spellings', () => {
    expect(parsePlanArgs([], '/cwd')).toEqual({ format: 'text', outDir: join(ROOT, 'cdktf.out'), synth: 'missing' });
    expect(
      parsePlanArgs(
        [
          '--json',
          '--out',
          'o',
          '--stack=prod',
          '--against',
          '/old.json',
          '--outputs=out.json',
          '--plan',
          'paid',
          '--no-synth',
        ],
        '/cwd',
      ),
    ).toEqual({
      format: 'json',
      outDir: '/cwd/o',
      synth: 'never',
      stack: 'prod',
      against: '/old.json',
      outputs: '/cwd/out.json',
      plan: 'paid',
    });
  });

  test('refuses what it does not know', () => {
    expect(() => parsePlanArgs(['--frobnicate'])).toThrow('unknown argument "--frobnicate"');
    expect(() => parsePlanArgs(['--stack'])).toThrow('--stack needs a value');
    expect(() => parsePlanArgs(['--plan', 'enterprise'])).toThrow('--plan must be one of free, paid, got "enterprise"');
  });
});

describe('npm run plan, end to end', () => {
  const outDir = mkdtempSync(join(tmpdir(), 'zen-plan-'));
  let first: Run;

  beforeAll(async () => {
    first = await plan(['--out', outDir]);
  }, 150_000);

  afterAll(() => rmSync(outDir, { recursive: true, force: true }));

  test('synthesizes first when the directory holds no stack, then prints the summary of both stacks', () => {
    expect([first.code, first.stderr]).toEqual([0, expect.stringContaining(`synthesizing into ${outDir}`)]);
    expect(first.stdout).toContain('Deploying prod creates or updates 3 workers');
    expect(first.stdout).toContain('Deploying preview-7 creates or updates 1 worker');
    expect(first.stdout).toMatch(/^zen-ai-router-worker-1 +shard 1 +private +off +9–12 \(4\)/m);
    expect(first.stdout).toMatch(/^zen-ai-router: Workers requests over 10,000,000 +billing_usage_alert .*email ×1/m);
    expect(first.stdout).toContain('state in the S3-compatible bucket zen-state at zen-ai-router/prod.tfstate');
    expect(first.stdout).toMatch(/^Plan limits \(Workers paid\)$/m);
  });

  test('no secret, credential or alert address in any format', async () => {
    const markdown = await plan(['--out', outDir, '--markdown', '--no-synth']);
    const json = await plan(['--out', outDir, '--json', '--no-synth']);
    for (const run of [first, markdown, json]) {
      expect(run.code).toBe(0);
      expect(findCanaries(run.stdout + run.stderr)).toEqual([]);
      expect(run.stdout).not.toContain('example.com');
    }
    const report = JSON.parse(json.stdout) as PlanReport;
    expect(report.stacks.map((s) => [s.stack, s.workers.length])).toEqual([
      ['prod', 3],
      ['preview-7', 1],
    ]);
    expect(report.limits.every((c) => c.ok)).toBe(true);
  }, 60_000);

  test('--against a previous cdk.tf.json and --outputs of the deployed state print what changes', async () => {
    const current = JSON.parse(readFileSync(join(outDir, 'stacks', 'prod', 'cdk.tf.json'), 'utf8'));
    const previous = JSON.parse(JSON.stringify(current));
    for (const script of Object.values<{ script_name: string; content_sha256: string }>(
      previous.resource.cloudflare_workers_script,
    ))
      if (script.script_name === 'zen-ai-router-worker-0') script.content_sha256 = '0'.repeat(64);
    const previousFile = join(outDir, 'previous.json');
    const outputsFile = join(outDir, 'outputs.json');
    writeFileSync(previousFile, JSON.stringify(previous));
    writeFileSync(outputsFile, JSON.stringify({ prod: { public_worker_name: 'old-orchestrator' } }));
    const run = await plan([
      '--out',
      outDir,
      '--no-synth',
      '--stack',
      'prod',
      '--against',
      previousFile,
      '--outputs',
      outputsFile,
    ]);
    expect(run.code).toBe(0);
    expect(run.stdout).not.toContain('Stack preview-7');
    expect(run.stdout).toContain('  - zen-ai-router-worker-0: code changed (content hash)');
    expect(run.stdout).toContain('  - public_worker_name: old-orchestrator → zen-ai-router-orchestrator');
  }, 60_000);

  test('usage mistakes exit 1 with the reason and the usage', async () => {
    const unknown = await plan(['--out', outDir, '--stack', 'preview-9', '--no-synth']);
    expect([unknown.code, unknown.stderr]).toEqual([1, expect.stringContaining('no stack preview-9 in')]);
    const bad = await plan(['--bogus']);
    expect([bad.code, bad.stderr]).toEqual([
      1,
      expect.stringMatching(/^error: unknown argument "--bogus"\nusage: npm run plan/),
    ]);
  }, 60_000);

  test('--no-synth on an empty directory says so and succeeds (the workflow after a deploy that never synthesized)', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'zen-plan-empty-'));
    try {
      const run = await plan(['--out', empty, '--no-synth', '--stack', 'prod', '--markdown']);
      expect([run.code, run.stdout]).toEqual([0, '# What this deploy creates\n\nNo synthesized stack was found.\n']);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  }, 60_000);
});
