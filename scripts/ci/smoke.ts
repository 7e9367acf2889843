/**
 * Smoke test of a gateway right after `cdktf deploy`: calls the public worker the way a client would and fails the
 * step unless every check answers 200 with a JSON body.
 *
 *   tsx scripts/ci/smoke.ts
 *
 * Env: STACK (`prod` or `preview-<n>`); OUTPUTS_FILE (the deploy's `--outputs-file`, where the workers.dev URL is read);
 * GATEWAY_PASS (the password, sent only to that URL and never printed); optional GITHUB_OUTPUT (`smoke=passed|failed`
 * and a one-line `smoke-detail` naming paths and statuses only, for the PR comment) and GITHUB_STEP_SUMMARY (a table).
 *
 * A fresh deploy can take a few seconds to answer everywhere (a new script, a workers.dev route just switched on), so
 * each check is retried on a fixed schedule before it counts as failed; times and sleeping are injected for tests.
 */
import { appendFileSync, readFileSync } from 'node:fs';
import { requireEnv } from './github';
import { extractPreviewOutputs, writeOutputs } from './preview-comment';

export interface SmokeCheck {
  readonly path: string;
  /** what a 200 here proves, for the summary */
  readonly proves: string;
}

/** Both with the password: without it each would be a 401, which says nothing about the deploy. */
export const SMOKE_CHECKS: readonly SmokeCheck[] = [
  { path: '/v1/models', proves: 'password, routing to a shard and one key reach Google' },
  { path: '/zen/status', proves: 'every shard answers the status view' },
];

/** Waits before attempts 2, 3, ...: about a minute in all, long enough for a new workers.dev route to answer. */
export const DEFAULT_RETRY_DELAYS_MS: readonly number[] = [2_000, 4_000, 8_000, 16_000, 30_000];
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

export interface CheckResult {
  readonly path: string;
  /** HTTP status of the last attempt; undefined when nothing answered */
  readonly status: number | undefined;
  readonly ok: boolean;
  /** paths, statuses and Gateway error codes only: it ends up in a PR comment */
  readonly detail: string;
  readonly attempts: number;
}

export interface SmokeResult {
  readonly ok: boolean;
  readonly checks: readonly CheckResult[];
}

export interface SmokeOptions {
  /** origin of the public worker, e.g. `https://zen-ai-router-orchestrator.acme.workers.dev` */
  readonly baseUrl: string;
  readonly pass: string;
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** @default setTimeout-based */
  readonly sleep?: (ms: number) => Promise<void>;
  /** @default {@link DEFAULT_RETRY_DELAYS_MS} */
  readonly retryDelaysMs?: readonly number[];
  /** @default {@link DEFAULT_REQUEST_TIMEOUT_MS} */
  readonly requestTimeoutMs?: number;
}

const ERROR_CODE = /^[a-z0-9_]{1,64}$/;

/** One request; never throws. The password goes in the header the OpenAI routes read. */
async function attempt(options: SmokeOptions, path: string): Promise<Omit<CheckResult, 'path' | 'attempts'>> {
  const doFetch = options.fetch ?? fetch;
  const timeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  let res: Response;
  try {
    res = await doFetch(new URL(path, options.baseUrl), {
      headers: { authorization: `Bearer ${options.pass}`, accept: 'application/json' },
      // a redirect could carry the password to another host; the gateway never redirects
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    const err = error as { name?: unknown; cause?: { code?: unknown } };
    if (err.name === 'TimeoutError')
      return { status: undefined, ok: false, detail: `no answer within ${timeoutMs / 1000} s` };
    const code =
      typeof err.cause?.code === 'string' && /^[A-Z_]+$/.test(err.cause.code) ? err.cause.code : 'network error';
    return { status: undefined, ok: false, detail: `no answer (${code})` };
  }
  const text = await res.text().catch(() => '');
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (res.status === 200) {
    const isObject = body !== null && typeof body === 'object' && !Array.isArray(body);
    return isObject
      ? { status: 200, ok: true, detail: '200' }
      : { status: 200, ok: false, detail: 'answered 200 without a JSON object' };
  }
  // the gateway's own errors carry a code; Google's and Cloudflare's may not, and their text is not repeated
  const code = (body as { error?: { code?: unknown } } | undefined)?.error?.code;
  const suffix = typeof code === 'string' && ERROR_CODE.test(code) ? ` (${code})` : '';
  const redirect = res.status >= 300 && res.status < 400 ? ' (redirect, not followed)' : '';
  return { status: res.status, ok: false, detail: `answered ${res.status}${suffix}${redirect}` };
}

/** Runs every check in order, each retried on the schedule until it passes. */
export async function runSmoke(options: SmokeOptions): Promise<SmokeResult> {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const delays = options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
  const checks: CheckResult[] = [];
  for (const check of SMOKE_CHECKS) {
    let attempts = 0;
    let last: Omit<CheckResult, 'path' | 'attempts'>;
    for (;;) {
      attempts++;
      last = await attempt(options, check.path);
      // one delay before each retry: when they run out, so do the attempts
      const delay = delays[attempts - 1];
      if (last.ok || delay === undefined) break;
      await sleep(delay);
    }
    checks.push({ path: check.path, attempts, ...last });
  }
  return { ok: checks.every((c) => c.ok), checks };
}

/** One line for a step output and the PR comment: `GET /v1/models 200; GET /zen/status answered 404 (unknown_url)`. */
export function smokeDetail(result: SmokeResult): string {
  return result.checks.map((c) => `GET ${c.path} ${c.detail}`).join('; ');
}

export function renderSmokeSummary(stack: string, baseUrl: string, result: SmokeResult): string {
  const rows = result.checks.map((c) => {
    const check = SMOKE_CHECKS.find((k) => k.path === c.path);
    const outcome = c.ok ? c.detail : `**${c.detail}**${c.attempts > 1 ? ` (after ${c.attempts} attempts)` : ''}`;
    return `| \`GET ${c.path}\` | ${outcome} | ${check?.proves ?? ''} |`;
  });
  return [
    `### Smoke test of \`${stack}\`: ${result.ok ? 'passed' : 'FAILED'}`,
    '',
    `${baseUrl}, with the password`,
    '',
    '| check | result | a 200 means |',
    '|---|---|---|',
    ...rows,
    '',
    result.ok
      ? 'The deployed gateway answers.'
      : "The deploy itself finished, but the gateway does not answer as it should: look at the workers' logs " +
        '(Workers & Pages → the worker → Observability), or re-run this job once to rule out a slow rollout.',
    '',
  ].join('\n');
}

interface Io {
  readonly fetch?: typeof fetch;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly stdout: (line: string) => void;
}

/** CLI; resolves to the exit code. */
export async function main(env: NodeJS.ProcessEnv, io: Io): Promise<number> {
  const stack = requireEnv(env, 'STACK');
  if (!/^(prod|preview-[1-9][0-9]*)$/.test(stack))
    throw new Error(`STACK must be prod or preview-<pr number>, got "${stack}"`);
  const pass = requireEnv(env, 'GATEWAY_PASS');
  const outputs: unknown = JSON.parse(readFileSync(requireEnv(env, 'OUTPUTS_FILE'), 'utf8'));
  // only an https://<name>.<sub>.workers.dev URL passes extraction, so the password cannot be sent anywhere else
  const { url } = extractPreviewOutputs(outputs, stack);
  const report = (result: 'passed' | 'failed', detail: string): void => {
    if (env.GITHUB_OUTPUT) writeOutputs(env, { smoke: result, 'smoke-detail': detail });
  };
  if (url === undefined) {
    const message =
      `the ${stack} outputs hold no workers.dev URL (public_worker_url stays empty until WORKERS_DEV_SUBDOMAIN is set), ` +
      "so nothing could be called: set the WORKERS_DEV_SUBDOMAIN variable to the account's workers.dev subdomain";
    io.stdout(`::error title=Smoke test::${message}`);
    if (env.GITHUB_STEP_SUMMARY)
      appendFileSync(env.GITHUB_STEP_SUMMARY, `### Smoke test of \`${stack}\`: FAILED\n\n${message}.\n`);
    report('failed', 'not run: no workers.dev URL (set WORKERS_DEV_SUBDOMAIN)');
    return 1;
  }
  const baseUrl = url.replace(/\/$/, '');
  const result = await runSmoke({ baseUrl, pass, fetch: io.fetch, sleep: io.sleep });
  const detail = smokeDetail(result);
  if (env.GITHUB_STEP_SUMMARY) appendFileSync(env.GITHUB_STEP_SUMMARY, renderSmokeSummary(stack, baseUrl, result));
  report(result.ok ? 'passed' : 'failed', detail);
  io.stdout(
    result.ok ? `smoke test of ${stack} passed: ${detail}` : `::error title=Smoke test of ${stack} failed::${detail}`,
  );
  return result.ok ? 0 : 1;
}

if (require.main === module) {
  main(process.env, { stdout: (line) => process.stdout.write(`${line}\n`) }).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`smoke: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
