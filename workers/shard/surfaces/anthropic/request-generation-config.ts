/**
 * The generation settings of an Anthropic request (`max_tokens`, sampling, `stop_sequences`, `thinking`, structured
 * output) as Gemini's `generationConfig`, within the limits Gemini accepts.
 */
import { isJsonObject } from '../../../shared/json';
import type { GeminiGenerationConfig } from './gemini-types';
import { describe, expectObject, expectString, fail, type Json, optionalNumber } from './request-checks';
import { cleanSchema } from './tool-schema';

/**
 * The most output tokens current Gemini models produce; Gemini refuses a larger `maxOutputTokens` where Anthropic
 * accepts one (Claude Code asks for up to 128K on its top models), so larger `max_tokens` are lowered to it. The
 * answer is the same: no reply can be longer than the model's limit either way.
 */
export const GEMINI_MAX_OUTPUT_TOKENS = 65_536;

/** Gemini accepts at most this many stop sequences. */
export const MAX_STOP_SEQUENCES = 5;

function thinkingConfigOf(value: unknown): GeminiGenerationConfig['thinkingConfig'] {
  if (value === undefined || value === null) return undefined;
  const thinking = expectObject(value, 'thinking');
  const includeThoughts = thinking.display !== 'omitted';
  switch (thinking.type) {
    case 'disabled':
      return undefined;
    case 'enabled': {
      const budget = thinking.budget_tokens;
      if (typeof budget !== 'number' || !Number.isInteger(budget) || budget < 1) {
        fail('thinking.budget_tokens', `expected a positive integer, received ${describe(budget)}.`);
      }
      return { thinkingBudget: budget, includeThoughts };
    }
    case 'adaptive':
    case 'between_tools':
      // Gemini decides how much to think by default; only whether thoughts come back is the client's to say
      return includeThoughts ? { includeThoughts } : undefined;
    default:
      return fail(
        'thinking.type',
        `expected "enabled", "adaptive" or "disabled", received ${describe(thinking.type)}.`,
      );
  }
}

/** Structured output: `output_config.format` (or the older `output_format`) of type `json_schema`. */
function responseFormatOf(body: Json): Pick<GeminiGenerationConfig, 'responseMimeType' | 'responseJsonSchema'> {
  const config = body.output_config;
  const [format, path] =
    isJsonObject(config) && config.format !== undefined && config.format !== null
      ? [config.format, 'output_config.format']
      : [body.output_format, 'output_format'];
  if (format === undefined || format === null) return {};
  const f = expectObject(format, path);
  if (f.type !== 'json_schema') fail(`${path}.type`, `expected "json_schema", received ${describe(f.type)}.`);
  return {
    responseMimeType: 'application/json',
    responseJsonSchema: cleanSchema(expectObject(f.schema, `${path}.schema`)),
  };
}

export function generationConfigOf(body: Json): GeminiGenerationConfig {
  const maxTokens = body.max_tokens;
  if (typeof maxTokens !== 'number' || !Number.isInteger(maxTokens) || maxTokens < 1) {
    fail('max_tokens', `expected a positive integer, received ${describe(maxTokens)}.`);
  }
  const stops = body.stop_sequences;
  let stopSequences: string[] | undefined;
  if (stops !== undefined && stops !== null) {
    if (!Array.isArray(stops)) fail('stop_sequences', `expected an array of strings, received ${describe(stops)}.`);
    stopSequences = stops.map((s, i) => expectString(s, `stop_sequences[${i}]`));
    if (stopSequences.length > MAX_STOP_SEQUENCES) {
      fail(
        'stop_sequences',
        `Gemini accepts at most ${MAX_STOP_SEQUENCES} stop sequences, received ${stopSequences.length}.`,
      );
    }
  }
  const temperature = optionalNumber(body.temperature, 'temperature');
  const topP = optionalNumber(body.top_p, 'top_p');
  const topK = optionalNumber(body.top_k, 'top_k', true);
  const thinkingConfig = thinkingConfigOf(body.thinking);
  return {
    maxOutputTokens: Math.min(maxTokens, GEMINI_MAX_OUTPUT_TOKENS),
    ...(temperature !== undefined ? { temperature } : {}),
    ...(topP !== undefined ? { topP } : {}),
    ...(topK !== undefined ? { topK } : {}),
    ...(stopSequences !== undefined && stopSequences.length > 0 ? { stopSequences } : {}),
    ...(thinkingConfig !== undefined ? { thinkingConfig } : {}),
    ...responseFormatOf(body),
  };
}
