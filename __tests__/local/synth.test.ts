import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CONFIG_VARIABLES } from '../../config';
import {
  APP_NODE_ARGS,
  SynthError,
  appEnv,
  readCdktfConfig,
  runSynth,
  synthFailureSummary,
} from '../../scripts/local/synth';
import { defined } from '../helpers/guards';

const CANARY_KEY = 'AIzaCANARYsynthKey01';
const CANARY_PASS = 'CANARY-synth-pass-3f1';

/** A cdktf app with one stack `probe` that records its environment; PROBE_* variables steer it. */
const PROBE_APP = `
const { App, TerraformStack, Annotations } = require('cdktf');
const app = new App();
const stack = new TerraformStack(app, 'probe');
require('node:fs').writeFileSync(require('node:path').join(process.env.CDKTF_OUTDIR, 'env.json'), JSON.stringify(process.env));
for (const [level, message] of JSON.parse(process.env.PROBE_ANNOTATIONS || '[]')) Annotations.of(stack)[level](message);
if (!process.env.PROBE_NO_SYNTH) app.synth();
`;

describe('appEnv', () => {
  const config = { context: {}, terraformModules: [] };

  it('drops every TF_VAR_* and adds what the cdktf CLI gives the app', () => {
    const env = appEnv(
      { PATH: '/bin', TF_VAR_api_keys: `["${CANARY_KEY}"]`, TF_VAR_pass: CANARY_PASS, KEY_COUNT: '1' },
      '/out',
      config,
    );
    expect(env).toEqual({
      PATH: '/bin',
      KEY_COUNT: '1',
      NODE_OPTIONS: '--max-old-space-size=4096',
      NODE_ENV: 'production',
      CDKTF_OUTDIR: '/out',
      CDKTF_CONTINUE_SYNTH_ON_ERROR_ANNOTATIONS: 'true',
      CDKTF_CONTEXT_JSON: '{"cdktfRelativeModules":[]}',
      SYNTH_HCL_OUTPUT: 'false',
    });
  });

  it("keeps the caller's NODE_OPTIONS and NODE_ENV", () => {
    const env = appEnv({ NODE_OPTIONS: '--trace-warnings', NODE_ENV: 'test' }, '/out', config);
    expect(env).toMatchObject({ NODE_OPTIONS: '--trace-warnings', NODE_ENV: 'test' });
  });

  it("passes cdktf.json's context (else the environment's) with the relative Terraform modules", () => {
    const modules = ['./local-module', { source: '../shared' }, 'hashicorp/consul/aws'];
    expect(
      JSON.parse(
        defined(
          appEnv({}, '/out', { context: { a: 1 }, terraformModules: modules }).CDKTF_CONTEXT_JSON,
          'CDKTF_CONTEXT_JSON',
        ),
      ),
    ).toEqual({
      a: 1,
      cdktfRelativeModules: ['./local-module', { source: '../shared' }],
    });
    expect(
      JSON.parse(
        defined(appEnv({ CDKTF_CONTEXT_JSON: '{"b":2}' }, '/out', {}).CDKTF_CONTEXT_JSON, 'CDKTF_CONTEXT_JSON'),
      ),
    ).toEqual({
      b: 2,
      cdktfRelativeModules: [],
    });
  });

  it('starts the app with the command cdktf.json gives the CLI', () => {
    expect(readCdktfConfig().app).toBe(['node', ...APP_NODE_ARGS].join(' '));
  });
});

describe('synthFailureSummary', () => {
  it("keeps the app's configuration errors, else the last lines without colour codes", () => {
    const output = [
      'notice: KEY_COUNT is not set',
      '\x1b[31mconfiguration error: KEY_COUNT must be an integer 1..1000, got "0"\x1b[39m',
    ].join('\n');
    expect(synthFailureSummary(output)).toBe('configuration error: KEY_COUNT must be an integer 1..1000, got "0"');
    expect(synthFailureSummary('line 1\n\nError: boom\n    at main (main.ts:1:1)\n')).toBe(
      'line 1\nError: boom\n    at main (main.ts:1:1)',
    );
  });
});

describe('runSynth', () => {
  let outDir: string;
  const probe = (env: Record<string, string> = {}) =>
    runSynth({ outDir, env: { PATH: process.env.PATH ?? '', ...env }, nodeArgs: ['-e', PROBE_APP] });

  beforeEach(() => {
    outDir = mkdtempSync(join(tmpdir(), 'zen-synth-'));
  });
  afterEach(() => rmSync(outDir, { recursive: true, force: true }));

  it('runs the app without any TF_VAR_*, with CDKTF_OUTDIR, and returns the stacks it wrote', async () => {
    const result = await probe({ TF_VAR_api_keys: `["${CANARY_KEY}"]`, TF_VAR_pass: CANARY_PASS, KEEP_ME: 'yes' });
    expect(result).toEqual({ stacks: ['probe'], output: '', annotations: [] });
    const seen = JSON.parse(readFileSync(join(outDir, 'env.json'), 'utf8')) as Record<string, string>;
    expect(Object.keys(seen).filter((name) => name.startsWith('TF_VAR_'))).toEqual([]);
    expect(JSON.stringify(seen)).not.toMatch(/CANARY/);
    expect(seen).toMatchObject({
      KEEP_ME: 'yes',
      CDKTF_OUTDIR: outDir,
      CDKTF_CONTINUE_SYNTH_ON_ERROR_ANNOTATIONS: 'true',
    });
    expect(existsSync(join(outDir, 'stacks', 'probe', 'cdk.tf.json'))).toBe(true);
  });

  it('reports warnings and fails on error annotations, as the CLI does', async () => {
    const warned = await probe({ PROBE_ANNOTATIONS: JSON.stringify([['addWarning', 'careful']]) });
    expect(warned.annotations).toEqual(['WARN [probe]: careful']);
    await expect(
      probe({
        PROBE_ANNOTATIONS: JSON.stringify([
          ['addError', 'bad value'],
          ['addInfo', 'fyi'],
        ]),
      }),
    ).rejects.toThrow(new SynthError('synth reported 1 error annotation(s):\nERROR [probe]: bad value'));
  });

  it('removes the directory of a stack the app no longer writes', async () => {
    mkdirSync(join(outDir, 'stacks', 'preview-9'), { recursive: true });
    writeFileSync(join(outDir, 'stacks', 'preview-9', 'cdk.tf.json'), '{}');
    await probe();
    expect(existsSync(join(outDir, 'stacks', 'preview-9'))).toBe(false);
    expect(existsSync(join(outDir, 'stacks', 'probe'))).toBe(true);
  });

  it('says so when the app exits without synthesizing, whatever an earlier synth left', async () => {
    await probe();
    await expect(probe({ PROBE_NO_SYNTH: '1' })).rejects.toThrow(
      /^the app exited without writing .*manifest\.json .*: does it call app\.synth\(\)\?$/,
    );
  });

  it("fails with main.ts's own configuration error", async () => {
    const inherited = Object.fromEntries(
      Object.entries(process.env).filter(([name]) => !(CONFIG_VARIABLES as readonly string[]).includes(name)),
    );
    // the summary is the app's one validation line, not the stack or the notice around it
    await expect(runSynth({ outDir, env: { ...inherited, KEY_COUNT: '0' } })).rejects.toThrow(
      /^synth failed \(exit 1\):\nconfiguration error: KEY_COUNT [^\n]*, got "0"$/,
    );
  });
});
