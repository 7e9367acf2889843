/**
 * Which Gemini model answers a request on the Anthropic surface. Anthropic clients name Claude models
 * (`claude-opus-4-8`, `claude-sonnet-4-5-20250929`, `claude-3-5-haiku-latest`); each family maps to one Gemini model
 * through a setting fixed at synth time. A Gemini model name passes through unchanged, so a client can also ask for
 * a Gemini model by its own name.
 */
import type { AnthropicFailure } from './anthropic-types';
import { anthropicFailure } from './errors';

/** The Gemini model (an id such as `gemini-3.5-flash`) behind each Claude family. */
export interface AnthropicModelMap {
  readonly opus: string;
  readonly sonnet: string;
  readonly haiku: string;
}

/**
 * Defaults: stable models every free-tier key can call, a different one per family so each family draws on its
 * own per-model quota. Opus gets Google's strongest stable Flash (the replacement Google names for
 * `gemini-2.5-pro`), not a Pro model: Pro models have no free-tier quota, and Claude Code asks for Opus by default.
 */
export const DEFAULT_ANTHROPIC_MODEL_MAP: AnthropicModelMap = {
  opus: 'gemini-3.8-flash',
  sonnet: 'gemini-3.5-flash',
  haiku: 'gemini-3.5-flash-lite',
};

export const ANTHROPIC_FAMILIES = ['opus', 'sonnet', 'haiku'] as const;
type Family = (typeof ANTHROPIC_FAMILIES)[number];

function isFamily(key: string): key is Family {
  return (ANTHROPIC_FAMILIES as readonly string[]).includes(key);
}

/** Gemini model ids as the routes accept them: letters, digits, `.`, `_`, `-`, at most 128 characters. */
const MODEL_ID_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
/** Model families Google serves through `generateContent`. */
const GEMINI_NAME_RE = /^(?:gemini|gemma|learnlm)-/;

export type ModelChoice = { readonly ok: true; readonly gemini: string; readonly requested: string } | AnthropicFailure;

/** Resolves the request's `model` field to the Gemini model that will answer it. */
export function resolveModel(value: unknown, map: AnthropicModelMap): ModelChoice {
  if (typeof value !== 'string' || value === '') {
    return anthropicFailure(
      400,
      'model: Field required. Send a Claude model name (e.g. "claude-sonnet-4-5") or a Gemini model id.',
    );
  }
  const bare = value.startsWith('models/') ? value.slice('models/'.length) : value;
  if (bare.startsWith('claude-')) {
    const family = ANTHROPIC_FAMILIES.find((f) => bare.includes(f));
    if (family !== undefined) return { ok: true, gemini: map[family], requested: value };
  } else if (GEMINI_NAME_RE.test(bare) && MODEL_ID_RE.test(bare)) {
    return { ok: true, gemini: bare, requested: value };
  }
  // the name is the client's own text, echoed back to it; JSON encoding keeps control characters visible
  return anthropicFailure(
    404,
    `model: ${JSON.stringify(value.slice(0, 200))} is not served here. Use a Claude model name of the opus, sonnet or haiku family (this gateway answers them with ${map.opus}, ${map.sonnet} and ${map.haiku}), or a Gemini model id such as "${map.sonnet}".`,
  );
}

export type ModelMapParse =
  | { readonly ok: true; readonly map: AnthropicModelMap }
  | { readonly ok: false; readonly problem: string };

/**
 * Reads the synth-time setting: a JSON object naming a Gemini model for any of `opus`, `sonnet`, `haiku` (families
 * left out keep their default). Empty or absent means the defaults. The problem text names the setting's fields
 * and the allowed values, never anything else from the environment.
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
    return { ok: false, problem: `${setting} must be a JSON object with keys opus, sonnet and/or haiku` };
  }
  const map: { -readonly [F in Family]: string } = { ...DEFAULT_ANTHROPIC_MODEL_MAP };
  for (const [key, model] of Object.entries(parsed)) {
    if (!isFamily(key)) {
      return { ok: false, problem: `${setting} has an unknown key "${key}"; allowed keys are opus, sonnet, haiku` };
    }
    if (typeof model !== 'string' || !MODEL_ID_RE.test(model)) {
      return {
        ok: false,
        problem: `${setting}.${key} must be a Gemini model id of letters, digits, ".", "_" or "-" (e.g. "gemini-3.5-flash")`,
      };
    }
    map[key] = model;
  }
  return { ok: true, map };
}
