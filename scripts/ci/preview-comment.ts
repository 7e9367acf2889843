/**
 * Keeps ONE comment per pull request up to date with the state of its preview worker.
 *
 *   tsx scripts/ci/preview-comment.ts <pr-open|extract|deployed|failed|destroyed|destroy-failed>   (see {@link main})
 *
 * Env: PR_NUMBER always; GITHUB_TOKEN, GITHUB_REPOSITORY, GITHUB_API_URL for API calls; optional HEAD_SHA, RUN_URL,
 * GITHUB_STEP_SUMMARY. The comment holds the URL, the script name, the NUMBER of keys the preview holds and the smoke
 * test's verdict: the outputs file is written without sensitive outputs (cdktf's default) and this script reads
 * nothing else.
 */
import { appendFileSync, readFileSync } from 'node:fs';
import { clientFromEnv, requireEnv } from './github';

/** Hidden marker that identifies the sticky comment. */
export const PREVIEW_MARKER = '<!-- cf-deploy:preview-comment -->';

export interface PreviewOutputs {
  readonly url: string | undefined;
  readonly scriptName: string | undefined;
  /** the preview stack's `bound_key_count` output: it may hold fewer keys than were collected (PREVIEW_KEY_LIMIT) */
  readonly boundKeyCount?: number | undefined;
}

const WORKERS_DEV_URL = /^https:\/\/[a-z0-9-]+(?:\.[a-z0-9-]+)*\.workers\.dev\/?$/i;

/**
 * Finds the preview URL and script name in a `cdktf deploy --outputs-file` JSON. The file nests outputs by stack and
 * construct id (today `public_worker_url` and `public_worker_name`, see constructs/gateway-stack.ts), and the ids
 * belong to the infrastructure code, so this matches loosely: the URL is the `https://...workers.dev` value, the
 * script name an output whose key mentions "name" and "worker" or "script", else the first label of the URL's host
 * (workers.dev URLs are `<script>.<account-subdomain>.workers.dev`), and the bound key count a positive integer
 * output whose key mentions "bound" and "key" (`bound_key_count`).
 */
export function extractPreviewOutputs(outputs: unknown, stack: string): PreviewOutputs {
  const root = isRecord(outputs) && stack in outputs ? outputs[stack] : outputs;
  const leaves: { key: string; value: string }[] = [];
  const counts: { key: string; value: number }[] = [];
  const walk = (node: unknown, key: string): void => {
    if (typeof node === 'string') {
      leaves.push({ key, value: node });
    } else if (typeof node === 'number') {
      counts.push({ key, value: node });
    } else if (isRecord(node)) {
      // raw `terraform output -json` shape; a sensitive one is never used even if it slipped into the file
      if ('sensitive' in node && 'value' in node) {
        if (node.sensitive !== true) walk(node.value, key);
        return;
      }
      for (const [k, v] of Object.entries(node)) walk(v, k);
    }
  };
  walk(root, '');

  const url = leaves.find((l) => WORKERS_DEV_URL.test(l.value))?.value;
  const named = leaves.find(
    (l) => /script|worker/i.test(l.key) && /name/i.test(l.key) && /^[a-z0-9][a-z0-9_-]*$/i.test(l.value),
  );
  const fromUrl = url ? new URL(url).hostname.split('.')[0] : undefined;
  const bound = counts.find(
    (c) => /bound/i.test(c.key) && /key/i.test(c.key) && Number.isSafeInteger(c.value) && c.value > 0,
  );
  return { url, scriptName: named?.value ?? fromUrl, boundKeyCount: bound?.value };
}

/** What scripts/ci/smoke.ts said about the deployed preview; undefined when it did not run. */
export interface SmokeOutcome {
  readonly passed: boolean;
  /** paths and statuses, e.g. `GET /v1/models 200; GET /zen/status answered 404 (unknown_url)` */
  readonly detail: string | undefined;
}

export type PreviewState =
  | {
      readonly kind: 'deployed';
      readonly outputs: PreviewOutputs;
      /** keys the preview worker holds */
      readonly keyCount: number;
      /** keys collected from the secrets, when known; more than `keyCount` when the preview is capped */
      readonly configuredKeyCount?: number | undefined;
      readonly smoke?: SmokeOutcome | undefined;
    }
  | { readonly kind: 'failed' }
  | { readonly kind: 'destroyed' }
  | { readonly kind: 'destroy-failed'; readonly destroyResult?: DestroyResult | undefined };

/** `needs.destroy-preview.result` when it was not `success`. */
export const DESTROY_RESULTS = ['failure', 'cancelled', 'skipped'] as const;
export type DestroyResult = (typeof DESTROY_RESULTS)[number];

const DESTROY_FAILURE_TEXT: Record<DestroyResult, string> = {
  failure: '`cdktf destroy` failed',
  cancelled:
    'the destroy job was cancelled before it finished (a reopen of the pull request replaces a pending destroy)',
  skipped: 'the destroy job did not run',
};

export interface CommentContext {
  readonly prNumber: number;
  readonly headSha?: string | undefined;
  readonly runUrl?: string | undefined;
}

export function renderPreviewComment(state: PreviewState, ctx: CommentContext): string {
  const commit = ctx.headSha ? ` for \`${ctx.headSha.slice(0, 7)}\`` : '';
  const run = ctx.runUrl ? ` ([workflow run](${ctx.runUrl}))` : '';
  const lines = [PREVIEW_MARKER];
  switch (state.kind) {
    case 'deployed': {
      const { url, scriptName } = state.outputs;
      lines.push(
        `### Preview \`preview-${ctx.prNumber}\` deployed${commit}`,
        '',
        `- URL: ${url ?? '_unknown: set the `WORKERS_DEV_SUBDOMAIN` repository variable to get it here_'}`,
        `- Worker script: ${scriptName ? `\`${scriptName}\`` : '_unknown_'}`,
        `- Gemini keys bound: ${state.keyCount}${
          state.configuredKeyCount !== undefined && state.configuredKeyCount > state.keyCount
            ? ` (the first ${state.keyCount} of the ${state.configuredKeyCount} configured)`
            : ''
        }`,
        `- Smoke test: ${renderSmoke(state.smoke)}`,
        '',
        `Requests need the \`PASS\` password. This comment is updated on every push and when the pull request closes.${run}`,
      );
      break;
    }
    case 'failed':
      lines.push(
        `### Preview \`preview-${ctx.prNumber}\` failed to deploy${commit}`,
        '',
        `The previous preview, if any, may still be running. See the logs${run}.`,
      );
      break;
    case 'destroyed':
      lines.push(
        `### Preview \`preview-${ctx.prNumber}\` is gone`,
        '',
        `The pull request was closed and the preview worker was destroyed${run}.`,
      );
      break;
    case 'destroy-failed':
      lines.push(
        `### Preview \`preview-${ctx.prNumber}\` could NOT be destroyed`,
        '',
        `The pull request was closed but ${DESTROY_FAILURE_TEXT[state.destroyResult ?? 'failure']}, so the preview worker ` +
          `may still be running with every key. Re-run the workflow's destroy job${run}, or run ` +
          `\`npx cdktf destroy preview-${ctx.prNumber}\` with the preview's credentials.`,
      );
      break;
  }
  return `${lines.join('\n')}\n`;
}

function renderSmoke(smoke: SmokeOutcome | undefined): string {
  if (smoke === undefined) return '_not run_';
  const detail = smoke.detail ? ` (${smoke.detail})` : '';
  return smoke.passed
    ? `passed${detail}`
    : `**failed**${detail}: the preview is deployed but does not answer as it should`;
}

/** smoke.ts writes paths, statuses and error codes only; anything else is dropped before it reaches markdown */
const SMOKE_DETAIL = /^[A-Za-z0-9 /_.;:()-]{1,300}$/;

const COMMANDS = ['pr-open', 'extract', 'deployed', 'failed', 'destroyed', 'destroy-failed'] as const;
type Command = (typeof COMMANDS)[number];
const isCommand = (value: string | undefined): value is Command =>
  (COMMANDS as readonly (string | undefined)[]).includes(value);

/**
 * CLI. The deploy and destroy jobs hold the Cloudflare and state credentials but no write token, so the work is split:
 * - `pr-open` (deploy job, holding the preview's concurrency group): `open=true|false` to GITHUB_OUTPUT. A push and
 *   a close race; checking under the group means a destroy that already ran is never followed by a fresh deploy.
 * - `extract` (deploy job): `url=`, `script-name=` and `key-count=` from OUTPUTS_FILE to GITHUB_OUTPUT, for the job
 *   outputs; the key count is the stack's `bound_key_count` output, else COLLECTED_KEY_COUNT.
 * - `deployed` | `failed` | `destroyed` | `destroy-failed` (comment job, `pull-requests: write`): upserts the comment
 *   from PREVIEW_URL, SCRIPT_NAME, KEY_COUNT (bound), CONFIGURED_KEY_COUNT and the smoke test's SMOKE / SMOKE_DETAIL; `destroy-failed` says why from DESTROY_RESULT (the destroy job's
 *   result: failure, cancelled or skipped).
 */
export async function main(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<string> {
  const [command] = argv;
  if (!isCommand(command)) {
    throw new Error(`first argument must be one of ${COMMANDS.join(', ')}; got "${command ?? ''}"`);
  }
  const prNumber = Number(requireEnv(env, 'PR_NUMBER'));
  if (!Number.isInteger(prNumber) || prNumber <= 0)
    throw new Error(`PR_NUMBER must be a positive integer, got "${env.PR_NUMBER}"`);

  if (command === 'pr-open') {
    const open = await clientFromEnv(env).isPullRequestOpen(prNumber);
    writeOutputs(env, { open: String(open) });
    return open ? 'open' : 'closed';
  }
  if (command === 'extract') return extract(env, prNumber);

  const body = renderPreviewComment(stateFrom(command, env), {
    prNumber,
    headSha: env.HEAD_SHA,
    runUrl: env.RUN_URL,
  });
  // A PR closed before any preview existed gets no new comment saying "gone"; a failed destroy is always reported,
  // since a worker may be up even when its comment is missing.
  const onlyIfExists = command === 'destroyed';
  const result = await clientFromEnv(env).upsertComment(prNumber, PREVIEW_MARKER, body, { onlyIfExists });
  if (env.GITHUB_STEP_SUMMARY) appendFileSync(env.GITHUB_STEP_SUMMARY, body.replace(PREVIEW_MARKER, ''));
  return result;
}

/** `extract`: the deploy's outputs file to step outputs; resolves to the URL for the log. */
function extract(env: NodeJS.ProcessEnv, prNumber: number): string {
  const outputs = extractPreviewOutputs(
    JSON.parse(readFileSync(requireEnv(env, 'OUTPUTS_FILE'), 'utf8')),
    `preview-${prNumber}`,
  );
  // collect-keys' count of KEY<n> secrets: what the preview holds unless the stack says it holds fewer
  const count = env.COLLECTED_KEY_COUNT ?? '';
  const collected = /^[1-9][0-9]*$/.test(count) ? count : '';
  const keyCount = outputs.boundKeyCount === undefined ? collected : String(outputs.boundKeyCount);
  writeOutputs(env, { url: outputs.url ?? '', 'script-name': outputs.scriptName ?? '', 'key-count': keyCount });
  return outputs.url ?? '(no url)';
}

/** The state a comment command reports, from the values the comment job was handed. */
function stateFrom(command: Exclude<Command, 'pr-open' | 'extract'>, env: NodeJS.ProcessEnv): PreviewState {
  if (command === 'deployed') return deployedState(env);
  if (command === 'destroy-failed') {
    const raw = env.DESTROY_RESULT || 'failure';
    if (!(DESTROY_RESULTS as readonly string[]).includes(raw)) {
      throw new Error(`DESTROY_RESULT must be one of ${DESTROY_RESULTS.join(', ')} (or unset), got "${raw}"`);
    }
    return { kind: command, destroyResult: raw as DestroyResult };
  }
  return { kind: command };
}

/** Re-validated here: the values crossed a job boundary and end up in markdown. */
function deployedState(env: NodeJS.ProcessEnv): PreviewState {
  const rawCount = requireEnv(env, 'KEY_COUNT');
  if (!/^[1-9][0-9]*$/.test(rawCount)) throw new Error(`KEY_COUNT must be a positive integer, got "${rawCount}"`);
  const url = env.PREVIEW_URL || undefined;
  return {
    kind: 'deployed',
    outputs: {
      url: url && WORKERS_DEV_URL.test(url) ? url : undefined,
      scriptName: /^[a-z0-9_-]+$/i.test(env.SCRIPT_NAME ?? '') ? env.SCRIPT_NAME : undefined,
    },
    keyCount: Number(rawCount),
    configuredKeyCount: /^[1-9][0-9]*$/.test(env.CONFIGURED_KEY_COUNT ?? '')
      ? Number(env.CONFIGURED_KEY_COUNT)
      : undefined,
    smoke:
      env.SMOKE === 'passed' || env.SMOKE === 'failed'
        ? {
            passed: env.SMOKE === 'passed',
            detail: SMOKE_DETAIL.test(env.SMOKE_DETAIL ?? '') ? env.SMOKE_DETAIL : undefined,
          }
        : undefined,
  };
}

/** Appends single-line `name=value` pairs to GITHUB_OUTPUT (values with a line break are refused). */
export function writeOutputs(env: NodeJS.ProcessEnv, outputs: Record<string, string>): void {
  const file = requireEnv(env, 'GITHUB_OUTPUT');
  for (const [name, value] of Object.entries(outputs)) {
    if (/[\r\n]/.test(value)) throw new Error(`output ${name} must be a single line`);
    appendFileSync(file, `${name}=${value}\n`);
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

if (require.main === module) {
  main(process.argv.slice(2), process.env).then(
    (result) => process.stdout.write(`preview comment ${result}\n`),
    (err: unknown) => {
      process.stderr.write(`preview-comment: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
