/**
 * Which Gemini model answers a request on the Anthropic surface. Anthropic clients name Claude models
 * (`claude-opus-4-8`, `claude-sonnet-4-6`, `claude-3-5-haiku-latest`, `claude-fable-5`); the model line (opus,
 * sonnet, haiku, fable, mythos, …) maps to one Gemini model through a setting fixed at synth time. A Gemini model
 * name passes through unchanged, so a client can also ask for a Gemini model by its own name.
 */
import type { AnthropicFailure } from './anthropic-types';
import { anthropicFailure } from './errors';

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

/** Gemini model ids as the routes accept them: letters, digits, `.`, `_`, `-`, at most 128 characters. */
const MODEL_ID_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
/** Model families Google serves through `generateContent`. */
const GEMINI_NAME_RE = /^(?:gemini|gemma|learnlm)-/;
/** A Claude model line as the setting may name it. */
const LINE_RE = /^[a-z]{2,32}$/;

/** The line of a Claude model name: its first word after `claude-` (`claude-3-5-haiku-latest` → `haiku`). */
function lineOf(name: string): string | undefined {
  return name
    .slice('claude-'.length)
    .split('-')
    .find((word) => /^[a-z]+$/.test(word));
}

export type ModelChoice = { readonly ok: true; readonly gemini: string; readonly requested: string } | AnthropicFailure;

/** Resolves the request's `model` field to the Gemini model that will answer it. */
export function resolveModel(value: unknown, map: AnthropicModelMap): ModelChoice {
  if (typeof value !== 'string' || value === '') {
    return anthropicFailure(
      400,
      'model: Field required. Send a Claude model name (e.g. "claude-sonnet-4-6") or a Gemini model id.',
    );
  }
  const bare = value.startsWith('models/') ? value.slice('models/'.length) : value;
  if (bare.startsWith('claude-')) {
    const line = lineOf(bare);
    const gemini = line === undefined ? undefined : map[line];
    if (gemini !== undefined) return { ok: true, gemini, requested: value };
  } else if (GEMINI_NAME_RE.test(bare) && MODEL_ID_RE.test(bare)) {
    return { ok: true, gemini: bare, requested: value };
  }
  const lines = Object.entries(map).map(([line, gemini]) => `${line} → ${gemini}`);
  // the name is the client's own text, echoed back to it; JSON encoding keeps control characters visible
  return anthropicFailure(
    404,
    `model: ${JSON.stringify(value.slice(0, 200))} is not served here. Use a Claude model name of a line this gateway maps (${lines.join(', ')}) or a Gemini model id such as "${map.sonnet}".`,
  );
}

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
    if (!LINE_RE.test(line)) {
      return {
        ok: false,
        problem: `${setting} has the key ${JSON.stringify(line.slice(0, 40))}; keys are Claude model lines in lowercase letters (opus, sonnet, haiku, fable, mythos, …)`,
      };
    }
    if (typeof model !== 'string' || !MODEL_ID_RE.test(model)) {
      return {
        ok: false,
        problem: `${setting}.${line} must be a Gemini model id of letters, digits, ".", "_" or "-" (e.g. "gemini-3.5-flash")`,
      };
    }
    map[line] = model;
  }
  return { ok: true, map };
}
