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
  KEY_PROJECTS_BINDING,
  KEYS_PER_SHARD_BINDING,
  MAX_MAX_WAIT_MS,
  type KeyBindingName,
  type ShardWorkerSettingName,
  type TextBindings,
} from '../../shared/contract';
import type { KeyLayout } from '../../shared/key-layout';
import { MAX_TAG_SHARD } from '../../shared/owner-tag';
import type { WorkerProjects } from '../core/key-projects';
import { parseClientTokens, type ClientCredential } from './client-tokens';
import { readProjects } from './project-bindings';

/**
 * The bindings the shard worker reads, named by the contract (see docs/errors.md and the construct that binds them):
 * `KEY1..KEYn`, `PASS`, `CLIENT_TOKENS` (named client tokens, `{"name":"token",...}`, see `./client-tokens`),
 * `GEMINI_BASE_URL`, `UPSTREAM_TIMEOUT_MS`, `MAX_WAIT_MS`, `MAX_BODY_BYTES`, `KEY_PROJECTS` and `KEYS_PER_SHARD`
 * (which Google project each key belongs to, see `./project-bindings`) and, on a shard behind the orchestrator,
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
  /**
   * The Google project of each key (`KEY_PROJECTS`): the key core draws, cools and routes by project.
   *
   * @default - every key its own project (see `../core/key-projects`' `implicitProjects`)
   */
  readonly projects?: WorkerProjects;
  /** the pool's layout, on a shard behind the orchestrator with `KEY_PROJECTS`: where a conversation's home is */
  readonly layout?: KeyLayout;
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

/** Every non-empty `KEY<n>` binding, in numeric order. */
function readKeys(env: ShardEnv): PoolKey[] {
  // the key bindings are found by name, so they are read through a view indexed by any string
  const bindings: Readonly<Record<string, unknown>> = env;
  return Object.keys(env)
    .map((name) => KEY_BINDING_PATTERN.exec(name))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ index: Number(m[1]), value: bindings[m[0]] }))
    .filter((k): k is PoolKey => typeof k.value === 'string' && k.value.trim() !== '')
    .map((k) => ({ index: k.index, value: k.value.trim() }))
    .sort((a, b) => a.index - b.index);
}

/** `GEMINI_BASE_URL` without a trailing slash, or the problem with it. */
function readBaseUrl(value: string | undefined): { readonly baseUrl: string } | { readonly problem: string } {
  try {
    const url = new URL(value || DEFAULT_GEMINI_BASE_URL);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return { problem: 'GEMINI_BASE_URL must be http(s)' };
    // a query or credentials in the base URL would ride along with every key; neither is needed to reach Google
    if (url.search || url.hash || url.username || url.password) {
      return { problem: 'GEMINI_BASE_URL must not have a query, a fragment or credentials' };
    }
    // the path is kept: Cloudflare AI Gateway serves Google under /v1/<account>/<gateway>/google-ai-studio
    return { baseUrl: `${url.origin}${url.pathname.replace(/\/+$/, '')}` };
  } catch {
    return { problem: 'GEMINI_BASE_URL is not a URL' };
  }
}

/** The numeric settings, or the problem with the first that is out of its bounds. */
function readLimits(env: ShardEnv):
  | {
      readonly timeoutMs: number;
      readonly maxWaitMs: number;
      readonly maxBodyBytes: number;
      readonly shardIndex: number;
    }
  | { readonly problem: string } {
  const timeoutMs = positiveInt(env.UPSTREAM_TIMEOUT_MS, DEFAULT_UPSTREAM_TIMEOUT_MS);
  if (timeoutMs === undefined) return { problem: 'UPSTREAM_TIMEOUT_MS must be a positive integer' };
  const maxWaitMs = boundedInt(env.MAX_WAIT_MS, DEFAULT_MAX_WAIT_MS, MAX_MAX_WAIT_MS);
  if (maxWaitMs === undefined) return { problem: `MAX_WAIT_MS must be an integer from 0 to ${MAX_MAX_WAIT_MS}` };
  const maxBodyBytes = positiveInt(env.MAX_BODY_BYTES, DEFAULT_MAX_BODY_BYTES);
  if (maxBodyBytes === undefined) return { problem: 'MAX_BODY_BYTES must be a positive integer' };
  const shardIndex = boundedInt(env.SHARD_INDEX, -1, MAX_TAG_SHARD);
  if (shardIndex === undefined) return { problem: `SHARD_INDEX must be an integer from 0 to ${MAX_TAG_SHARD}` };
  return { timeoutMs, maxWaitMs, maxBodyBytes, shardIndex };
}

/**
 * `KEY_PROJECTS` and `KEYS_PER_SHARD`, which the constructs bind only when the user set `KEY_PROJECTS`: like the keys,
 * they are found by listing the env, so a worker without them asks for no name it was not given.
 */
function layoutBindings(env: ShardEnv): { keyProjects?: string; keysPerShard?: string } {
  const bound = (name: typeof KEY_PROJECTS_BINDING | typeof KEYS_PER_SHARD_BINDING): string | undefined =>
    Object.hasOwn(env, name) ? env[name] : undefined;
  return { keyProjects: bound(KEY_PROJECTS_BINDING), keysPerShard: bound(KEYS_PER_SHARD_BINDING) };
}

export function readConfig(env: ShardEnv): ConfigResult {
  const keys = readKeys(env);
  // problems name the binding, never its value
  if (typeof env.PASS !== 'string' || env.PASS === '') return { ok: false, problem: 'PASS is not set' };
  const clientTokens = parseClientTokens(env.CLIENT_TOKENS, env.PASS);
  if (!clientTokens.ok) return clientTokens;
  const base = readBaseUrl(env.GEMINI_BASE_URL);
  if ('problem' in base) return { ok: false, problem: base.problem };
  const limits = readLimits(env);
  if ('problem' in limits) return { ok: false, problem: limits.problem };
  const { shardIndex, ...numbers } = limits;
  const projects = readProjects(
    layoutBindings(env),
    keys.map((k) => k.index),
    shardIndex >= 0 ? shardIndex : undefined,
  );
  if (!projects.ok) return projects;
  return {
    ok: true,
    config: {
      keys,
      pass: env.PASS,
      clientTokens: clientTokens.tokens,
      baseUrl: base.baseUrl,
      ...numbers,
      ...(shardIndex >= 0 ? { shardIndex } : {}),
      ...(projects.projects !== undefined ? { projects: projects.projects } : {}),
      ...(projects.layout !== undefined ? { layout: projects.layout } : {}),
    },
  };
}
