/**
 * `GET /zen/status` on the orchestrator: asks every shard for its own status view, in parallel and with the client's
 * headers (the orchestrator holds no password; each shard checks it), and answers one JSON object with each shard's
 * view under its index and its keys' global numbers. Never retried and never drawn at random: a status view that
 * skipped or doubled shards would be no view at all.
 *
 * @module
 */
import { parseJsonObject } from '../shared/json';
import { STATUS_PATH } from '../shared/contract';
import { corsHeaders } from '../shared/cors';
import { jsonError, jsonResponse } from '../shared/http';
import { REQUEST_ID_HEADER, requestIdOf } from '../shared/request-id';
import type { KeyLayout, LayoutShard } from '../shared/key-layout';
import type { BoundBackend } from './backends';
import type { OrchestratorLogLine, RouteDeps } from './route-context';
import { shardWeights } from './backends';
import { poolWeights } from './weights';

// the contract defines it; re-exported so the handler routes on it with the status module's other names
export { STATUS_PATH };

/** How long a shard has to answer its status, headers and body; a status view must come back while someone waits. */
export const STATUS_TIMEOUT_MS = 3_000;

/**
 * Most shards one status request asks. Each call through a service binding is a Worker invocation and a subrequest:
 * Cloudflare allows 32 invocations per request (this worker's own included) and 50 subrequests on Workers Free.
 */
export const MAX_STATUS_SHARDS = 31;

/** Why a shard's entry holds no status view. */
export type ShardStatusError = 'timeout' | 'shard_error' | 'not_queried' | `status ${number}`;

export interface ShardStatusEntry {
  /** n of `BACKEND_SERVICE_<n>` */
  readonly shard: number;
  /** the shard's entry in `SHARD_KEY_COUNTS`; absent when those counts are not usable */
  readonly keyCount?: number;
  /**
   * global number of the shard's `KEY1` (its `KEY<n>` is global key `firstKey + n - 1`); absent with `keyCount`, and
   * when the keys' projects place them out of order (then `globalKeys` says)
   */
  readonly firstKey?: number;
  /** with `KEY_PROJECTS`: the global number of each of the shard's keys, `KEY1` first */
  readonly globalKeys?: readonly number[];
  /** with `KEY_PROJECTS`: the project of each of the shard's keys, `KEY1` first */
  readonly projects?: readonly string[];
  /** the shard's own answer, each key entry with its `globalKey` added */
  readonly status?: unknown;
  readonly error?: ShardStatusError;
}

export interface GatewayStatus {
  /** ISO-8601 time of the answer */
  readonly time: string;
  readonly scope: 'isolate';
  readonly note: string;
  /** shards bound, queried, and answered with a status view */
  readonly shardCount: number;
  readonly queried: number;
  readonly answered: number;
  /** set when `SHARD_KEY_COUNTS` was missing or malformed, so global key numbers are unknown */
  readonly shardKeyCounts?: 'missing' | 'malformed';
  /** with `KEY_PROJECTS`: the pool's capacity in Google's terms, e.g. `20 keys in 11 projects` */
  readonly capacity?: string;
  /** set when some shards were not asked: which, why, and how to see them */
  readonly notQueried?: string;
  readonly shards: readonly ShardStatusEntry[];
}

const NOTE =
  "Each shard's view is that of the shard isolate that answered: Cloudflare runs many isolates of a worker, each with its own cooldowns, removals and counters.";

/** What one shard answered: its status and body, or why there is none. */
export type ShardAnswer =
  | { readonly kind: 'answered'; readonly status: number; readonly body: string; readonly contentType: string | null }
  | { readonly kind: 'timeout' }
  | { readonly kind: 'threw' }
  | { readonly kind: 'not-queried' };

/**
 * The shard's status view with `globalKey` beside each key's local `key`, when the global numbers are known: from
 * the layout (with the key's `project`), or from the first global number.
 */
function withGlobalKeys(
  status: Record<string, unknown>,
  firstKey: number | undefined,
  placed?: LayoutShard,
): Record<string, unknown> {
  if ((firstKey === undefined && placed === undefined) || !Array.isArray(status.keys)) return status;
  const keys = status.keys.map((entry: unknown) => {
    if (!entry || typeof entry !== 'object') return entry;
    const local = (entry as { key?: unknown }).key;
    if (!Number.isSafeInteger(local) || (local as number) <= 0) return entry;
    const n = local as number;
    if (placed === undefined) return { ...(entry as object), globalKey: (firstKey ?? 1) + n - 1 };
    const globalKey = placed.keys[n - 1];
    return globalKey === undefined ? entry : { ...(entry as object), globalKey, project: placed.projects[n - 1] };
  });
  return { ...status, keys };
}

/** The entry's numbers: from the layout when there is one, else from the key count and first global number. */
function entryNumbers(keyCount: number | undefined, firstKey: number | undefined, placed: LayoutShard | undefined) {
  if (placed !== undefined) {
    return { keyCount: placed.keys.length, globalKeys: placed.keys, projects: placed.projects };
  }
  return keyCount !== undefined && firstKey !== undefined ? { keyCount, firstKey } : {};
}

/** One shard's entry of the combined view; `placed` is the shard in the layout, when `KEY_PROJECTS` is bound. */
export function shardEntry(
  shard: number,
  answer: ShardAnswer,
  keyCount: number | undefined,
  firstKey: number | undefined,
  placed?: LayoutShard,
): ShardStatusEntry {
  const numbers = entryNumbers(keyCount, firstKey, placed);
  const failed = (error: ShardStatusError): ShardStatusEntry => ({ shard, ...numbers, error });
  switch (answer.kind) {
    case 'timeout':
      return failed('timeout');
    case 'threw':
      return failed('shard_error');
    case 'not-queried':
      return failed('not_queried');
    case 'answered': {
      if (answer.status !== 200) return failed(`status ${answer.status}`);
      const status = parseJsonObject(answer.body);
      return status ? { shard, ...numbers, status: withGlobalKeys(status, firstKey, placed) } : failed('shard_error');
    }
  }
}

/**
 * The combined view. `keyCounts` is `SHARD_KEY_COUNTS` as parsed, one count per binding position, or undefined
 * when unusable; shard n's keys are then global keys `sum(counts[0..n-1]) + 1 ...`. With `layout` (from
 * `KEY_PROJECTS`), each shard's global key numbers and projects come from it instead.
 */
export function gatewayStatus(
  now: number,
  answers: readonly { readonly shard: number; readonly answer: ShardAnswer }[],
  keyCounts: readonly number[] | undefined,
  fallback: 'missing' | 'malformed' | undefined,
  layout?: KeyLayout,
): GatewayStatus {
  const shards = answers.map(({ shard, answer }) => {
    const keyCount = keyCounts?.[shard];
    const firstKey = keyCounts === undefined ? undefined : keyCounts.slice(0, shard).reduce((a, b) => a + b, 0) + 1;
    return shardEntry(shard, answer, keyCount, keyCount === undefined ? undefined : firstKey, layout?.shards[shard]);
  });
  const skipped = answers.filter((a) => a.answer.kind === 'not-queried').map((a) => a.shard);
  const notQueried =
    skipped.length === 0
      ? {}
      : {
          notQueried:
            `shards ${skipped.join(', ')} were not asked: one request may invoke at most ${MAX_STATUS_SHARDS + 1} ` +
            `workers (this one included); ask ${STATUS_PATH}?from=<shard> for the shards from that index on.`,
        };
  return {
    time: new Date(now).toISOString(),
    scope: 'isolate',
    note: NOTE,
    shardCount: answers.length,
    queried: answers.filter((a) => a.answer.kind !== 'not-queried').length,
    answered: shards.filter((s) => s.status !== undefined).length,
    ...(fallback !== undefined ? { shardKeyCounts: fallback } : {}),
    ...(layout === undefined ? {} : { capacity: capacityLine(layout) }),
    ...notQueried,
    shards,
  };
}

/** `20 keys in 11 projects`: what the pool can do in Google's terms, where quotas are per project. */
export function capacityLine(layout: KeyLayout): string {
  const keys = layout.labels.length;
  return `${keys} key${keys === 1 ? '' : 's'} in ${layout.projectCount} project${layout.projectCount === 1 ? '' : 's'}`;
}

/**
 * The `from` query parameter: the lowest shard index to ask, so a gateway of more than {@link MAX_STATUS_SHARDS}
 * shards can be seen in pages. Absent means 0; undefined when it is not a shard index.
 */
export function parseFrom(params: URLSearchParams): number | undefined {
  const raw = params.get('from');
  if (raw === null) return 0;
  return /^(0|[1-9][0-9]{0,5})$/.test(raw) ? Number(raw) : undefined;
}

/** Asks one shard for its status, with a deadline on the whole exchange (headers and body). */
async function askShard(backend: BoundBackend['backend'], request: Request, deps: RouteDeps): Promise<ShardAnswer> {
  let cancel: () => void = () => undefined;
  const deadline = new Promise<ShardAnswer>((resolve) => {
    cancel = deps.startTimer(STATUS_TIMEOUT_MS, () => resolve({ kind: 'timeout' }));
  });
  const call = (async (): Promise<ShardAnswer> => {
    const response = await backend.fetch(request);
    const body = await response.text();
    return { kind: 'answered', status: response.status, body, contentType: response.headers.get('content-type') };
  })().catch((): ShardAnswer => ({ kind: 'threw' }));
  try {
    return await Promise.race([call, deadline]);
  } finally {
    cancel();
  }
}

/** The counts as a list aligned with binding positions, when `SHARD_KEY_COUNTS` is usable. */
function keyCountsOf(raw: unknown, backends: readonly BoundBackend[]): readonly number[] | undefined {
  const { fallback } = shardWeights(raw, backends);
  if (fallback !== undefined || typeof raw !== 'string') return undefined;
  return raw.split(',').map((entry) => Number(entry.trim()));
}

type StatusLog = (
  status: number,
  extra?: Pick<OrchestratorLogLine, 'error' | 'queried' | 'answered' | 'shardKeyCounts'>,
) => void;

/** Writes the status request's one log line, timed from `started`. */
function statusLog(deps: RouteDeps, requestId: string, started: number): StatusLog {
  return (status, extra = {}) => {
    const line: OrchestratorLogLine = {
      event: 'orchestrator_request',
      requestId,
      route: 'zen.status',
      status,
      ...extra,
      ms: deps.now() - started,
    };
    deps.log(JSON.stringify(line));
  };
}

/** Every bound shard's answer: the shards from `from` on (up to {@link MAX_STATUS_SHARDS}) asked at once. */
function askShards(
  request: Request,
  backends: readonly BoundBackend[],
  from: number,
  requestId: string,
  deps: RouteDeps,
): Promise<{ readonly shard: number; readonly answer: ShardAnswer }[]> {
  const headers = new Headers(request.headers);
  headers.set(REQUEST_ID_HEADER, requestId);
  const asked = backends.filter((b) => b.index >= from).slice(0, MAX_STATUS_SHARDS);
  return Promise.all(
    backends.map(async ({ index, backend }) => ({
      shard: index,
      answer: asked.some((b) => b.index === index)
        ? await askShard(backend, new Request(request.url, { method: 'GET', headers, redirect: 'manual' }), deps)
        : ({ kind: 'not-queried' } as const),
    })),
  );
}

/**
 * The first shard's refusal of the credential as it came, when no shard served it: 401 when every shard asked refused
 * it as wrong, or when some did while others took it for a client token (a token not yet on every shard); else 403
 * when any shard answered that the status is the operator's (a client token), so a client never sees the merged view.
 */
function credentialRefused(
  answers: readonly { readonly answer: ShardAnswer }[],
  idHeader: Record<string, string>,
): { readonly response: Response; readonly queried: number } | undefined {
  const queried = answers.filter((a) => a.answer.kind !== 'not-queried');
  const statuses = queried.map((a) => (a.answer.kind === 'answered' ? a.answer.status : undefined));
  const allUnauthorized = statuses.every((status) => status === 401);
  if (statuses.includes(200) || (!allUnauthorized && !statuses.includes(403))) return undefined;
  const refusal = statuses.includes(401) ? 401 : 403;
  const first = queried.map((a) => a.answer).find((a) => a.kind === 'answered' && a.status === refusal);
  if (first?.kind !== 'answered') return undefined;
  const headers = new Headers(idHeader);
  headers.set('content-type', first.contentType ?? 'application/json; charset=utf-8');
  return { response: new Response(first.body, { status: refusal, headers }), queried: queried.length };
}

/**
 * Answers `GET /zen/status`: every bound shard (up to {@link MAX_STATUS_SHARDS}) is asked at once with the client's
 * headers; a shard that does not answer 200 with a JSON object in {@link STATUS_TIMEOUT_MS} is marked with why. When
 * every shard asked answered 401 the client's credential is wrong, and the first shard's 401 goes back as it is; a client
 * token (shards answer 403: the status is the operator's) gets the first 403 the same way, never the merged view.
 */
export async function statusRequest(
  request: Request,
  backends: readonly BoundBackend[],
  deps: RouteDeps,
): Promise<Response> {
  const started = deps.now();
  const requestId = requestIdOf(request.headers, deps.randomUUID);
  const idHeader = { ...corsHeaders(), [REQUEST_ID_HEADER]: requestId };
  const log = statusLog(deps, requestId, started);
  if (backends.length === 0) {
    log(503, { error: 'no_backend' });
    return jsonError(503, 'No backend shard is configured for this gateway', 'server_error', 'no_backend', idHeader);
  }
  const from = parseFrom(new URL(request.url).searchParams);
  if (from === undefined) {
    log(400, { error: 'invalid_query' });
    return jsonError(
      400,
      'invalid value for query parameter "from": give the lowest shard index to ask (0, 1, 2, ...)',
      'invalid_request_error',
      'invalid_query',
      idHeader,
    );
  }
  const answers = await askShards(request, backends, from, requestId, deps);
  const refused = credentialRefused(answers, idHeader);
  if (refused !== undefined) {
    log(refused.response.status, { queried: refused.queried });
    return refused.response;
  }
  const { fallback } = shardWeights(deps.shardKeyCounts, backends);
  const { layout } = poolWeights(deps, backends);
  const body = gatewayStatus(deps.now(), answers, keyCountsOf(deps.shardKeyCounts, backends), fallback, layout);
  log(200, {
    queried: body.queried,
    answered: body.answered,
    ...(fallback !== undefined ? { shardKeyCounts: fallback } : {}),
  });
  return jsonResponse(200, body, { ...idHeader, 'cache-control': 'no-store' });
}
