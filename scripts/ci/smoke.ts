/**
 * Smoke test of a gateway right after `cdktf deploy`: calls the public worker the way a client would and fails the
 * step unless every check answers 200 with a JSON body, and, on the orchestrator, unless every shard answered its part
 * of `GET /zen/status` (the orchestrator answers 200 whatever its shards do, and marks the silent ones in the body).
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
import { STATUS_PATH } from '../../workers/shared/contract';
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
  { path: STATUS_PATH, proves: 'the status view answers; on the orchestrator, from every shard' },
];

/** The status path, whose body is read: see {@link shardPage}. */
export { STATUS_PATH };

/**
 * Most pages of `/zen/status?from=<shard>` one attempt reads. The orchestrator asks at most 31 shards per request and
 * marks the rest `not_queried`; 40 pages cover more shards than an account can hold workers.
 */
export const MAX_STATUS_PAGES = 40;

/** How many silent shards the one-line detail names before it just counts the rest. */
const LISTED_SHARDS = 10;

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
  /**
   * The public worker is the orchestrator (prod), so its status view must list its shards; a preview worker's own
   * view has none.
   * @default false
   */
  readonly requireShards?: boolean;
}

const ERROR_CODE = /^[a-z0-9_]{1,64}$/;

/** The orchestrator's reasons for a shard without a view (workers/orchestrator/status.ts); anything else is not shown. */
const SHARD_ERROR = /^(timeout|shard_error|status [1-5][0-9]{2})$/;

type Outcome = Omit<CheckResult, 'path' | 'attempts'>;

/** One request's outcome, with the body when it passed (a 200 with a JSON object). */
type Answer = Outcome & { readonly body?: Readonly<Record<string, unknown>> };

/** One request; never throws. The password goes in the header the OpenAI routes read. */
async function request(options: SmokeOptions, path: string): Promise<Answer> {
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
      ? { status: 200, ok: true, detail: '200', body: body as Record<string, unknown> }
      : { status: 200, ok: false, detail: 'answered 200 without a JSON object' };
  }
  // the gateway's own errors carry a code; Google's and Cloudflare's may not, and their text is not repeated
  const code = (body as { error?: { code?: unknown } } | undefined)?.error?.code;
  const suffix = typeof code === 'string' && ERROR_CODE.test(code) ? ` (${code})` : '';
  const redirect = res.status >= 300 && res.status < 400 ? ' (redirect, not followed)' : '';
  return { status: res.status, ok: false, detail: `answered ${res.status}${suffix}${redirect}` };
}

/** What one page of the orchestrator's status view says about its shards. */
export interface ShardPage {
  /** shards asked on this page that answered with a view */
  readonly answered: readonly number[];
  /** shards asked on this page that did not, each with the orchestrator's reason (or `unknown` when unreadable) */
  readonly silent: readonly { readonly shard: number; readonly reason: string }[];
  /** shards the orchestrator did not ask on this page (over its per-request limit) */
  readonly notQueried: readonly number[];
}

/**
 * Reads the `shards` of an orchestrator's status view, or undefined when the body has none (a shard's or a preview
 * worker's own view). A list that is not one, or an entry without a shard index, makes the page `malformed`; an entry
 * with neither a view nor a known reason is a shard that did not answer (reason `unknown`), never one that did.
 */
export function shardPage(body: Readonly<Record<string, unknown>>): ShardPage | 'malformed' | undefined {
  if (!('shards' in body)) return undefined;
  if (!Array.isArray(body.shards)) return 'malformed';
  const answered: number[] = [];
  const silent: { shard: number; reason: string }[] = [];
  const notQueried: number[] = [];
  for (const entry of body.shards as unknown[]) {
    const { shard, status, error } = (entry !== null && typeof entry === 'object' ? entry : {}) as Record<
      string,
      unknown
    >;
    if (typeof shard !== 'number' || !Number.isSafeInteger(shard) || shard < 0) return 'malformed';
    if (error === 'not_queried') notQueried.push(shard);
    else if (error === undefined && status !== null && typeof status === 'object') answered.push(shard);
    else silent.push({ shard, reason: typeof error === 'string' && SHARD_ERROR.test(error) ? error : 'unknown' });
  }
  return { answered, silent, notQueried };
}

/** `answered 200, but 2 of 4 shards did not answer: shard 1 (timeout), shard 3 (status 500)` */
export function silentShardsDetail(silent: readonly { shard: number; reason: string }[], total: number): string {
  const listed = silent.slice(0, LISTED_SHARDS).map((s) => `shard ${s.shard} (${s.reason})`);
  const more = silent.length > LISTED_SHARDS ? ` and ${silent.length - LISTED_SHARDS} more` : '';
  return `answered 200, but ${silent.length} of ${total} shards did not answer: ${listed.join(', ')}${more}`;
}

/**
 * One attempt of the status check: the first page, then `?from=<shard>` for the shards a page did not ask, until every
 * shard was asked once. Fails when any shard did not answer, or (with `requireShards`) when there is no shard list.
 */
async function statusAttempt(options: SmokeOptions): Promise<Outcome> {
  const answered = new Set<number>();
  const silent = new Map<number, string>();
  let from = 0;
  for (let page = 0; page < MAX_STATUS_PAGES; page++) {
    const path = from === 0 ? STATUS_PATH : `${STATUS_PATH}?from=${from}`;
    const { body, ...outcome } = await request(options, path);
    const where = from === 0 ? '' : ` on ?from=${from}`;
    if (!outcome.ok || body === undefined) return { ...outcome, detail: `${outcome.detail}${where}` };
    const shards = shardPage(body);
    if (shards === undefined) {
      return options.requireShards
        ? {
            status: 200,
            ok: false,
            detail: "answered 200 without the list of shards of the orchestrator's status view",
          }
        : outcome;
    }
    if (shards === 'malformed')
      return { status: 200, ok: false, detail: `answered 200 with an unreadable shard list${where}` };
    for (const shard of shards.answered) answered.add(shard);
    for (const { shard, reason } of shards.silent) silent.set(shard, reason);
    const asked = [...shards.answered, ...shards.silent.map((s) => s.shard)];
    if (asked.length === 0 && page === 0 && shards.notQueried.length === 0) {
      return { status: 200, ok: false, detail: 'answered 200 with no shards' };
    }
    // shards below `from` were not asked because an earlier page covered them; the next page starts after this one
    const next = shards.notQueried.filter((shard) => shard > Math.max(from - 1, ...asked)).sort((a, b) => a - b)[0];
    if (next === undefined) {
      if (silent.size === 0) return { status: 200, ok: true, detail: '200' };
      const list = [...silent].sort(([a], [b]) => a - b).map(([shard, reason]) => ({ shard, reason }));
      return { status: 200, ok: false, detail: silentShardsDetail(list, answered.size + silent.size) };
    }
    if (next <= from) return { status: 200, ok: false, detail: `answered 200, but ?from=${from} asked no new shard` };
    from = next;
  }
  return { status: 200, ok: false, detail: `answered 200, but ${MAX_STATUS_PAGES} pages did not cover every shard` };
}

/** One attempt of a check; never throws. */
async function attempt(options: SmokeOptions, path: string): Promise<Outcome> {
  if (path === STATUS_PATH) return statusAttempt(options);
  const { body: _body, ...outcome } = await request(options, path);
  return outcome;
}

/** Runs every check in order, each retried on the schedule until it passes. */
export async function runSmoke(options: SmokeOptions): Promise<SmokeResult> {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const delays = options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
  const checks: CheckResult[] = [];
  for (const check of SMOKE_CHECKS) {
    let attempts = 0;
    let last: Outcome;
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
  // prod's public worker is the orchestrator; a preview worker is a shard of its own and lists none
  const result = await runSmoke({ baseUrl, pass, fetch: io.fetch, sleep: io.sleep, requireShards: stack === 'prod' });
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
