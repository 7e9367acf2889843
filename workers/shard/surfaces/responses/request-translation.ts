/**
 * A Responses request (`POST /v1/responses`) as a Gemini native `GenerateContentRequest`. Native, not Google's
 * OpenAI-compatible endpoint (which has no Responses API), so that system instructions, thinking, thought signatures,
 * function schemas and Google Search carry over. A field the gateway cannot honour is refused with OpenAI's
 * `invalid_request_error` naming it (`input[2].content[0].file_id: …`); fields that only tune OpenAI's own service
 * (`service_tier`, `prompt_cache_retention`, `safety_identifier`, `user`, `client_metadata`, `include`, `truncation`)
 * are ignored. What needs state kept between calls (`previous_response_id`, `store: true`, `background`,
 * `conversation`, stored `prompt`s) is refused with the way out: resend the whole input with `store: false`, as
 * Codex does.
 */
import { Invalid, expectObject, type Json } from '../anthropic/request-checks';
import { needsPlaceholderSignatures } from '../anthropic/adapter';
import { invalidRequest, responsesFailure } from './errors';
import { FunctionNames } from './function-names';
import type { GeminiPart, GeminiRequest } from './gemini-request';
import { echoedSettings, generationConfigOf, instructionsOf } from './request-config';
import { inputOf } from './request-input';
import { toolConfigOf, toolsOf } from './request-tools';
import type { EchoedSettings, ResponsesFailure } from './responses-types';

export interface TranslatedRequest {
  readonly ok: true;
  readonly request: GeminiRequest;
  readonly stream: boolean;
  /** the request's functions, to name Gemini's calls as the client declared them */
  readonly names: FunctionNames;
  readonly echo: EchoedSettings;
}

const RESEND = 'This gateway keeps no state between requests: send the whole conversation in input with store: false';

/** The refusal of a field that needs responses kept between calls, or undefined. */
export function statefulFieldFailure(body: Json): ResponsesFailure | undefined {
  if (body.previous_response_id !== undefined && body.previous_response_id !== null) {
    return responsesFailure(
      400,
      'previous_response_not_found',
      `${RESEND} instead of previous_response_id.`,
      'previous_response_id',
    );
  }
  if (body.store === true) {
    return responsesFailure(400, 'store_not_supported', `${RESEND} (or leave store out).`, 'store');
  }
  if (body.background === true) {
    return responsesFailure(
      400,
      'background_not_supported',
      `${RESEND} and without background: the answer streams or comes back whole.`,
      'background',
    );
  }
  for (const field of ['conversation', 'prompt'] as const) {
    if (body[field] !== undefined && body[field] !== null) {
      return responsesFailure(400, `${field}_not_supported`, `${RESEND} instead of a stored ${field}.`, field);
    }
  }
  return undefined;
}

/** Model families that take thinking settings and Google Search (Gemma and LearnLM take neither). */
function isGemini(model: string): boolean {
  return model.startsWith('gemini-');
}

function systemInstructionOf(texts: readonly string[]): { systemInstruction?: { parts: GeminiPart[] } } {
  return texts.length > 0 ? { systemInstruction: { parts: texts.map((text) => ({ text })) } } : {};
}

/**
 * Translates a Responses request body (already parsed, its stateful fields checked) for `geminiModel`; `stream`
 * says which Gemini action the caller must use.
 */
export function translateResponsesRequest(body: unknown, geminiModel: string): TranslatedRequest | ResponsesFailure {
  try {
    const b = expectObject(body, 'body');
    if (b.stream !== undefined && b.stream !== null && typeof b.stream !== 'boolean') {
      return invalidRequest('stream: expected true or false.');
    }
    const gemini3 = needsPlaceholderSignatures(geminiModel);
    const instructions = instructionsOf(b.instructions);
    const { contents, system } = inputOf(b.input, { placeholderSignatures: gemini3 });
    const names = new FunctionNames();
    const support = { model: geminiModel, alone: isGemini(geminiModel), withFunctions: gemini3 };
    const tools = toolsOf(b.tools, names, support);
    const toolConfig = toolConfigOf(b.tool_choice, tools, names);
    const generationConfig = generationConfigOf(b, { levels: gemini3, thinks: isGemini(geminiModel) });
    const request: GeminiRequest = {
      contents,
      ...systemInstructionOf([...(instructions !== undefined ? [instructions] : []), ...system]),
      ...(tools.declarations.length > 0 || tools.search
        ? {
            tools: [
              ...(tools.declarations.length > 0 ? [{ functionDeclarations: tools.declarations }] : []),
              ...(tools.search ? [{ googleSearch: {} }] : []),
            ],
          }
        : {}),
      ...(toolConfig !== undefined ? { toolConfig } : {}),
      ...(generationConfig !== undefined ? { generationConfig } : {}),
    };
    return { ok: true, request, stream: b.stream === true, names, echo: echoedSettings(b) };
  } catch (e) {
    if (e instanceof Invalid) return invalidRequest(e.message);
    throw e;
  }
}
