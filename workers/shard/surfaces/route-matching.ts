/**
 * What several surfaces' route matchers share: the model-id and Google-id patterns, the OpenAI path prefixes, query
 * whitelisting and the choice of a route by method. Upstream URLs are built only from route templates and ids these
 * patterns validated, never by concatenating a client's raw path, so dot segments, encoded slashes or doubled
 * slashes can only ever produce a 404, not a request to an unintended Google URL. The one escape decoded is a slash
 * inside a name an SDK sent as a single path segment ({@link decodeNameSlashes}), before the name is validated.
 */
import type { RouteMatch } from './contract';

/** Gemini model ids: `gemini-2.5-flash`, `gemini-2.5-flash-preview-05-20`, `gemma-3-27b-it`, `embedding-001`. */
export const MODEL_ID = '[A-Za-z0-9][A-Za-z0-9._-]{0,127}';
const MODEL_ID_RE = new RegExp(`^${MODEL_ID}$`);

/** Google's id inside a tag: the tag grammar's characters, and no leading dot, so no id is ever a dot segment. */
export const GOOGLE_ID = /^[A-Za-z0-9_~-][A-Za-z0-9._~-]{0,1023}$/;

/**
 * OpenAI clients use `/v1`; some tools are configured with no version, others copy Google's `/v1beta/openai` base. The
 * OpenAI-compatible surfaces' base paths, for the 404's advice (`./registry.ts`).
 */
export const OPENAI_BASE_PATHS = ['/v1', '/v1beta/openai'] as const;
/** A pattern for an OpenAI path's prefix: one of {@link OPENAI_BASE_PATHS}, or none. */
export const OPENAI_PREFIX = `(?:${OPENAI_BASE_PATHS.join('|')})?`;

/**
 * A path segment that holds an id, with the percent-encoded slashes of a name decoded, once: the `openai` SDK encodes
 * the `/` of the `models/gemini-2.5-flash` its `models.list()` returned (`models%2Fgemini-2.5-flash`). Nothing else
 * is decoded, so `%2e%2e`, `%252F` or any other escape stays as it came and fails the id's pattern afterwards.
 */
export function decodeNameSlashes(segment: string): string {
  return segment.replace(/%2F/gi, '/');
}

/** Normalises a model name from a request body (`models/x` → `x`); undefined when it is not a plausible id. */
export function normaliseModel(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const id = value.startsWith('models/') ? value.slice('models/'.length) : value;
  return MODEL_ID_RE.test(id) ? id : undefined;
}

/**
 * The whitelisted query parameters of a call, each checked against its pattern, as the query string to send upstream
 * (`''` or starting with `?`); everything else (notably `key`) is dropped.
 */
export function whitelistQuery(
  params: URLSearchParams,
  allowed: Readonly<Record<string, RegExp>>,
): string | { error: string } {
  const out = new URLSearchParams();
  for (const [name, pattern] of Object.entries(allowed)) {
    const value = params.get(name);
    if (value === null) continue;
    if (!pattern.test(value)) return { error: `invalid value for query parameter "${name}"` };
    out.set(name, value);
  }
  const text = out.toString();
  return text ? `?${text}` : '';
}

/** The route a path takes for `method`, or the methods it does take (in the order `allowed` lists them). */
export function byMethod<M extends string, R>(method: string, allowed: Partial<Record<M, R>>): RouteMatch<R> {
  const match = allowed[method as M];
  if (match !== undefined && Object.hasOwn(allowed, method)) return { kind: 'route', route: match };
  return { kind: 'method-not-allowed', allow: Object.keys(allowed).join(', ') };
}
