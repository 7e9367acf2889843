/**
 * The generation settings of a Responses request (`max_output_tokens`, sampling, `reasoning`, `text.format`) as
 * Gemini's `generationConfig`, and the settings the response object repeats back. Reasoning effort becomes a thinking
 * level on Gemini 3 and later, a thinking budget on Gemini 2 (Google's OpenAI-compatible endpoint uses the same
 * budgets); asking for a reasoning summary turns on Gemini's thought summaries, which stream as reasoning summary text.
 */
import { GEMINI_MAX_OUTPUT_TOKENS } from '../anthropic/request-generation-config';
import { describe, expectObject, expectString, fail, type Json, optionalNumber } from '../anthropic/request-checks';
import { cleanSchema } from '../anthropic/tool-schema';
import type { GeminiConfig, GeminiThinkingConfig } from './gemini-request';
import type { EchoedSettings } from './responses-types';

const EFFORTS = ['none', 'minimal', 'low', 'medium', 'high', 'xhigh'] as const;
type Effort = (typeof EFFORTS)[number];

/** Gemini 3's thinking levels; it cannot turn thinking off, so `none` asks for the least. */
const LEVELS: Readonly<Record<Effort, string>> = {
  none: 'minimal',
  minimal: 'minimal',
  low: 'low',
  medium: 'medium',
  high: 'high',
  xhigh: 'high',
};

/** Gemini 2's budgets, as Google's OpenAI-compatible endpoint maps `reasoning_effort` (low 1K, medium 8K, high 24K). */
const BUDGETS: Readonly<Record<Effort, number>> = {
  none: 0,
  minimal: 512,
  low: 1024,
  medium: 8192,
  high: 24_576,
  xhigh: 24_576,
};

const SUMMARIES = new Set(['auto', 'concise', 'detailed']);

/** What the model's generation decides: whether it thinks in levels (Gemini 3 and later) or budgets, if at all. */
export interface ThinkingStyle {
  readonly levels: boolean;
  readonly thinks: boolean;
}

function effortOf(reasoning: Json): Effort | undefined {
  const effort = reasoning.effort;
  if (effort === undefined || effort === null) return undefined;
  if (!EFFORTS.includes(effort as Effort)) {
    fail('reasoning.effort', `expected one of ${EFFORTS.join(', ')}, received ${describe(effort)}.`);
  }
  return effort as Effort;
}

function thinkingOf(value: unknown, style: ThinkingStyle): GeminiThinkingConfig | undefined {
  if (value === undefined || value === null || !style.thinks) return undefined;
  const reasoning = expectObject(value, 'reasoning');
  const effort = effortOf(reasoning);
  // `generate_summary` is the older spelling of `summary`
  const summary = reasoning.summary ?? reasoning.generate_summary;
  if (summary !== undefined && summary !== null && !SUMMARIES.has(summary as string)) {
    fail('reasoning.summary', `expected "auto", "concise" or "detailed", received ${describe(summary)}.`);
  }
  const includeThoughts = summary !== undefined && summary !== null;
  const amount =
    effort === undefined ? {} : style.levels ? { thinkingLevel: LEVELS[effort] } : { thinkingBudget: BUDGETS[effort] };
  const config = { ...amount, ...(includeThoughts ? { includeThoughts } : {}) };
  return Object.keys(config).length > 0 ? config : undefined;
}

/** Structured output: `text.format` of type `json_schema` (or `json_object`); `text.verbosity` has no equivalent. */
function formatOf(body: Json): Pick<GeminiConfig, 'responseMimeType' | 'responseJsonSchema'> {
  const text = body.text;
  if (text === undefined || text === null) return {};
  const format = expectObject(text, 'text').format;
  if (format === undefined || format === null) return {};
  const f = expectObject(format, 'text.format');
  switch (f.type) {
    case 'text':
      return {};
    case 'json_object':
      return { responseMimeType: 'application/json' };
    case 'json_schema':
      return {
        responseMimeType: 'application/json',
        responseJsonSchema: cleanSchema(expectObject(f.schema, 'text.format.schema')),
      };
    default:
      return fail('text.format.type', `expected "text", "json_object" or "json_schema", received ${describe(f.type)}.`);
  }
}

function maxTokensOf(value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    fail('max_output_tokens', `expected a positive integer, received ${describe(value)}.`);
  }
  return Math.min(value, GEMINI_MAX_OUTPUT_TOKENS);
}

export function generationConfigOf(body: Json, style: ThinkingStyle): GeminiConfig | undefined {
  const logprobs = body.top_logprobs;
  if (typeof logprobs === 'number' && logprobs > 0)
    fail('top_logprobs', 'Gemini does not return log probabilities here.');
  const maxOutputTokens = maxTokensOf(body.max_output_tokens);
  const temperature = optionalNumber(body.temperature, 'temperature');
  const topP = optionalNumber(body.top_p, 'top_p');
  const thinkingConfig = thinkingOf(body.reasoning, style);
  const config: GeminiConfig = {
    ...(maxOutputTokens !== undefined ? { maxOutputTokens } : {}),
    ...(temperature !== undefined ? { temperature } : {}),
    ...(topP !== undefined ? { topP } : {}),
    ...(thinkingConfig !== undefined ? { thinkingConfig } : {}),
    ...formatOf(body),
  };
  return Object.keys(config).length > 0 ? config : undefined;
}

function nullableNumber(value: unknown): number | null {
  return typeof value === 'number' ? value : null;
}

function stringMap(value: unknown): Readonly<Record<string, string>> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return {};
  return Object.fromEntries(Object.entries(value).filter((e): e is [string, string] => typeof e[1] === 'string'));
}

/** The request's settings as its response repeats them (already validated by the translation). */
export function echoedSettings(body: Json): EchoedSettings {
  const reasoning = body.reasoning !== null && typeof body.reasoning === 'object' ? (body.reasoning as Json) : {};
  const text = body.text !== null && typeof body.text === 'object' ? (body.text as Json) : {};
  return {
    instructions: typeof body.instructions === 'string' ? body.instructions : null,
    max_output_tokens: nullableNumber(body.max_output_tokens),
    parallel_tool_calls: body.parallel_tool_calls !== false,
    temperature: nullableNumber(body.temperature),
    top_p: nullableNumber(body.top_p),
    tool_choice: body.tool_choice ?? 'auto',
    reasoning: {
      effort: typeof reasoning.effort === 'string' ? reasoning.effort : null,
      summary: typeof reasoning.summary === 'string' ? reasoning.summary : null,
    },
    text: { format: text.format ?? { type: 'text' } },
    metadata: stringMap(body.metadata),
    ...(typeof body.prompt_cache_key === 'string' ? { prompt_cache_key: body.prompt_cache_key } : {}),
  };
}

/** `instructions`, the system prompt outside `input`. */
export function instructionsOf(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  const text = expectString(value, 'instructions');
  return text === '' ? undefined : text;
}
