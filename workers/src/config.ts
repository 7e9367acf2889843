/**
 * Reads the worker's bindings into a typed configuration. The same code serves 1 key or 120: keys are every
 * `KEY<n>` binding, in numeric order, empty ones ignored.
 */

export const DEFAULT_GEMINI_BASE_URL = 'https://generativelanguage.googleapis.com';
export const DEFAULT_UPSTREAM_TIMEOUT_MS = 120_000;
/** Gemini caps an inline request at 20 MB; a bounded buffer is what makes replay on another key possible. */
export const DEFAULT_MAX_BODY_BYTES = 20 * 1024 * 1024;

/** The bindings the src worker reads (see docs/errors.md and the construct that binds them). */
export interface SrcEnv {
  readonly PASS?: string;
  readonly GEMINI_BASE_URL?: string;
  readonly UPSTREAM_TIMEOUT_MS?: string;
  readonly MAX_BODY_BYTES?: string;
  readonly [binding: string]: unknown;
}

export interface PoolKey {
  /** n of `KEY<n>`, 1-based; the only way a key is ever named in logs */
  readonly index: number;
  readonly value: string;
}

export interface SrcConfig {
  readonly keys: readonly PoolKey[];
  readonly pass: string;
  /** origin of Google's API, without a trailing slash */
  readonly baseUrl: string;
  readonly timeoutMs: number;
  readonly maxBodyBytes: number;
}

export type ConfigResult = { readonly ok: true; readonly config: SrcConfig } | { readonly ok: false; readonly problem: string };

function positiveInt(value: unknown, fallback: number): number | undefined {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

export function readConfig(env: SrcEnv): ConfigResult {
  const keys = Object.keys(env)
    .map(name => /^KEY([1-9][0-9]{0,3})$/.exec(name))
    .filter((m): m is RegExpExecArray => m !== null)
    .map(m => ({ index: Number(m[1]), value: env[m[0]] }))
    .filter((k): k is PoolKey => typeof k.value === 'string' && k.value.trim() !== '')
    .map(k => ({ index: k.index, value: k.value.trim() }))
    .sort((a, b) => a.index - b.index);
  // problems name the binding, never its value
  if (typeof env.PASS !== 'string' || env.PASS === '') return { ok: false, problem: 'PASS is not set' };
  let baseUrl: string;
  try {
    const url = new URL(env.GEMINI_BASE_URL || DEFAULT_GEMINI_BASE_URL);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return { ok: false, problem: 'GEMINI_BASE_URL must be http(s)' };
    baseUrl = url.origin;
  } catch {
    return { ok: false, problem: 'GEMINI_BASE_URL is not a URL' };
  }
  const timeoutMs = positiveInt(env.UPSTREAM_TIMEOUT_MS, DEFAULT_UPSTREAM_TIMEOUT_MS);
  if (timeoutMs === undefined) return { ok: false, problem: 'UPSTREAM_TIMEOUT_MS must be a positive integer' };
  const maxBodyBytes = positiveInt(env.MAX_BODY_BYTES, DEFAULT_MAX_BODY_BYTES);
  if (maxBodyBytes === undefined) return { ok: false, problem: 'MAX_BODY_BYTES must be a positive integer' };
  return { ok: true, config: { keys, pass: env.PASS, baseUrl, timeoutMs, maxBodyBytes } };
}
