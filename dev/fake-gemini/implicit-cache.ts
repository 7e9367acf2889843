/**
 * Implicit caching as Google describes it (ai.google.dev/gemini-api/docs/caching, "Implicit caching"): on by default
 * for Gemini 2.5 and newer models, a request whose prompt starts with a prefix the same project sent "in a short
 * amount of time" is a cache hit, and the reply counts the hit tokens in `usageMetadata.cachedContentTokenCount`
 * (natively) or `usage.prompt_tokens_details.cached_tokens` (OpenAI-compatible surface).
 *
 * The fake's model of it, per project and per model (a project's keys share one cache, another project's prompts
 * never hit it, and a prefix seen on one model does not count on another):
 * - a prompt is the words of its text (the fake counts one token per whitespace-separated word, as its
 *   `promptTokenCount` does);
 * - a hit needs a common prefix of at least the model's minimum, from the caching page's table (updated 2026-10-13):
 *   4,096 tokens for the Gemini 3.x models (3.5/3.6/3.7/3.8 Flash, 3.1 Pro Preview), 2,048 for the 2.5 ones; older
 *   versions of the page said 1,024 for Flash models, so the fake takes the larger, stricter figure. Tests may lower
 *   it with the `implicitCacheMinTokens` option;
 * - "a short amount of time" is not given by Google: the fake remembers a project's prompts for
 *   {@link IMPLICIT_CACHE_TTL_MS} (a few minutes), at most {@link REMEMBERED_PROMPTS} of them per model;
 * - the hit is the longest common prefix with any remembered prompt, counted whole.
 *
 * @module
 */

/** How long the fake remembers a prompt for implicit caching (Google gives no figure; "a short amount of time"). */
export const IMPLICIT_CACHE_TTL_MS = 5 * 60 * 1000;
/** Prompts remembered per project and model; the oldest goes first. */
export const REMEMBERED_PROMPTS = 64;

/** The caching page's minimum prompt size, in tokens, for an implicit cache hit on `model`. */
export function implicitCacheMinTokens(model: string): number {
  return /^gemini-2\.5-/.test(model) ? 2048 : 4096;
}

export interface ImplicitCacheOptions {
  /** @default {@link implicitCacheMinTokens} */
  readonly minTokens?: (model: string) => number;
  /** @default {@link IMPLICIT_CACHE_TTL_MS} */
  readonly ttlMs?: number;
  /** epoch milliseconds; @default Date.now */
  readonly now?: () => number;
}

interface Remembered {
  readonly tokens: readonly string[];
  readonly at: number;
}

function commonPrefix(a: readonly string[], b: readonly string[]): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

/** The prompts each project sent each model lately, and the hits they give. */
export class ImplicitCache {
  private readonly seen = new Map<string, Remembered[]>();
  private readonly minTokens: (model: string) => number;
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(options: ImplicitCacheOptions = {}) {
    this.minTokens = options.minTokens ?? implicitCacheMinTokens;
    this.ttlMs = options.ttlMs ?? IMPLICIT_CACHE_TTL_MS;
    this.now = options.now ?? Date.now;
  }

  /**
   * The tokens of `prompt` that hit `project`'s cache for `model` (0 on a miss), after which the prompt is remembered
   * for the project's next requests.
   */
  use(project: string, model: string, prompt: readonly string[]): number {
    const min = this.minTokens(model);
    // a prompt shorter than the minimum can neither hit nor make a later prompt hit
    if (prompt.length < min) return 0;
    const slot = `${project}\u0000${model}`;
    const now = this.now();
    const fresh = (this.seen.get(slot) ?? []).filter((r) => now - r.at < this.ttlMs);
    let hit = 0;
    for (const r of fresh) hit = Math.max(hit, commonPrefix(prompt, r.tokens));
    fresh.push({ tokens: prompt, at: now });
    this.seen.set(slot, fresh.slice(-REMEMBERED_PROMPTS));
    return hit >= min ? hit : 0;
  }

  clear(): void {
    this.seen.clear();
  }
}
