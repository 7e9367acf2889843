/**
 * The status page's model of the pool, read from either answer of `GET /zen/status`: a shard's own view (the preview
 * worker, a shard alone: `core/status.ts`) or the orchestrator's merged view (`orchestrator/status.ts`, each shard's
 * view under `shards[].status`). Pure and free of the DOM, so Node tests run it on real answers; the JSON is read
 * defensively, since a shard that answered something else must show as a problem, not break the page.
 *
 * @module
 */
import { tokensByKey, type UsageView, usageView } from './usage-view';

export type KeyState = 'ok' | 'cooling' | 'removed';

export interface CoolingView {
  readonly model: string;
  /** epoch ms the key may serve the model again */
  readonly until: number;
  readonly reason: string;
}

export interface KeyView {
  /** `KEY9` (the key's place in `TF_VAR_api_keys`), or `shard 1 KEY3` where the global number is unknown */
  readonly label: string;
  /** for sorting: the global number, or shard and local number */
  readonly order: number;
  readonly shard?: number;
  readonly project?: string;
  readonly state: KeyState;
  /** removed only: Google's reason */
  readonly reason?: string;
  readonly cooling: readonly CoolingView[];
  readonly requests: number;
  readonly rateLimited: number;
  readonly lastError?: { readonly status?: number; readonly code?: string; readonly at?: number };
  /** the tokens it used today, where the status carries usage */
  readonly tokens?: number;
}

/** The keys shown under one heading: a Google project, a shard, or the whole pool. */
export interface GroupView {
  readonly title: string;
  /** a project's state, where the status says it */
  readonly state?: KeyState;
  readonly keys: readonly KeyView[];
}

export interface PoolView {
  /** the gateway's clock when it answered, epoch ms (countdowns run on it, not on the phone's clock) */
  readonly time: number;
  readonly summary: Readonly<Record<KeyState, number>>;
  /** client requests the answering isolates counted */
  readonly requests: number;
  /** e.g. `20 keys in 11 projects` */
  readonly capacity?: string;
  readonly groups: readonly GroupView[];
  /** shards that gave no view, and shards not asked */
  readonly problems: readonly string[];
  readonly usage: UsageView;
}

type Json = Readonly<Record<string, unknown>>;

const isObject = (value: unknown): value is Json =>
  value !== null && typeof value === 'object' && !Array.isArray(value);
const text = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);
const count = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : undefined;
const instant = (value: unknown): number | undefined => {
  const ms = typeof value === 'string' ? Date.parse(value) : Number.NaN;
  return Number.isNaN(ms) ? undefined : ms;
};
const objects = (value: unknown): Json[] => (Array.isArray(value) ? value.filter(isObject) : []);

function stateOf(value: unknown): KeyState | undefined {
  return value === 'ok' || value === 'cooling' || value === 'removed' ? value : undefined;
}

function coolingOf(value: unknown): CoolingView[] {
  return objects(value).flatMap((c) => {
    const until = instant(c.until);
    return until === undefined ? [] : [{ model: text(c.model) ?? '*', until, reason: text(c.reason) ?? '' }];
  });
}

function lastErrorOf(value: unknown): KeyView['lastError'] {
  if (!isObject(value)) return undefined;
  const status = count(value.status);
  const code = text(value.code);
  const at = instant(value.at);
  return {
    ...(status !== undefined ? { status } : {}),
    ...(code !== undefined ? { code } : {}),
    ...(at !== undefined ? { at } : {}),
  };
}

/** Where a key sits: its global number when the answer says it (or a lone worker's own number is global). */
function placeOf(entry: Json, shard: number | undefined): { label: string; order: number } | undefined {
  const local = count(entry.key);
  const global = count(entry.globalKey) ?? (shard === undefined ? local : undefined);
  if (global !== undefined) return { label: `KEY${global}`, order: global };
  if (local === undefined) return undefined;
  return { label: `shard ${shard} KEY${local}`, order: (shard ?? 0) * 1e6 + local };
}

function keyView(entry: Json, shard: number | undefined): KeyView | undefined {
  const place = placeOf(entry, shard);
  const state = stateOf(entry.state);
  if (place === undefined || state === undefined) return undefined;
  const project = text(entry.project);
  const reason = text(entry.reason);
  const lastError = lastErrorOf(entry.lastError);
  return {
    ...place,
    ...(shard !== undefined ? { shard } : {}),
    ...(project !== undefined ? { project } : {}),
    state,
    ...(reason !== undefined ? { reason } : {}),
    cooling: coolingOf(entry.cooling),
    requests: count(entry.requests) ?? 0,
    rateLimited: count(entry.rateLimited) ?? 0,
    ...(lastError !== undefined ? { lastError } : {}),
  };
}

/** One worker's view, as the page reads it. */
interface WorkerPart {
  readonly shard?: number;
  readonly keys: readonly KeyView[];
  readonly requests: number;
  /** project label → its state there */
  readonly projects: ReadonlyMap<string, KeyState>;
  readonly usage: unknown;
}

function workerPart(status: Json, shard: number | undefined): WorkerPart {
  const keys = objects(status.keys).flatMap((k) => keyView(k, shard) ?? []);
  const projects = new Map<string, KeyState>();
  for (const p of objects(status.projects)) {
    const label = text(p.project);
    const state = stateOf(p.state);
    if (label !== undefined && state !== undefined) projects.set(label, state);
  }
  return {
    ...(shard !== undefined ? { shard } : {}),
    keys,
    requests: count(status.requests) ?? 0,
    projects,
    usage: status.usage,
  };
}

/** A shard's entry that holds no view: why, in words. */
function shardProblem(entry: Json): string {
  const error = text(entry.error) ?? 'no status view';
  const shard = count(entry.shard);
  const why: Readonly<Record<string, string>> = {
    timeout: 'did not answer in time',
    shard_error: 'failed or did not answer JSON',
    not_queried: 'was not asked (see below)',
    'status 401': 'refused the password (401): has a PASS rotation reached it?',
    'status 403': 'refused this credential (403): the status needs the operator password',
  };
  return `Shard ${shard ?? '?'} ${why[error] ?? `answered ${error}`}.`;
}

function parts(answer: Json): { parts: WorkerPart[]; problems: string[] } {
  if (!Array.isArray(answer.shards)) return { parts: [workerPart(answer, undefined)], problems: [] };
  const entries = objects(answer.shards);
  const answered = entries.filter((e) => isObject(e.status));
  const problems = entries.filter((e) => !isObject(e.status)).map(shardProblem);
  const notQueried = text(answer.notQueried);
  return {
    parts: answered.map((e) => workerPart(e.status as Json, count(e.shard))),
    problems: notQueried === undefined ? problems : [...problems, notQueried],
  };
}

/** A project's state from its parts: it can serve when any part can (a part is a shard's share of it). */
function mergedState(states: readonly KeyState[]): KeyState | undefined {
  if (states.length === 0) return undefined;
  if (states.includes('ok')) return 'ok';
  return states.includes('cooling') ? 'cooling' : 'removed';
}

function groupsOf(keys: readonly KeyView[], workers: readonly WorkerPart[]): GroupView[] {
  const byProject = keys.some((k) => k.project !== undefined);
  const titleOf = (k: KeyView): string =>
    byProject ? `Project ${k.project ?? '(none)'}` : k.shard !== undefined ? `Shard ${k.shard}` : 'Keys';
  const groups = new Map<string, KeyView[]>();
  for (const key of keys) groups.set(titleOf(key), [...(groups.get(titleOf(key)) ?? []), key]);
  return [...groups].map(([title, members]) => {
    const project = byProject ? members[0]?.project : undefined;
    const states = project === undefined ? [] : workers.flatMap((w) => w.projects.get(project) ?? []);
    const state = mergedState(states);
    return { title, ...(state !== undefined ? { state } : {}), keys: members };
  });
}

/**
 * The page's view of a status answer (either shape); undefined when it is not a status answer at all. `now` stands in
 * for the gateway's clock when the answer does not say the time.
 */
export function poolView(answer: unknown, now: number): PoolView | undefined {
  if (!isObject(answer) || (!Array.isArray(answer.keys) && !Array.isArray(answer.shards))) return undefined;
  const { parts: workers, problems } = parts(answer);
  // a lone worker's usage is its part's; the merged view may one day carry its own beside the shards'
  const usage = usageView(Array.isArray(answer.shards) ? [{ usage: answer.usage }, ...workers] : workers);
  const tokens = tokensByKey(usage);
  const keys = workers
    .flatMap((w) => w.keys)
    .map((k) => (tokens.has(k.label) ? { ...k, tokens: tokens.get(k.label) } : k))
    .sort((a, b) => a.order - b.order);
  const summary = { ok: 0, cooling: 0, removed: 0 };
  for (const key of keys) summary[key.state] += 1;
  const capacity = text(answer.capacity) ?? (isObject(answer.capacity) ? capacityLine(answer.capacity) : undefined);
  return {
    time: instant(answer.time) ?? now,
    summary,
    requests: workers.reduce((n, w) => n + w.requests, 0),
    ...(capacity !== undefined ? { capacity } : {}),
    groups: groupsOf(keys, workers),
    problems,
    usage,
  };
}

/**
 * The refusal a merged view stands for: every shard asked refused the credential with the same 401 or 403 (the
 * orchestrator passes a unanimous 401 on as it is, but a shard's 403 becomes that shard's entry).
 */
export function unanimousRefusal(answer: unknown): 401 | 403 | undefined {
  if (!isObject(answer) || !Array.isArray(answer.shards)) return undefined;
  const asked = objects(answer.shards).filter((e) => e.error !== 'not_queried');
  const errors = new Set(asked.map((e) => e.error));
  if (asked.length === 0 || errors.size !== 1) return undefined;
  const [error] = errors;
  return error === 'status 401' ? 401 : error === 'status 403' ? 403 : undefined;
}

/** A lone worker's capacity: the pool's line, when its layout says it. */
function capacityLine(capacity: Json): string | undefined {
  return isObject(capacity.pool) ? text(capacity.pool.line) : undefined;
}
