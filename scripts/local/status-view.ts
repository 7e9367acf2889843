/**
 * `npm start`'s key status view: the answer of `GET /zen/status` (the orchestrator's combined view, or a preview
 * worker's own) as one compact line per key, each named by its global number (`KEY13`, the 13th entry of
 * `TF_VAR_api_keys`) as the request lines name it. When the workers report Google projects (`KEY_PROJECTS`), the
 * keys are grouped under a line per project saying whether it can serve, and a capacity line heads the view
 * ("20 keys in 11 projects"). Where the workers' datasets can be read back (the emulation's), today's usage follows,
 * per key, project, client and model (`./usage-view`).
 *
 * @module
 */
import { printable, type KeyedWorker, type RequestLineContext } from './cli';
import { usageLines } from './usage-view';

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const num = (value: unknown): number | undefined => (typeof value === 'number' ? value : undefined);
const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);

/** `12:00:17Z` for an instant on the answer's day (UTC), the whole ISO time otherwise (a cooldown until tomorrow). */
function clock(iso: string | undefined, day: string): string {
  if (iso === undefined) return '?';
  return iso.startsWith(day) && iso.length >= 19 ? `${iso.slice(11, 19)}Z` : iso;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** The global name of a shard-local key: from the emulated bindings, else the orchestrator's `globalKey`. */
function keyName(local: number | undefined, worker: KeyedWorker | undefined, globalKey: number | undefined): string {
  if (local === undefined) return 'KEY?';
  const index = worker?.apiKeyIndexes[`KEY${local}`];
  if (index !== undefined) return `KEY${index + 1}`;
  return globalKey !== undefined ? `KEY${globalKey}` : `shard key ${local}`;
}

function keyLine(entry: Json, worker: KeyedWorker | undefined, day: string, width: number): string {
  const name = keyName(num(entry.key), worker, num(entry.globalKey)).padEnd(width);
  const state = str(entry.state) ?? '?';
  let detail = '';
  if (state === 'removed') detail = str(entry.reason) ?? '';
  if (state === 'cooling') {
    detail = list(entry.cooling)
      .filter(isObject)
      .map((c) => `${str(c.model) ?? '?'} until ${clock(str(c.until), day)} (${str(c.reason) ?? '?'})`)
      .join(', ');
  }
  const calls = num(entry.requests) ?? 0;
  const counters = [plural(calls, 'call'), `${num(entry.rateLimited) ?? 0} × 429`];
  if (isObject(entry.lastError)) {
    const status = num(entry.lastError.status);
    const code = str(entry.lastError.code);
    const what = [status, code].filter((part) => part !== undefined).join(' ');
    counters.push(`last error ${what || '?'} at ${clock(str(entry.lastError.at), day)}`);
  }
  return `    ${name}  ${state.padEnd(8)}${detail ? `${detail}  ` : ''}${counters.join(', ')}`;
}

/** A project's line: its label, state, and for what and until when it cools. */
function projectLine(entry: Json, day: string): string {
  const state = str(entry.state) ?? '?';
  const cooling = list(entry.cooling)
    .filter(isObject)
    .map((c) => `${str(c.model) ?? '?'} until ${clock(str(c.until), day)} (${str(c.reason) ?? '?'})`)
    .join(', ');
  return `    project ${str(entry.project) ?? '?'}  ${state}${cooling ? ` ${cooling}` : ''}`;
}

/** The key lines, under a line per project when the worker reports declared projects. */
function keyLines(status: Json, keys: Json[], line: (key: Json) => string, day: string): string[] {
  const projects = list(status.projects).filter(isObject);
  if (!isObject(status.capacity) || status.capacity.declared !== true || projects.length === 0) return keys.map(line);
  const byKey = new Map(keys.map((k) => [num(k.key), k]));
  const listed = new Set<unknown>();
  const lines: string[] = [];
  for (const project of projects) {
    lines.push(projectLine(project, day));
    for (const n of list(project.keys)) {
      const key = byKey.get(num(n));
      if (key === undefined) continue;
      listed.add(key);
      lines.push(`  ${line(key)}`);
    }
  }
  return [...lines, ...keys.filter((k) => !listed.has(k)).map(line)];
}

function workerLines(label: string, status: Json, worker: KeyedWorker | undefined, day: string): string[] {
  const requests = num(status.requests) ?? 0;
  const since = str(status.since);
  const keys = list(status.keys).filter(isObject);
  const names = keys.map((k) => keyName(num(k.key), worker, num(k.globalKey)));
  const width = Math.max(5, ...names.map((n) => n.length));
  const capacity = isObject(status.capacity) ? status.capacity : undefined;
  const part = capacity?.declared === true && isObject(capacity.worker) ? capacity.worker : undefined;
  const held = plural(keys.length, 'key') + (part ? ` in ${plural(num(part.projects) ?? 0, 'project')}` : '');
  return [
    `  ${label}: ${plural(requests, 'request')}${since ? ` since ${clock(since, day)}` : ''}, ${held}`,
    ...keyLines(status, keys, (k) => keyLine(k, worker, day, width), day),
  ];
}

/**
 * The pool's capacity line, as a worker that knows the layout (`KEY_PROJECTS`) reports it; undefined without one (every
 * key its own project, the line would only repeat the key count).
 */
function capacityLine(statuses: readonly Json[]): string | undefined {
  const pool = statuses
    .map((s) => s.capacity)
    .filter(isObject)
    .map((c) => c.pool)
    .find(isObject);
  return pool === undefined ? undefined : `  capacity: ${str(pool.line) ?? '?'}`;
}

/**
 * The status view as printed: a heading with the answer's time, then per worker its request count and one line per
 * key (state, cooldowns or removal reason, calls, 429s, last error). Every value passes through {@link printable}.
 */
export function formatStatusView(body: unknown, context: RequestLineContext): string {
  if (!isObject(body)) return 'key status: the answer was not a JSON object';
  const time = str(body.time) ?? '';
  const day = time.slice(0, 10);
  const lines = [`key status at ${clock(time, day)} (each worker as its answering isolate sees it)`];
  const statuses = Array.isArray(body.shards)
    ? body.shards
        .filter(isObject)
        .map((entry) => entry.status)
        .filter(isObject)
    : [body];
  const capacity = capacityLine(statuses);
  if (capacity !== undefined) lines.push(capacity);
  if (Array.isArray(body.shards)) {
    for (const entry of body.shards.filter(isObject)) {
      const shard = num(entry.shard);
      const worker = shard === undefined ? undefined : context.shards.get(shard);
      const label = `shard ${shard ?? '?'}${worker ? ` (${worker.scriptName})` : ''}`;
      if (isObject(entry.status)) lines.push(...workerLines(label, entry.status, worker, day));
      else lines.push(`  ${label}: ${str(entry.error) ?? 'no answer'}`);
    }
    const notQueried = str(body.notQueried);
    if (notQueried) lines.push(`  ${notQueried}`);
  } else {
    lines.push(...workerLines(context.publicWorker.scriptName, body, context.publicWorker, day));
  }
  lines.push(...usageLines(body, context, (iso) => clock(iso, day)));
  return lines.map(printable).join('\n');
}
