/**
 * The contract between the constructs that deploy the workers (`constructs/`) and the workers that read what they
 * deploy: every binding's name, default and bounds, and the headers and path one worker uses to talk to the other.
 *
 * Plain TypeScript with neither Workers nor Node.js types, so both tsconfigs compile it. The workers' env types are
 * derived from the names here, so renaming a binding fails to compile wherever the old name is still read, instead
 * of failing in production; `__tests__/workers/shared-contract.test.ts` checks that the synthesized bindings are exactly these.
 *
 * @module
 */

/**
 * Workers runtime compatibility date of every worker, deployed (unless `compatibilityDate` says otherwise) and
 * emulated alike: recent enough for current runtime APIs, and within what the pinned miniflare/workerd supports.
 */
export const DEFAULT_COMPATIBILITY_DATE = '2026-04-20';

// ---- shard worker (a shard, or the preview worker) ----

/** A shard worker's keys are bound as `KEY1..KEYn`, in key order; the n is how logs name a key. */
export const KEY_BINDING_PREFIX = 'KEY';
export type KeyBindingName = `${typeof KEY_BINDING_PREFIX}${number}`;
/** The key bindings a shard worker reads, `KEY1` to `KEY9999`; group 1 is the n. */
export const KEY_BINDING_PATTERN = new RegExp(`^${KEY_BINDING_PREFIX}([1-9][0-9]{0,3})$`);

/** The n-th key binding, 1-based. */
export function keyBindingName(n: number): KeyBindingName {
  return `${KEY_BINDING_PREFIX}${n}`;
}

/** The client password (secret). */
export const PASS_BINDING = 'PASS';
/** The named client tokens, `jsonencode(var.client_tokens)` (secret). */
export const CLIENT_TOKENS_BINDING = 'CLIENT_TOKENS';
/** Upstream base URL (plain text). */
export const GEMINI_BASE_URL_BINDING = 'GEMINI_BASE_URL';
/** Deadline in ms for upstream response headers (plain text). */
export const UPSTREAM_TIMEOUT_MS_BINDING = 'UPSTREAM_TIMEOUT_MS';
/** Longest wait in ms for a cooling key before refusing (plain text). */
export const MAX_WAIT_MS_BINDING = 'MAX_WAIT_MS';
/** Largest request body in bytes (plain text); read with a default, never bound by the constructs. */
export const MAX_BODY_BYTES_BINDING = 'MAX_BODY_BYTES';
/** Claude model lines to Gemini models for the Anthropic routes, JSON (plain text); absent means the defaults (see {@link parseAnthropicModelMap}). */
export const ANTHROPIC_MODEL_MAP_BINDING = 'ANTHROPIC_MODEL_MAP';

/**
 * The bindings a shard worker holds besides its keys, in the order `ShardWorker` binds them after `KEY1..KEYk`.
 * Each counts against the plan's environment-variable limit, so it caps the keys one worker can hold.
 */
export const SRC_WORKER_FIXED_BINDINGS = [
  PASS_BINDING,
  GEMINI_BASE_URL_BINDING,
  UPSTREAM_TIMEOUT_MS_BINDING,
  MAX_WAIT_MS_BINDING,
  CLIENT_TOKENS_BINDING,
] as const;

/** Bindings a shard worker reads when present but the constructs never bind: tests and hand-made deployments do. */
export const SRC_WORKER_OPTIONAL_BINDINGS = [MAX_BODY_BYTES_BINDING] as const;

/**
 * Optional bindings only one surface reads (when present), so a malformed value fails that surface's routes alone.
 * `ShardWorker` binds each only when its setting is given, after the fixed bindings and in this order; each then
 * takes one environment variable from the keys.
 */
export const SRC_WORKER_SURFACE_BINDINGS = [ANTHROPIC_MODEL_MAP_BINDING] as const;

/**
 * The shard's own index, n of the orchestrator's `BACKEND_SERVICE_<n>` that reaches it (plain text). Owner tags name
 * it (see `./owner-tag`). Bound by the prod stack on every shard, after the fixed bindings; a worker without it
 * stands alone (the preview): it tags as shard 0 and answers a tag naming any other shard with 404.
 */
export const SHARD_INDEX_BINDING = 'SHARD_INDEX';

// ---- projects: which keys share a Google project (see `./key-layout`) ----

/**
 * One project label per key of the whole pool, in key order, comma-separated (`a,a,a,b,c`), as the user set the
 * `KEY_PROJECTS` synth setting (plain text). Bound on every worker only when the user set it; absent, every key is
 * its own project and the layout is the sequential one.
 */
export const KEY_PROJECTS_BINDING = 'KEY_PROJECTS';
/** Keys per shard the layout was computed with (plain text); bound beside {@link KEY_PROJECTS_BINDING} only. */
export const KEYS_PER_SHARD_BINDING = 'KEYS_PER_SHARD';
/** What a project label may look like (a regex source, also valid in Terraform): the same rule as client names. */
export const PROJECT_LABEL_PATTERN = '^[a-z0-9][a-z0-9_-]{0,31}$';

/**
 * The bindings that let a worker recompute the pool's layout with `keyLayout`, bound (in this order, after the
 * others) only when `KEY_PROJECTS` is set; each takes one environment variable.
 */
export const LAYOUT_BINDINGS = [KEY_PROJECTS_BINDING, KEYS_PER_SHARD_BINDING] as const;

/** Bindings a shard worker holds only as a shard behind the orchestrator; each takes one environment variable. */
export const SRC_WORKER_SHARD_BINDINGS = [SHARD_INDEX_BINDING] as const;

/** Per-client request rates, JSON (plain text, see {@link parseClientLimits}); bound only when clients have limits. */
export const CLIENT_LIMITS_BINDING = 'CLIENT_LIMITS';
/** The Durable Object namespace counting each limited client's requests (no environment variable), beside it. */
export const CLIENT_LIMITER_BINDING = 'CLIENT_LIMITER';
/** The Durable Object class behind {@link CLIENT_LIMITER_BINDING}, exported by the shard worker's bundle. */
export const CLIENT_LIMITER_CLASS = 'ClientRateLimiter';

/** Every binding a shard worker reads besides its keys. */
export type ShardWorkerSettingName =
  | (typeof SRC_WORKER_FIXED_BINDINGS)[number]
  | (typeof LAYOUT_BINDINGS)[number]
  | (typeof SRC_WORKER_OPTIONAL_BINDINGS)[number]
  | (typeof SRC_WORKER_SURFACE_BINDINGS)[number]
  | (typeof SRC_WORKER_SHARD_BINDINGS)[number]
  | typeof CLIENT_LIMITS_BINDING;

export const DEFAULT_GEMINI_BASE_URL = 'https://generativelanguage.googleapis.com';

/**
 * Five minutes: a non-streamed call to a thinking model sends no response headers until it has thought and answered,
 * which takes minutes on a long prompt; a shorter deadline cuts off answers Google would still deliver (and bill).
 * A stuck upstream still fails within the time clients' own SDK timeouts allow (the openai SDK waits 10 minutes).
 */
export const DEFAULT_UPSTREAM_TIMEOUT_MS = 300_000;
/** Bounds of `UPSTREAM_TIMEOUT_MS` that synth accepts. */
export const MIN_UPSTREAM_TIMEOUT_MS = 1_000;
export const MAX_UPSTREAM_TIMEOUT_MS = 600_000;

/**
 * No waiting: a shard whose keys are all cooling refuses at once (429 with retry-after), and the orchestrator tries
 * another shard.
 */
export const DEFAULT_MAX_WAIT_MS = 0;
/** Longest wait for a cooling key a shard accepts; longer waits would hold clients past any SDK timeout. */
export const MAX_MAX_WAIT_MS = 60_000;

/** Cloudflare's request-body limit on every plan, and Google's cap on an inline request payload: 100 MB. */
export const DEFAULT_MAX_BODY_BYTES = 100 * 1000 * 1000;

/**
 * The largest body kept whole for failover (another key, another shard). An isolate has 128 MB and serves several
 * requests at once; a buffered body lives in the shard (the copy it replays) and in the orchestrator (the copy it
 * re-routes), so 16 MiB each leaves room for a few such requests plus the replies. Above it the body streams to
 * Google once, on one key, without failover; routes that must parse the body refuse it with 413.
 */
export const REPLAY_MAX_BYTES = 16 * 1024 * 1024;

// ---- ANTHROPIC_MODEL_MAP: its shape, defaults and parser, which the worker and synth both apply ----

/**
 * The Gemini model (an id such as `gemini-3.5-flash`) behind each Claude model line. The three classic lines are
 * always there; Anthropic adds lines now and then (fable and mythos sit above opus), and the setting may name more.
 */
export interface AnthropicModelMap {
  readonly opus: string;
  readonly sonnet: string;
  readonly haiku: string;
  readonly [line: string]: string;
}

/**
 * Defaults: stable models every free-tier key can call, one per tier so each tier draws on its own per-model
 * quota. The top tiers get Google's strongest stable Flash (the replacement Google names for `gemini-2.5-pro`), not
 * a Pro model: Pro models have no free-tier quota, and Claude Code asks for a top-tier model by default.
 */
export const DEFAULT_ANTHROPIC_MODEL_MAP: AnthropicModelMap = {
  opus: 'gemini-3.8-flash',
  sonnet: 'gemini-3.5-flash',
  haiku: 'gemini-3.5-flash-lite',
  fable: 'gemini-3.8-flash',
  mythos: 'gemini-3.8-flash',
};

/**
 * Gemini model ids as the Anthropic routes and `ANTHROPIC_MODEL_MAP` accept them: letters, digits, `.`, `_`, `-`, at
 * most 128 characters.
 */
export const ANTHROPIC_MODEL_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
/** A Claude model line as the setting may name it. */
export const ANTHROPIC_MODEL_LINE_PATTERN = /^[a-z]{2,32}$/;

export type ModelMapParse =
  | { readonly ok: true; readonly map: AnthropicModelMap }
  | { readonly ok: false; readonly problem: string };

/**
 * Reads the synth-time setting: a JSON object naming a Gemini model per Claude model line (`opus`, `sonnet`,
 * `haiku`, `fable`, `mythos`, or a line Anthropic adds later); lines left out keep their default. Empty or absent
 * means the defaults. The problem text names the setting's fields and the allowed values, nothing else.
 */
export function parseAnthropicModelMap(text: string | undefined, setting = 'ANTHROPIC_MODEL_MAP'): ModelMapParse {
  if (text === undefined || text.trim() === '') return { ok: true, map: DEFAULT_ANTHROPIC_MODEL_MAP };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { ok: false, problem: `${setting} is not JSON; expected an object such as {"opus":"gemini-3.8-flash"}` };
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    return {
      ok: false,
      problem: `${setting} must be a JSON object from Claude model lines (opus, sonnet, …) to Gemini model ids`,
    };
  }
  const map: { opus: string; sonnet: string; haiku: string; [line: string]: string } = {
    ...DEFAULT_ANTHROPIC_MODEL_MAP,
  };
  for (const [line, model] of Object.entries(parsed)) {
    if (!ANTHROPIC_MODEL_LINE_PATTERN.test(line)) {
      return {
        ok: false,
        problem: `${setting} has the key ${JSON.stringify(line.slice(0, 40))}; keys are Claude model lines in lowercase letters (opus, sonnet, haiku, fable, mythos, …)`,
      };
    }
    if (typeof model !== 'string' || !ANTHROPIC_MODEL_ID_PATTERN.test(model)) {
      return {
        ok: false,
        problem: `${setting}.${line} must be a Gemini model id of letters, digits, ".", "_" or "-" (e.g. "gemini-3.5-flash")`,
      };
    }
    map[line] = model;
  }
  return { ok: true, map };
}

// ---- orchestrator ----

/** The orchestrator's service bindings to the shards are `BACKEND_SERVICE_0..N-1`; the n is how logs name a shard. */
export const BACKEND_BINDING_PREFIX = 'BACKEND_SERVICE_';
export type BackendBindingName = `${typeof BACKEND_BINDING_PREFIX}${number}`;
/** The service bindings the orchestrator reads, `BACKEND_SERVICE_0` to `BACKEND_SERVICE_999999`; group 1 is the n. */
export const BACKEND_BINDING_PATTERN = new RegExp(`^${BACKEND_BINDING_PREFIX}(0|[1-9][0-9]{0,5})$`);

/** The n-th service binding, 0-based. */
export function backendBindingName(n: number): BackendBindingName {
  return `${BACKEND_BINDING_PREFIX}${n}`;
}

/** How many shards one request may try (plain text). */
export const SHARD_ATTEMPTS_BINDING = 'SHARD_ATTEMPTS';
/** Deadline in ms for a shard's response headers (plain text). */
export const SHARD_TIMEOUT_MS_BINDING = 'SHARD_TIMEOUT_MS';
/** Each shard's key count, `"8,8,4"`: entry n for `BACKEND_SERVICE_<n>` (plain text). */
export const SHARD_KEY_COUNTS_BINDING = 'SHARD_KEY_COUNTS';

/** The bindings the orchestrator holds besides its service bindings, in the order `Orchestrator` binds them. */
export const ORCHESTRATOR_FIXED_BINDINGS = [
  SHARD_ATTEMPTS_BINDING,
  SHARD_TIMEOUT_MS_BINDING,
  SHARD_KEY_COUNTS_BINDING,
] as const;

/** Every binding the orchestrator reads besides its service bindings. */
export type OrchestratorSettingName = (typeof ORCHESTRATOR_FIXED_BINDINGS)[number] | (typeof LAYOUT_BINDINGS)[number];

/**
 * Shards one request may try while they refuse from their own key pool. Re-routing a pool refusal costs no billed
 * upstream call, and three shards turn a momentarily cooling shard into a success in nearly every case.
 */
export const DEFAULT_SHARD_ATTEMPTS = 3;
/** Most shards one request may try; each one is a subrequest and a worker invocation. */
export const MAX_SHARD_ATTEMPTS = 10;

/**
 * Deadline for a shard's response headers, in ms: the shards' default upstream deadline plus 10 s, so a slow Gemini
 * surfaces as the shard's own 504 with its message, and the orchestrator's 504 only fires when the shard itself is
 * stuck. The 10 s also leave room for a `MAX_WAIT_MS` up to 9999 without raising this.
 */
export const DEFAULT_SHARD_TIMEOUT_MS = 310_000;
/** Bounds of `SHARD_TIMEOUT_MS` that synth accepts; the top leaves room above the largest upstream deadline. */
export const MIN_SHARD_TIMEOUT_MS = 1_000;
export const MAX_SHARD_TIMEOUT_MS = 900_000;

/** Largest entry of `SHARD_KEY_COUNTS` the orchestrator accepts. */
export const MAX_SHARD_KEY_COUNT = 999_999;

// ---- named client tokens (CLIENT_TOKENS) ----
// Terraform's validation, `npm start`, the deploy workflow and the worker at run time all apply these rules.

/** A client name: it goes into log lines and terminal output as it is (a regex source, also valid in Terraform). */
export const CLIENT_NAME_PATTERN = '^[a-z0-9][a-z0-9_-]{0,31}$';
/** The name `PASS` is logged under, so no token may carry it. */
export const PASS_CLIENT_NAME = 'pass';
/**
 * Shortest `PASS` accepted. The gateway blanks the password out of every answer it passes on, so a short one (`p`)
 * would also blank out ordinary text in model replies; 16 characters never occur by chance.
 */
export const MIN_PASS_LENGTH = 16;
/** Shortest token accepted: guessing 24 random printable characters is out of reach. */
export const MIN_CLIENT_TOKEN_LENGTH = 24;
/** Printable ASCII without spaces (`!` to `~`): what an HTTP header carries unchanged (a regex source). */
export const CLIENT_TOKEN_PATTERN = '^[!-~]+$';
/** Cloudflare's limit on one environment variable (5 KB), which the encoded map must fit. */
export const MAX_CLIENT_TOKENS_JSON_LENGTH = 5 * 1024;

// ---- per-client request rates (CLIENT_LIMITS): synth and the worker read them with one parser ----

/** A client's limit: `rpm` requests a minute on average, at most `burst` at once after a quiet spell (default `rpm`). */
export type ClientLimit = { readonly rpm: number; readonly burst: number };
/** Highest `rpm` and `burst`: far above what one key pool serves, low enough to catch a typo's extra digits. */
export const MAX_CLIENT_RPM = 100_000;
export type ClientLimitsParse =
  | { readonly ok: true; readonly limits: Readonly<Record<string, ClientLimit>> }
  | { readonly ok: false; readonly problem: string };
const CLIENT_NAME_RULE = `a client name (as in TF_VAR_client_tokens) is 1 to 32 lower-case letters, digits, "_" or "-", starting with a letter or digit, and not "${PASS_CLIENT_NAME}" (PASS, the operator, has no limit)`;
/** A received value for a message, cut at 40 characters: the setting is not secret, but it may be long. */
const shown = (value: unknown): string => (JSON.stringify(value) ?? String(value)).replace(/^(.{40}).+$/s, '$1…');

/** One client's entry (`{"rpm":60,"burst":10}`), or the problem with it, naming the client and the field. */
function parseClientLimit(at: string, entry: unknown): ClientLimit | string {
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry))
    return `${at} must be an object such as {"rpm":60}, got ${shown(entry)}`;
  const unknown = Object.keys(entry).find((field) => field !== 'rpm' && field !== 'burst');
  if (unknown !== undefined) return `${at}.${unknown.slice(0, 40)} is not a limit; the fields are rpm and burst`;
  const { rpm, burst = rpm } = entry as Readonly<Record<string, unknown>>;
  const count = (v: unknown): v is number => Number.isInteger(v) && Number(v) >= 1 && Number(v) <= MAX_CLIENT_RPM;
  if (!count(rpm))
    return `${at}.rpm must be an integer from 1 to ${MAX_CLIENT_RPM} (requests a minute), got ${shown(rpm)}`;
  if (!count(burst)) {
    return `${at}.burst must be an integer from 1 to ${MAX_CLIENT_RPM} (requests at once after a quiet spell), got ${shown(burst)}`;
  }
  return { rpm, burst };
}

/**
 * Reads `CLIENT_LIMITS` (the synth setting and the binding): a JSON object of client name to limit, such as
 * `{"alice":{"rpm":60},"bob":{"rpm":600,"burst":20}}`; absent, empty or `{}` limits no one. A problem names the
 * setting, the client and the field (`CLIENT_LIMITS.alice.rpm must be …`).
 */
export function parseClientLimits(text: string | undefined, setting = 'CLIENT_LIMITS'): ClientLimitsParse {
  if (text === undefined || text.trim() === '') return { ok: true, limits: {} };
  const fail = (problem: string): ClientLimitsParse => ({ ok: false, problem });
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    return fail(`${setting} must be a JSON object of client name to limit, such as {"alice":{"rpm":60}}`);
  const limits: Record<string, ClientLimit> = {};
  for (const [name, entry] of Object.entries(parsed)) {
    if (!new RegExp(CLIENT_NAME_PATTERN).test(name) || name === PASS_CLIENT_NAME)
      return fail(`${setting} names the client ${shown(name)}: ${CLIENT_NAME_RULE}`);
    const limit = parseClientLimit(`${setting}.${name}`, entry);
    if (typeof limit === 'string') return fail(limit);
    limits[name] = limit;
  }
  return { ok: true, limits };
}

// ---- between the workers, and toward clients ----

/** The gateway's own status path, on both workers: the orchestrator asks every shard's. */
export const STATUS_PATH = '/zen/status';
/** The status page, on both workers: a browser page that reads {@link STATUS_PATH} with the operator's password. */
export const STATUS_PAGE_PATH = '/zen';

/** The request id both workers log and answer with; the orchestrator passes its id to the shard in it. */
export const REQUEST_ID_HEADER = 'x-request-id';

/** Response header a shard sets on its own pool refusals; never on a status passed through from Google. */
export const POOL_HEADER = 'x-zen-pool';
/** The only value of {@link POOL_HEADER}. */
export const POOL_EXHAUSTED = 'exhausted';

/**
 * A shard's answer to a request whose body names a resource another shard owns: status {@link MISDIRECTED_STATUS}
 * with the owning shard's index in {@link OWNER_HEADER}. Nothing was sent to Google; the orchestrator sends the
 * request on to that shard. A worker that stands alone never sends it.
 */
export const OWNER_HEADER = 'x-zen-owner';
/** HTTP 421 Misdirected Request: the request was sent to a shard that cannot produce the answer. */
export const MISDIRECTED_STATUS = 421;

/**
 * A conversation's fingerprint (see `./affinity`), eight lowercase hex digits, on a request sent to a shard: the
 * orchestrator sets it from the conversation headers (replacing any a client sent; without such a header it sends
 * none), and a shard that found the id in the body puts it on its {@link HOME_SHARD_HEADER} misdirect, so the
 * orchestrator sends it on with the request. A request that carries it has been routed by its conversation already:
 * the shard ranks its projects by it and never answers it with a home misdirect.
 */
export const AFFINITY_HEADER = 'x-zen-affinity';
/**
 * A shard's answer to a request whose conversation (an id found in the body) lives on another shard: status
 * {@link MISDIRECTED_STATUS} with the home shard's index in this header and the fingerprint in
 * {@link AFFINITY_HEADER}. Nothing was sent to Google; the orchestrator sends its copy of the body there once, then
 * along the conversation's order. A shard that cannot place the conversation (it does not know the other shards'
 * weights: no `KEY_PROJECTS`) may send the 421 with the fingerprint alone: the orchestrator then finds the home
 * itself, which may be that same shard, called again with the fingerprint.
 */
export const HOME_SHARD_HEADER = 'x-zen-home-shard';

/**
 * Request header the orchestrator sets on every request it forwards (replacing any a client sent): how many shards
 * there are, so a shard knows whether a merged listing goes on to the next one.
 */
export const SHARD_COUNT_HEADER = 'x-zen-shard-count';

// ---- env types ----

/** Text bindings (secret or plain) by name; any may be absent from an env, which the reader handles. */
export type TextBindings<Name extends string> = { readonly [K in Name]?: string };
