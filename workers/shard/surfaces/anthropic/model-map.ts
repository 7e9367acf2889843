/**
 * Which Gemini model answers a request on the Anthropic surface. Anthropic clients name Claude models
 * (`claude-opus-4-8`, `claude-sonnet-4-6`, `claude-3-5-haiku-latest`, `claude-fable-5`); the model line (opus,
 * sonnet, haiku, fable, mythos, …) maps to one Gemini model through a setting fixed at synth time. A Gemini model
 * name passes through unchanged, so a client can also ask for a Gemini model by its own name.
 */
import { type AnthropicModelMap, ANTHROPIC_MODEL_ID_PATTERN as MODEL_ID_RE } from '../../../shared/contract';
import type { AnthropicFailure } from './anthropic-types';
import { anthropicFailure } from './errors';

// the setting's shape, defaults and parser are in the contract, so synth checks it with the same code
export {
  type AnthropicModelMap,
  DEFAULT_ANTHROPIC_MODEL_MAP,
  type ModelMapParse,
  parseAnthropicModelMap,
} from '../../../shared/contract';

/** Model families Google serves through `generateContent`. */
const GEMINI_NAME_RE = /^(?:gemini|gemma|learnlm)-/;

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
