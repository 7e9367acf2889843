import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  accountNote,
  apiBaseFrom,
  configurationProblems,
  identifyToken,
  inputsFrom,
  main,
} from '../../scripts/ci/preview-isolation';
import { type FakeCloudflare, startFakeCloudflare } from './fake-cloudflare';

const SCRIPT = resolve(__dirname, '../../scripts/ci/preview-isolation.ts');
const TSX_CLI = require.resolve('tsx/cli');

// Canaries: the tokens and the R2 secret half must appear in no output, whatever the outcome.
const PREVIEW_TOKEN = 'CANARY-preview-cf-token-0123456789abcdefXYZ';
const PROD_TOKEN = 'CANARY-prod-cf-token-0123456789abcdefXYZ00';
const ACCOUNT_TOKEN = 'CANARY-account-cf-token-0123456789abcdefX';
const PROD_TOKEN_ID = 'a'.repeat(32);
const PREVIEW_TOKEN_ID = 'b'.repeat(32);
const ACCOUNT_TOKEN_ID = 'c'.repeat(32);
const ACCOUNT = '0123456789abcdef0123456789abcdef';
const PROD_R2_KEY_ID = 'd'.repeat(32);
const PREVIEW_R2_KEY_ID = 'e'.repeat(32);
const R2_SECRET_HALF = 'f'.repeat(64);

/** A preview environment set up as the docs say: its own bucket, R2 token and Cloudflare token. */
const GOOD_ENV: NodeJS.ProcessEnv = {
  STATE_BUCKET: 'zen-ai-router-preview-state',
  R2_ACCESS_KEY_ID: PREVIEW_R2_KEY_ID,
  CLOUDFLARE_API_TOKEN: PREVIEW_TOKEN,
  CLOUDFLARE_ACCOUNT_ID: ACCOUNT,
  PROD_STATE_BUCKET: 'zen-ai-router-state',
  PROD_R2_ACCESS_KEY_ID: PROD_R2_KEY_ID,
  PROD_CLOUDFLARE_TOKEN_ID: PROD_TOKEN_ID,
};

let cf: FakeCloudflare;
beforeAll(async () => {
  cf = await startFakeCloudflare();
  cf.tokens.set(PROD_TOKEN, { id: PROD_TOKEN_ID });
  cf.tokens.set(PREVIEW_TOKEN, { id: PREVIEW_TOKEN_ID });
  cf.tokens.set(ACCOUNT_TOKEN, { id: ACCOUNT_TOKEN_ID, account: ACCOUNT });
});
afterAll(() => cf.close());
beforeEach(() => {
  cf.requests.length = 0;
  cf.override = undefined;
});

interface Run {
  readonly code: number;
  readonly lines: string[];
  readonly summary: string;
}

/** Runs the check with `over` on top of the good preview environment, against the fake API. */
async function run(over: NodeJS.ProcessEnv = {}, io: { timeoutMs?: number } = {}): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), 'preview-isolation-'));
  const summaryFile = join(dir, 'summary.md');
  writeFileSync(summaryFile, '');
  const lines: string[] = [];
  try {
    const env = { ...GOOD_ENV, CLOUDFLARE_API_BASE_URL: cf.url, GITHUB_STEP_SUMMARY: summaryFile, ...over };
    const code = await main(env, { stdout: (line) => lines.push(line), ...io });
    return { code, lines, summary: readFileSync(summaryFile, 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const errors = (r: Run): string[] => r.lines.filter((l) => l.startsWith('::error'));

function expectNoSecretIn(text: string): void {
  for (const secret of [PREVIEW_TOKEN, PROD_TOKEN, ACCOUNT_TOKEN, R2_SECRET_HALF]) expect(text).not.toContain(secret);
}

describe('preview isolation: the Cloudflare token, against a fake verify endpoint', () => {
  it("goes on when the preview's token is not prod's, having sent it only to the verify endpoint", async () => {
    const r = await run();
    expect([r.code, errors(r)]).toEqual([0, []]);
    expect(r.lines[0]).toMatch(/all differ from prod's/);
    expect(cf.requests).toEqual([{ path: '/client/v4/user/tokens/verify', authorization: `Bearer ${PREVIEW_TOKEN}` }]);
    expect(r.summary).toBe('');
    expectNoSecretIn(r.lines.join('\n'));
  });

  it("refuses when the preview holds prod's token, naming the variable to fix and never the token", async () => {
    const r = await run({ CLOUDFLARE_API_TOKEN: PROD_TOKEN });
    expect(r.code).toBe(1);
    expect(errors(r)).toEqual([expect.stringMatching(/^::error title=Preview refused \(prod's Cloudflare token\)::/)]);
    expect(errors(r)[0]).toMatch(/separate token for previews .* preview environment's CLOUDFLARE_API_TOKEN/);
    expect(r.summary).toMatch(/^### Preview refused/);
    expectNoSecretIn(`${r.lines.join('\n')}\n${r.summary}`);
  });

  it("refuses a token whose id is prod's R2 access key id (prod's R2 token used as the Cloudflare token)", async () => {
    const r = await run({ PROD_R2_ACCESS_KEY_ID: PREVIEW_TOKEN_ID });
    expect([r.code, errors(r)]).toEqual([1, [expect.stringMatching(/prod's Cloudflare token/)]]);
  });

  it('identifies an account-owned token at its account endpoint, after the user endpoint refuses it', async () => {
    const different = await run({ CLOUDFLARE_API_TOKEN: ACCOUNT_TOKEN });
    expect([different.code, errors(different)]).toEqual([0, []]);
    expect(cf.requests.map((q) => q.path)).toEqual([
      '/client/v4/user/tokens/verify',
      `/client/v4/accounts/${ACCOUNT}/tokens/verify`,
    ]);
    const same = await run({ CLOUDFLARE_API_TOKEN: ACCOUNT_TOKEN, PROD_CLOUDFLARE_TOKEN_ID: ACCOUNT_TOKEN_ID });
    expect([same.code, errors(same)]).toEqual([1, [expect.stringMatching(/prod's Cloudflare token/)]]);
  });

  it('refuses a token Cloudflare verifies at neither endpoint, saying what each answered', async () => {
    const r = await run({ CLOUDFLARE_API_TOKEN: 'CANARY-unknown-token-00000000000000000000' });
    expect(r.code).toBe(1);
    expect(errors(r)).toEqual([expect.stringMatching(/neither as a user token \(401\) nor .* \(401\)/)]);
    expect(r.lines.join('\n')).not.toContain('CANARY-unknown');
  });

  it('refuses a disabled or expired token', async () => {
    cf.tokens.set('CANARY-disabled-token-000000000000000000', { id: '9'.repeat(32), status: 'disabled' });
    const r = await run({ CLOUDFLARE_API_TOKEN: 'CANARY-disabled-token-000000000000000000' });
    expect([r.code, errors(r)]).toEqual([1, [expect.stringMatching(/CLOUDFLARE_API_TOKEN is disabled: replace it/)]]);
  });

  it('refuses with a clear message when the API is unreachable', async () => {
    const closed = createServer();
    await new Promise<void>((done) => closed.listen(0, '127.0.0.1', done));
    const { port } = closed.address() as { port: number };
    await new Promise<void>((done) => closed.close(() => done()));
    const r = await run({ CLOUDFLARE_API_BASE_URL: `http://127.0.0.1:${port}/client/v4` });
    expect(r.code).toBe(1);
    expect(errors(r)).toEqual([
      expect.stringMatching(
        /Could not identify the preview's CLOUDFLARE_API_TOKEN: .*no answer \(ECONNREFUSED\)\. .*re-run/,
      ),
    ]);
  });

  it.each([
    ['hangs', 'hang', /no answer within 0\.2 s/],
    ['answers 500', 'status-500', /answered 500 without a token id/],
    ['answers 200 without JSON', 'not-json', /answered 200 without a token id/],
    ['redirects (not followed: the token stays here)', 'redirect', /answered 302 without a token id/],
  ] as const)('refuses when the API %s', async (_, override, message) => {
    cf.override = override;
    const r = await run({}, { timeoutMs: 200 });
    expect([r.code, errors(r)]).toEqual([1, [expect.stringMatching(message)]]);
    expect(cf.requests).toHaveLength(1);
  });

  it('sends the token nowhere while prod has no declared token id to compare it with', async () => {
    const r = await run({ PROD_CLOUDFLARE_TOKEN_ID: '' });
    expect(r.code).toBe(1);
    expect(cf.requests).toEqual([]);
    expect(errors(r)).toEqual([expect.stringMatching(/Set the repository variable\(s\) PROD_CLOUDFLARE_TOKEN_ID to/)]);
  });

  it('refuses a preview environment without a token, without calling the API', async () => {
    expect(await identifyToken('  ', ACCOUNT, { baseUrl: cf.url })).toEqual({
      ok: false,
      problem: { title: 'preview token unknown', message: expect.stringMatching(/has no CLOUDFLARE_API_TOKEN secret/) },
    });
    expect(cf.requests).toEqual([]);
  });
});

describe('preview isolation: bucket, R2 access key id and declarations (no network)', () => {
  const problems = (over: NodeJS.ProcessEnv) => configurationProblems(inputsFrom({ ...GOOD_ENV, ...over }));
  const titles = (over: NodeJS.ProcessEnv) => problems(over).map((p) => p.title);

  it('finds nothing wrong with a preview environment set up apart from prod', () => {
    expect(problems({})).toEqual([]);
  });

  it("refuses prod's state bucket, whatever its case or surrounding blanks", () => {
    expect(titles({ STATE_BUCKET: 'zen-ai-router-state' })).toEqual(["prod's state bucket"]);
    expect(titles({ STATE_BUCKET: ' Zen-AI-Router-State ' })).toEqual(["prod's state bucket"]);
    expect(problems({ STATE_BUCKET: 'zen-ai-router-state' })[0]?.message).toMatch(/preview environment's STATE_BUCKET/);
  });

  it("refuses prod's R2 access key id, and prod's Cloudflare token id used as one", () => {
    expect(titles({ R2_ACCESS_KEY_ID: PROD_R2_KEY_ID })).toEqual(["prod's R2 token"]);
    expect(titles({ R2_ACCESS_KEY_ID: PROD_R2_KEY_ID.toUpperCase() })).toEqual(["prod's R2 token"]);
    expect(titles({ R2_ACCESS_KEY_ID: PROD_TOKEN_ID })).toEqual(["prod's R2 token"]);
  });

  it("compares with every id a PROD_ variable lists (prod's deploy and drift tokens), commas or blanks between", () => {
    const drift = {
      PROD_R2_ACCESS_KEY_ID: `${PROD_R2_KEY_ID}, ${'1'.repeat(32)}`,
      PROD_CLOUDFLARE_TOKEN_ID: `${PROD_TOKEN_ID}\n${'2'.repeat(32)}`,
    };
    expect(titles(drift)).toEqual([]);
    expect(titles({ ...drift, R2_ACCESS_KEY_ID: '1'.repeat(32) })).toEqual(["prod's R2 token"]);
    expect(titles({ ...drift, R2_ACCESS_KEY_ID: '2'.repeat(32) })).toEqual(["prod's R2 token"]);
    expect(titles({ ...drift, PROD_CLOUDFLARE_TOKEN_ID: `${PROD_TOKEN_ID} ${PROD_TOKEN}` })).toEqual([
      'PROD_CLOUDFLARE_TOKEN_ID is not a list of token ids',
    ]);
  });

  it("refuses the token of prod's drift check as well as the deploy's", async () => {
    const r = await run({ PROD_CLOUDFLARE_TOKEN_ID: `${'2'.repeat(32)},${PREVIEW_TOKEN_ID}` });
    expect([r.code, errors(r)]).toEqual([1, [expect.stringMatching(/prod's Cloudflare token/)]]);
  });

  it('refuses a preview without its own bucket or R2 token', () => {
    expect(titles({ STATE_BUCKET: '', R2_ACCESS_KEY_ID: '' })).toEqual([
      'no preview state bucket',
      'no preview R2 token',
    ]);
  });

  it("refuses until prod's identifiers are declared, naming every missing variable in one message", () => {
    const found = problems({ PROD_STATE_BUCKET: '', PROD_R2_ACCESS_KEY_ID: ' ', PROD_CLOUDFLARE_TOKEN_ID: undefined });
    expect(found).toEqual([
      {
        title: 'prod identifiers not declared',
        message: expect.stringContaining('PROD_STATE_BUCKET, PROD_R2_ACCESS_KEY_ID, PROD_CLOUDFLARE_TOKEN_ID'),
      },
    ]);
  });

  it('refuses a secret pasted into a PROD_ variable, telling to roll it, without repeating it', () => {
    const found = problems({ PROD_CLOUDFLARE_TOKEN_ID: PROD_TOKEN, PROD_R2_ACCESS_KEY_ID: R2_SECRET_HALF });
    expect(found.map((p) => p.title)).toEqual([
      'PROD_CLOUDFLARE_TOKEN_ID is not a list of token ids',
      'PROD_R2_ACCESS_KEY_ID is not a list of access key ids',
    ]);
    for (const p of found) expect(p.message).toMatch(/roll that credential now/);
    expectNoSecretIn(JSON.stringify(found));
  });

  it('reports every problem at once, as one ::error line each', async () => {
    const r = await run({
      STATE_BUCKET: 'zen-ai-router-state',
      R2_ACCESS_KEY_ID: PROD_R2_KEY_ID,
      CLOUDFLARE_API_TOKEN: PROD_TOKEN,
    });
    expect(errors(r).map((l) => /title=Preview refused \((.+?)\)::/.exec(l)?.[1])).toEqual([
      "prod's state bucket",
      "prod's R2 token",
      "prod's Cloudflare token",
    ]);
    expect(r.lines.every((l) => !l.includes('\n'))).toBe(true);
  });
});

describe('preview isolation: the account', () => {
  const note = (over: NodeJS.ProcessEnv): string => accountNote(inputsFrom({ ...GOOD_ENV, ...over }));

  it("warns when previews share prod's account (a preview token can still change prod's workers there)", () => {
    expect(note({ PROD_CLOUDFLARE_ACCOUNT_ID: ACCOUNT })).toMatch(
      /^::warning title=Preview shares prod's Cloudflare account::/,
    );
    expect(note({ PROD_CLOUDFLARE_ACCOUNT_ID: '1'.repeat(32) })).toMatch(
      /^account: previews deploy to an account other/,
    );
    expect(note({})).toMatch(/^account: not compared/);
  });

  it('says so after the checks pass', async () => {
    const r = await run({ PROD_CLOUDFLARE_ACCOUNT_ID: ACCOUNT });
    expect(r.code).toBe(0);
    expect(r.lines[1]).toMatch(/^::warning/);
  });
});

describe('preview isolation: where the token may go', () => {
  it("uses Cloudflare's API, or a loopback test server, and nothing else", () => {
    expect(apiBaseFrom({})).toBe('https://api.cloudflare.com/client/v4');
    expect(apiBaseFrom({ CLOUDFLARE_API_BASE_URL: 'http://127.0.0.1:8787/client/v4' })).toBe(
      'http://127.0.0.1:8787/client/v4',
    );
    for (const url of ['https://evil.example/client/v4', 'http://127.0.0.1.evil.example:80/', 'http://10.0.0.1:80/'])
      expect(() => apiBaseFrom({ CLOUDFLARE_API_BASE_URL: url })).toThrow(/loopback/);
  });

  it('runs as a step: exit 1 and an ::error on prod credentials, exit 0 otherwise, no secret printed', async () => {
    // asynchronously: the fake API answers from this process, so a blocking spawn would never get its answer
    const runCli = (over: NodeJS.ProcessEnv) =>
      new Promise<{ status: number; stdout: string; stderr: string }>((done) => {
        const env = { PATH: process.env.PATH, ...GOOD_ENV, CLOUDFLARE_API_BASE_URL: cf.url, ...over };
        execFile(process.execPath, [TSX_CLI, SCRIPT], { env, encoding: 'utf8' }, (error, stdout, stderr) =>
          done({ status: typeof error?.code === 'number' ? error.code : error ? -1 : 0, stdout, stderr }),
        );
      });
    const [refused, allowed] = await Promise.all([runCli({ STATE_BUCKET: 'zen-ai-router-state' }), runCli({})]);
    expect([refused.status, allowed.status]).toEqual([1, 0]);
    expect(refused.stdout).toMatch(/^::error title=Preview refused \(prod's state bucket\)::/m);
    expectNoSecretIn(refused.stdout + refused.stderr + allowed.stdout + allowed.stderr);
  });
});
