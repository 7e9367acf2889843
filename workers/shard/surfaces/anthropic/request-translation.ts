/**
 * Anthropic Messages requests (`POST /v1/messages`, `/v1/messages/count_tokens`) as Gemini native
 * `GenerateContentRequest`s. Native, not Google's OpenAI-compatible endpoint, so that system instructions, thinking,
 * thought signatures and token counting carry over. Every field the adapter cannot honour is refused with
 * Anthropic's `invalid_request_error` naming the field (`messages[2].content[0].source.type: …`), never dropped in
 * silence; fields that only tune Anthropic's own service (`metadata`, `cache_control`, `service_tier`, …) are
 * ignored.
 */
import type { AnthropicFailure } from './anthropic-types';
import { anthropicFailure } from './errors';
import type { GeminiGenerateContentRequest } from './gemini-types';
import { describe, expectObject, fail, Invalid } from './request-checks';
import { generationConfigOf } from './request-generation-config';
import { contentsOf, systemTexts } from './request-messages';
import { toolConfigOf, toolsOf } from './request-tools';

export { GEMINI_MAX_OUTPUT_TOKENS, MAX_STOP_SEQUENCES } from './request-generation-config';
export { SKIP_SIGNATURE_VALIDATOR } from './request-messages';

export interface RequestTranslationOptions {
  /** count_tokens: `max_tokens` is not required and generation settings are left out */
  readonly forCountTokens?: boolean;
  /** put {@link SKIP_SIGNATURE_VALIDATOR} on function call turns that lost their signature (Gemini 3 and later) */
  readonly placeholderSignatures: boolean;
}

export interface TranslatedRequest {
  readonly ok: true;
  readonly request: GeminiGenerateContentRequest;
  readonly stream: boolean;
}

/**
 * Translates a Messages request body (already parsed) into Gemini's request. The model is resolved apart (see
 * `model-map.ts`); `stream` says which Gemini action the caller must use.
 */
export function translateMessagesRequest(
  body: unknown,
  o: RequestTranslationOptions,
): TranslatedRequest | AnthropicFailure {
  try {
    const b = expectObject(body, 'body');
    if (b.stream !== undefined && b.stream !== null && typeof b.stream !== 'boolean') {
      fail('stream', `expected true or false, received ${describe(b.stream)}.`);
    }
    const system = systemTexts(b.system, 'system');
    const { contents, system: inline } = contentsOf(b.messages, { placeholderSignatures: o.placeholderSignatures });
    const texts = [...system, ...inline];
    const declarations = toolsOf(b.tools);
    const toolConfig = toolConfigOf(b.tool_choice, declarations);
    const request: GeminiGenerateContentRequest = {
      contents,
      ...(texts.length > 0 ? { systemInstruction: { parts: texts.map((text) => ({ text })) } } : {}),
      ...(declarations.length > 0 ? { tools: [{ functionDeclarations: declarations }] } : {}),
      ...(toolConfig !== undefined ? { toolConfig } : {}),
      ...(o.forCountTokens ? {} : { generationConfig: generationConfigOf(b) }),
    };
    return { ok: true, request, stream: b.stream === true };
  } catch (e) {
    if (e instanceof Invalid) return anthropicFailure(400, e.message);
    throw e;
  }
}
