/**
 * What Google answers a request it will not serve whatever the key: a model it does not serve (unknown or shut
 * down), a method the model does not support, and a generation request without a prompt. Each answer is worded as
 * Google's, with where that wording comes from.
 *
 * @module
 */
import type { GoogleErrorObject } from './google-errors';
import { FAKE_MODELS } from './replies';

/**
 * Google's 404 for a model it does not serve, or does not serve for `method` (its long-standing wording;
 * google/adk-python#200 quotes the whole body: `{"code": 404, "message": "models/gemini-2.0-flash-live-001 is not
 * found for API version v1beta, or is not supported for generateContent. Call ListModels to see the list of available
 * models and their supported methods.", "status": "NOT_FOUND"}`). A shut-down model answers it too: "Once a model is
 * shut down, it is completely turned off, and the endpoint is no longer available"
 * (ai.google.dev/gemini-api/docs/deprecations).
 */
export function modelNotFound(model: string, method: string): GoogleErrorObject {
  return {
    code: 404,
    message:
      `models/${model} is not found for API version v1beta, or is not supported for ${method}. ` +
      'Call ListModels to see the list of available models and their supported methods.',
    status: 'NOT_FOUND',
  };
}

/** The methods a model supports, as its `supportedGenerationMethods` lists them. */
export function supportedMethods(model: string): readonly string[] {
  if (model.startsWith('imagen-')) return ['predict'];
  if (model.includes('embedding')) return ['embedContent', 'batchEmbedContents', 'asyncBatchEmbedContent'];
  return ['generateContent', 'countTokens', 'createCachedContent', 'streamGenerateContent', 'batchGenerateContent'];
}

/** The 404 for `model` (with or without `models/`) and `method`, or undefined when the fake serves that pair. */
export function modelError(model: string, method: string): GoogleErrorObject | undefined {
  const id = model.replace(/^models\//, '');
  return FAKE_MODELS.includes(id) && supportedMethods(id).includes(method) ? undefined : modelNotFound(id, method);
}

/**
 * Google's 400 for a generation request without a prompt: no `contents`, or a content without `parts` (both quoted
 * verbatim in client issues: vercel/ai#3775 "* GenerateContentRequest.contents: contents is not specified", and
 * egoist/chatwise-releases#250 "* GenerateContentRequest.contents[1].parts: contents.parts must not be empty.").
 */
export function emptyContentsError(contents: unknown): GoogleErrorObject | undefined {
  if (!Array.isArray(contents) || contents.length === 0) {
    return {
      code: 400,
      message: '* GenerateContentRequest.contents: contents is not specified\n',
      status: 'INVALID_ARGUMENT',
    };
  }
  const empty = contents.findIndex((c) => {
    const parts = (c as { parts?: unknown } | null)?.parts;
    return !Array.isArray(parts) || parts.length === 0;
  });
  if (empty === -1) return undefined;
  return {
    code: 400,
    message: `* GenerateContentRequest.contents[${empty}].parts: contents.parts must not be empty.\n`,
    status: 'INVALID_ARGUMENT',
  };
}

/**
 * The compat endpoint's 400 for a chat completion without messages: it translates the call into a
 * `GenerateContentRequest`, so an empty `messages` is an empty `contents` (an OpenAI-shaped relay quotes it so:
 * ikechan8370/chatgpt-plugin#733). System messages become the system instruction, not contents, so a request of
 * system messages only is refused the same way.
 */
export function emptyMessagesError(messages: unknown): GoogleErrorObject | undefined {
  const turns = Array.isArray(messages)
    ? messages.filter((m) => (m as { role?: unknown } | null)?.role !== 'system')
    : [];
  return turns.length > 0 ? undefined : emptyContentsError([]);
}
