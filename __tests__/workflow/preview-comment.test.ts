import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GitHubClient } from '../../scripts/ci/github';
import { extractPreviewOutputs, main, PREVIEW_MARKER, renderPreviewComment } from '../../scripts/ci/preview-comment';
import { startFakeGitHub, type FakeGitHub } from './fake-github';

const REPO = 'acme/zen-ai-router';
const URL_ = 'https://zen-ai-router-worker-preview-42.acme.workers.dev';

describe('extractPreviewOutputs', () => {
  it('reads the outputs the preview stack declares (public_worker_url, public_worker_name)', () => {
    const file = { 'preview-42': { public_worker_name: 'zen-ai-router-worker-preview-42', public_worker_url: URL_ } };
    expect(extractPreviewOutputs(file, 'preview-42')).toEqual({
      url: URL_,
      scriptName: 'zen-ai-router-worker-preview-42',
    });
  });

  it('uses the name output when the URL output is empty (no workers.dev subdomain configured)', () => {
    const file = { 'preview-42': { public_worker_name: 'zen-ai-router-worker-preview-42', public_worker_url: '' } };
    expect(extractPreviewOutputs(file, 'preview-42')).toEqual({
      url: undefined,
      scriptName: 'zen-ai-router-worker-preview-42',
    });
  });

  it('finds the workers.dev URL and script name however the constructs nest their outputs', () => {
    const file = {
      'preview-42': {
        previewWorker: { url: URL_, scriptName: 'zen-ai-router-worker-preview-42' },
        other: { accountSubdomain: 'acme' },
      },
    };
    expect(extractPreviewOutputs(file, 'preview-42')).toEqual({
      url: URL_,
      scriptName: 'zen-ai-router-worker-preview-42',
    });
  });

  it('derives the script name from the URL when no output names it', () => {
    expect(extractPreviewOutputs({ 'preview-42': { endpoint: `${URL_}/` } }, 'preview-42')).toEqual({
      url: `${URL_}/`,
      scriptName: 'zen-ai-router-worker-preview-42',
    });
  });

  it('never uses a value marked sensitive, and tolerates a file without the URL', () => {
    const file = { 'preview-42': { url: { value: URL_, sensitive: true, type: 'string' } } };
    expect(extractPreviewOutputs(file, 'preview-42')).toEqual({ url: undefined, scriptName: undefined });
    expect(extractPreviewOutputs({}, 'preview-42')).toEqual({ url: undefined, scriptName: undefined });
  });

  it('reads how many keys the preview holds from its bound_key_count output (a number in the outputs file)', () => {
    const file = { 'preview-42': { public_worker_url: URL_, bound_key_count: 8 } };
    expect(extractPreviewOutputs(file, 'preview-42').boundKeyCount).toBe(8);
    expect(
      extractPreviewOutputs({ 'preview-42': { public_worker_url: URL_ } }, 'preview-42').boundKeyCount,
    ).toBeUndefined();
    expect(
      extractPreviewOutputs({ 'preview-42': { bound_key_count: { value: 8, sensitive: true } } }, 'preview-42')
        .boundKeyCount,
    ).toBeUndefined();
    expect(extractPreviewOutputs({ 'preview-42': { bound_key_count: 0 } }, 'preview-42').boundKeyCount).toBeUndefined();
  });

  it('ignores URLs that only look like workers.dev', () => {
    expect(extractPreviewOutputs({ s: { u: 'https://evil.example/x.workers.dev' } }, 's').url).toBeUndefined();
  });
});

describe('renderPreviewComment', () => {
  it('carries the hidden marker, the URL and the key count', () => {
    const body = renderPreviewComment(
      { kind: 'deployed', outputs: { url: URL_, scriptName: 'zen-ai-router-worker-preview-42' }, keyCount: 3 },
      { prNumber: 42, headSha: '0123456789abcdef', runUrl: 'https://github.com/acme/x/actions/runs/1' },
    );
    expect(body.startsWith(`${PREVIEW_MARKER}\n`)).toBe(true);
    expect(body).toContain(`- URL: ${URL_}`);
    expect(body).toContain('- Gemini keys bound: 3');
    expect(body).toContain('deployed for `0123456`');
    expect(body).toContain('- Smoke test: _not run_');
  });

  it('shows the smoke test result', () => {
    const outputs = { url: URL_, scriptName: 'zen-ai-router-worker-preview-42' };
    const passed = renderPreviewComment(
      { kind: 'deployed', outputs, keyCount: 3, smoke: { passed: true, detail: 'GET /v1/models 200' } },
      { prNumber: 42 },
    );
    expect(passed).toContain('- Smoke test: passed (GET /v1/models 200)');
    const failed = renderPreviewComment(
      {
        kind: 'deployed',
        outputs,
        keyCount: 3,
        smoke: { passed: false, detail: 'GET /zen/status answered 404 (unknown_url)' },
      },
      { prNumber: 42 },
    );
    expect(failed).toContain(
      '- Smoke test: **failed** (GET /zen/status answered 404 (unknown_url)): the preview is deployed',
    );
  });

  it('says when the preview holds only the first keys of those configured', () => {
    const outputs = { url: URL_, scriptName: 'x' };
    expect(
      renderPreviewComment({ kind: 'deployed', outputs, keyCount: 8, configuredKeyCount: 20 }, { prNumber: 42 }),
    ).toContain('- Gemini keys bound: 8 (the first 8 of the 20 configured)\n');
    expect(
      renderPreviewComment({ kind: 'deployed', outputs, keyCount: 8, configuredKeyCount: 8 }, { prNumber: 42 }),
    ).toContain('- Gemini keys bound: 8\n');
  });

  it('says the preview is gone after destroy', () => {
    expect(renderPreviewComment({ kind: 'destroyed' }, { prNumber: 42 })).toMatch(/Preview `preview-42` is gone/);
  });

  it.each([
    [undefined, '`cdktf destroy` failed'],
    ['failure', '`cdktf destroy` failed'],
    ['cancelled', 'the destroy job was cancelled before it finished'],
    ['skipped', 'the destroy job did not run'],
  ] as const)(
    'destroy result %s: says it could NOT be destroyed, why, and how to finish the job',
    (destroyResult, why) => {
      const body = renderPreviewComment({ kind: 'destroy-failed', destroyResult }, { prNumber: 42 });
      expect(body).toContain('### Preview `preview-42` could NOT be destroyed');
      expect(body).toContain(`The pull request was closed but ${why}`);
      expect(body).toContain('`npx cdktf destroy preview-42`');
    },
  );
});

describe('sticky comment against a fake GitHub API', () => {
  let gh: FakeGitHub;
  let dir: string;
  let outputsFile: string;
  const env = (extra: Record<string, string>): NodeJS.ProcessEnv => ({
    GITHUB_API_URL: gh.url,
    GITHUB_TOKEN: 'ghs_test-token',
    GITHUB_REPOSITORY: REPO,
    PR_NUMBER: '42',
    ...extra,
  });

  beforeAll(async () => {
    gh = await startFakeGitHub(REPO);
    dir = mkdtempSync(join(tmpdir(), 'preview-comment-'));
    outputsFile = join(dir, 'outputs.json');
  });
  afterAll(async () => {
    await gh.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates one comment, then edits that same comment on every push, past a page of other comments', async () => {
    // other people's comments, including a human quoting the marker: never touched
    gh.comments.set(42, [
      { id: 1, body: 'LGTM', user: { login: 'alice', type: 'User' } },
      { id: 2, body: `quoting ${PREVIEW_MARKER}`, user: { login: 'bob', type: 'User' } },
      { id: 3, body: 'ci bot noise', user: { login: 'other[bot]', type: 'Bot' } },
    ]);
    const summary = join(dir, 'summary.md');
    writeFileSync(summary, '');

    const deployed = { PREVIEW_URL: URL_, SCRIPT_NAME: 'zen-ai-router-worker-preview-42' };
    await expect(
      main(['deployed'], env({ ...deployed, KEY_COUNT: '4', HEAD_SHA: 'aaaaaaa1', GITHUB_STEP_SUMMARY: summary })),
    ).resolves.toBe('created');
    await expect(main(['deployed'], env({ ...deployed, KEY_COUNT: '5', HEAD_SHA: 'bbbbbbb2' }))).resolves.toBe(
      'updated',
    );

    const ours = (gh.comments.get(42) ?? []).filter((c) => c.body.startsWith(PREVIEW_MARKER));
    expect(ours).toHaveLength(1);
    expect(ours[0]?.body).toContain('- Gemini keys bound: 5');
    expect(ours[0]?.body).toContain('`bbbbbbb`');
    expect(gh.comments.get(42)?.find((c) => c.id === 2)?.body).toBe(`quoting ${PREVIEW_MARKER}`);
    expect(readFileSync(summary, 'utf8')).toContain(URL_);
    expect(gh.requests.every((r) => r.auth === 'Bearer ghs_test-token')).toBe(true);
    // the second page was fetched: the bot comment sits after two pages of 2
    expect(gh.requests.some((r) => r.path.includes('page=2'))).toBe(true);

    await expect(main(['destroy-failed'], env({}))).resolves.toBe('updated');
    expect((gh.comments.get(42) ?? []).filter((c) => c.body.startsWith(PREVIEW_MARKER))[0]?.body).toMatch(
      /could NOT be destroyed/,
    );
    await expect(main(['destroyed'], env({}))).resolves.toBe('updated');
    expect((gh.comments.get(42) ?? []).filter((c) => c.body.startsWith(PREVIEW_MARKER))[0]?.body).toMatch(/is gone/);
  });

  it('takes the smoke result from SMOKE / SMOKE_DETAIL, dropping a detail that is not paths and statuses', async () => {
    const base = { PR_NUMBER: '45', PREVIEW_URL: URL_, SCRIPT_NAME: 'x', KEY_COUNT: '2' };
    await main(
      ['deployed'],
      env({ ...base, SMOKE: 'failed', SMOKE_DETAIL: 'GET /v1/models answered 502 (upstream_unreachable)' }),
    );
    expect(gh.comments.get(45)?.[0]?.body).toContain(
      '- Smoke test: **failed** (GET /v1/models answered 502 (upstream_unreachable))',
    );
    await main(['deployed'], env({ ...base, SMOKE: 'passed', SMOKE_DETAIL: 'see [here](https://evil.example)' }));
    expect(gh.comments.get(45)?.[0]?.body).toContain('- Smoke test: passed\n');
    await main(['deployed'], env({ ...base, SMOKE: 'maybe' }));
    expect(gh.comments.get(45)?.[0]?.body).toContain('- Smoke test: _not run_');
  });

  it('drops a URL or script name that is not what a preview produces before putting it in markdown', async () => {
    await main(
      ['deployed'],
      env({ PR_NUMBER: '43', PREVIEW_URL: 'https://evil.example/](x)', SCRIPT_NAME: '`x` [y](z)', KEY_COUNT: '1' }),
    );
    const body = gh.comments.get(43)?.[0]?.body ?? '';
    expect(body).not.toContain('evil.example');
    expect(body).not.toContain('[y](z)');
    expect(body).toContain('- Worker script: _unknown_');
  });

  it('extract turns the outputs file into single-line step outputs, the key count falling back to the collected one', async () => {
    const ghOutput = join(dir, 'gh-output');
    writeFileSync(ghOutput, '');
    writeFileSync(
      outputsFile,
      JSON.stringify({
        'preview-42': { public_worker_name: 'zen-ai-router-worker-preview-42', public_worker_url: URL_ },
      }),
    );
    await main(['extract'], env({ OUTPUTS_FILE: outputsFile, GITHUB_OUTPUT: ghOutput, COLLECTED_KEY_COUNT: '20' }));
    expect(readFileSync(ghOutput, 'utf8')).toBe(
      `url=${URL_}\nscript-name=zen-ai-router-worker-preview-42\nkey-count=20\n`,
    );
  });

  it('extract prefers the bound_key_count output: a capped preview holds fewer keys than were collected', async () => {
    const ghOutput = join(dir, 'gh-output-bound');
    writeFileSync(ghOutput, '');
    writeFileSync(outputsFile, JSON.stringify({ 'preview-42': { public_worker_url: URL_, bound_key_count: 8 } }));
    await main(['extract'], env({ OUTPUTS_FILE: outputsFile, GITHUB_OUTPUT: ghOutput, COLLECTED_KEY_COUNT: '20' }));
    expect(readFileSync(ghOutput, 'utf8')).toContain('\nkey-count=8\n');

    // and the comment shows both numbers
    await main(
      ['deployed'],
      env({ PR_NUMBER: '46', PREVIEW_URL: URL_, SCRIPT_NAME: 'x', KEY_COUNT: '8', CONFIGURED_KEY_COUNT: '20' }),
    );
    expect(gh.comments.get(46)?.[0]?.body).toContain('- Gemini keys bound: 8 (the first 8 of the 20 configured)');
  });

  it('pr-open reports whether the pull request is still open', async () => {
    const ghOutput = join(dir, 'gh-output-open');
    writeFileSync(ghOutput, '');
    gh.pulls.set(42, 'open');
    gh.pulls.set(44, 'closed');
    await expect(main(['pr-open'], env({ GITHUB_OUTPUT: ghOutput }))).resolves.toBe('open');
    await expect(main(['pr-open'], env({ PR_NUMBER: '44', GITHUB_OUTPUT: ghOutput }))).resolves.toBe('closed');
    expect(readFileSync(ghOutput, 'utf8')).toBe('open=true\nopen=false\n');
  });

  it('does not add a "gone" comment to a pull request that never had a preview', async () => {
    await expect(main(['destroyed'], env({ PR_NUMBER: '7' }))).resolves.toBe('skipped');
    expect(gh.comments.get(7)).toBeUndefined();
  });

  it('reports a destroy that did not complete even when the pull request has no comment yet', async () => {
    await expect(main(['destroy-failed'], env({ PR_NUMBER: '8', DESTROY_RESULT: 'cancelled' }))).resolves.toBe(
      'created',
    );
    expect(gh.comments.get(8)?.[0]?.body).toMatch(/could NOT be destroyed[\s\S]*the destroy job was cancelled/);
    await expect(main(['destroy-failed'], env({ PR_NUMBER: '8', DESTROY_RESULT: 'success' }))).rejects.toThrow(
      'DESTROY_RESULT must be one of failure, cancelled, skipped (or unset), got "success"',
    );
  });

  it('rejects a bad state or PR number with a message naming it', async () => {
    await expect(main(['deleted'], env({}))).rejects.toThrow(
      /one of pr-open, extract, deployed, failed, destroyed, destroy-failed; got "deleted"/,
    );
    await expect(main(['failed'], env({ PR_NUMBER: 'abc' }))).rejects.toThrow(
      /PR_NUMBER must be a positive integer, got "abc"/,
    );
    await expect(main(['deployed'], env({}))).rejects.toThrow(/KEY_COUNT is required/);
    await expect(main(['deployed'], env({ KEY_COUNT: '1; rm' }))).rejects.toThrow(
      /KEY_COUNT must be a positive integer, got "1; rm"/,
    );
  });

  it('surfaces API failures with the status', async () => {
    const client = new GitHubClient({ apiUrl: gh.url, token: 't', repo: REPO });
    await expect(client.request('PATCH', `/repos/${REPO}/issues/comments/999999`, { body: 'x' })).rejects.toThrow(
      /failed with 404/,
    );
    expect(() => new GitHubClient({ apiUrl: gh.url, token: 't', repo: 'no-slash' })).toThrow(
      /owner\/name", got "no-slash"/,
    );
  });
});
