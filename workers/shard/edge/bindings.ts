/**
 * Reads the worker's bindings into a typed configuration. The same code serves 1 key or 120: keys are every
 * `KEY<n>` binding, in numeric order, empty ones ignored.
 */
import {
  DEFAULT_GEMINI_BASE_URL,
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_MAX_WAIT_MS,
  DEFAULT_UPSTREAM_TIMEOUT_MS,
  KEY_BINDING_PATTERN,
  MAX_MAX_WAIT_MS,
  type KeyBindingName,
  type ShardWorkerSettingName,
  type TextBindings,
} from '../../shared/contract';
import { MAX_TAG_SHARD } from '../../shared/owner-tag';
import { parseClientTokens, type ClientCredential } from './client-tokens';

/**
 * The bindings the shard worker reads, named by the contract (see docs/errors.md and the construct that binds them):
 * `KEY1..KEYn`, `PASS`, `CLIENT_TOKENS` (named client tokens, `{"name":"token",...}`, see `./client-tokens`),
 * `GEMINI_BASE_URL`, `UPSTREAM_TIMEOUT_MS`, `MAX_WAIT_MS`, `MAX_BODY_BYTES` and, on a shard behind the orchestrator,
 * `SHARD_INDEX`.
 */
export type ShardEnv = TextBindings<KeyBindingName | ShardWorkerSettingName>;

export interface PoolKey {
  /** n of `KEY<n>`, 1-based; the only way a key is ever named in logs */
  readonly index: number;
  readonly value: string;
}

export interface ShardConfig {
  readonly keys: readonly PoolKey[];
  readonly pass: string;
  /** accepted alongside `pass`; each request's log line names the one it carried */
  readonly clientTokens: readonly ClientCredential[];
  /**
   * Google's API (or a gateway in front of it, such as Cloudflare AI Gateway), with its path and without a trailing
   * slash; every upstream URL is this plus a whitelisted route path
   */
  readonly baseUrl: string;
  readonly timeoutMs: number;
  /** how long one request may wait, in total, for a cooling key to free before the shard refuses it */
  readonly maxWaitMs: number;
  readonly maxBodyBytes: number;
  /**
   * n of the orchestrator's `BACKEND_SERVICE_<n>` that reaches this worker (`SHARD_INDEX`); undefined on a worker
   * that stands alone (the preview), which tags its resources as shard 0 (see `./owner-keys`)
   */
  readonly shardIndex?: number;
}

export type ConfigResult =
  | { readonly ok: true; readonly config: ShardConfig }
  | { readonly ok: false; readonly problem: string };

function positiveInt(value: unknown, fallback: number): number | undefined {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

function boundedInt(value: unknown, fallback: number, max: number): number | undefined {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  return typeof value === 'string' && /^[0-9]+$/.test(value) && n <= max ? n : undefined;
}

export function readConfig(env: ShardEnv): ConfigResult {
  // the key bindings are found by name, so they are read through a view indexed by any string
  const bindings: Readonly<Record<string, unknown>> = env;
  const keys = Object.keys(env)
    .map((name) => KEY_BINDING_PATTERN.exec(name))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ index: Number(m[1]), value: bindings[m[0]] }))
    .filter((k): k is PoolKey => typeof k.value === 'string' && k.value.trim() !== '')
    .map((k) => ({ index: k.index, value: k.value.trim() }))
    .sort((a, b) => a.index - b.index);
  // problems name the binding, never its value
  if (typeof env.PASS !== 'string' || env.PASS === '') return { ok: false, problem: 'PASS is not set' };
  const clientTokens = parseClientTokens(env.CLIENT_TOKENS, env.PASS);
  if (!clientTokens.ok) return clientTokens;
  let baseUrl: string;
  try {
    const url = new URL(env.GEMINI_BASE_URL || DEFAULT_GEMINI_BASE_URL);
    if (url.protocol !== 'https:' && url.protocol !== 'http:')
      return { ok: false, problem: 'GEMINI_BASE_URL must be http(s)' };
    // a query or credentials in the base URL would ride along with every key; neither is needed to reach Google
    if (url.search || url.hash || url.username || url.password) {
      return { ok: false, problem: 'GEMINI_BASE_URL must not have a query, a fragment or credentials' };
    }
    // the path is kept: Cloudflare AI Gateway serves Google under /v1/<account>/<gateway>/google-ai-studio
    baseUrl = `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
  } catch {
    return { ok: false, problem: 'GEMINI_BASE_URL is not a URL' };
  }
  const timeoutMs = positiveInt(env.UPSTREAM_TIMEOUT_MS, DEFAULT_UPSTREAM_TIMEOUT_MS);
  if (timeoutMs === undefined) return { ok: false, problem: 'UPSTREAM_TIMEOUT_MS must be a positive integer' };
  const maxWaitMs = boundedInt(env.MAX_WAIT_MS, DEFAULT_MAX_WAIT_MS, MAX_MAX_WAIT_MS);
  if (maxWaitMs === undefined)
    return { ok: false, problem: `MAX_WAIT_MS must be an integer from 0 to ${MAX_MAX_WAIT_MS}` };
  const maxBodyBytes = positiveInt(env.MAX_BODY_BYTES, DEFAULT_MAX_BODY_BYTES);
  if (maxBodyBytes === undefined) return { ok: false, problem: 'MAX_BODY_BYTES must be a positive integer' };
  const shardIndex = boundedInt(env.SHARD_INDEX, -1, MAX_TAG_SHARD);
  if (shardIndex === undefined)
    return { ok: false, problem: `SHARD_INDEX must be an integer from 0 to ${MAX_TAG_SHARD}` };
  return {
    ok: true,
    config: {
      keys,
      pass: env.PASS,
      clientTokens: clientTokens.tokens,
      baseUrl,
      timeoutMs,
      maxWaitMs,
      maxBodyBytes,
      ...(shardIndex >= 0 ? { shardIndex } : {}),
    },
  };
}
