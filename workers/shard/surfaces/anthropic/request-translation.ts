/**
 * Anthropic Messages requests (`POST /v1/messages`, `/v1/messages/count_tokens`) as Gemini native
 * `GenerateContentRequest`s. Native, not Google's OpenAI-compatible endpoint, so that system instructions, thinking,
 * thought signatures and token counting carry over. Every field the adapter cannot honour is refused with
 * Anthropic's `invalid_request_error` naming the field (`messages[2].content[0].source.type: …`), never dropped in
 * silence; fields that only tune Anthropic's own service (`metadata`, `cache_control`, `service_tier`, …) are
 * ignored.
 */
import { isJsonObject } from '../../../shared/json';
import type { AnthropicFailure } from './anthropic-types';
import { anthropicFailure } from './errors';
import type {
  GeminiContent,
  GeminiFunctionDeclaration,
  GeminiGenerateContentRequest,
  GeminiGenerationConfig,
  GeminiPart,
  GeminiToolConfig,
} from './gemini-types';
import { cleanSchema } from './tool-schema';
import { decodeToolUseId } from './tool-use-ids';

/**
 * The most output tokens current Gemini models produce; Gemini refuses a larger `maxOutputTokens` where Anthropic
 * accepts one (Claude Code asks for up to 128K on its top models), so larger `max_tokens` are lowered to it. The
 * answer is the same: no reply can be longer than the model's limit either way.
 */
export const GEMINI_MAX_OUTPUT_TOKENS = 65_536;

/** Gemini accepts at most this many stop sequences. */
export const MAX_STOP_SEQUENCES = 5;

/**
 * The placeholder Google documents for function calls it did not produce (a history begun on another model, or a
 * client that lost the signature): Gemini 3 then skips its signature check instead of refusing the turn.
 */
export const SKIP_SIGNATURE_VALIDATOR = 'skip_thought_signature_validator';

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

/** A validation failure deep inside the request; caught at the top and answered as a 400. */
class Invalid extends Error {}

type Json = Record<string, unknown>;

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.slice(0, 60))}`;
  return typeof value === 'object' ? 'an object' : String(value);
}

function fail(path: string, message: string): never {
  throw new Invalid(`${path}: ${message}`);
}

function expectObject(value: unknown, path: string): Json {
  if (!isJsonObject(value)) fail(path, `expected an object, received ${describe(value)}.`);
  return value;
}

function expectString(value: unknown, path: string): string {
  if (typeof value !== 'string') fail(path, `expected a string, received ${describe(value)}.`);
  return value;
}

function optionalNumber(value: unknown, path: string, integer = false): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (integer && !Number.isInteger(value))) {
    fail(path, `expected a non-negative ${integer ? 'integer' : 'number'}, received ${describe(value)}.`);
  }
  return value;
}

const IMAGE_TYPES = ['image/jpeg', 'image/png', 'image/gif', 'image/webp'];
const IMAGE_EXTENSIONS: Readonly<Record<string, string>> = {
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  png: 'image/png',
  gif: 'image/gif',
  webp: 'image/webp',
};

/** A URL Google fetches itself (public or signed http(s) URLs); the gateway never fetches it. */
function fileUrl(value: unknown, path: string): string {
  const url = expectString(value, path);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    fail(path, 'expected an absolute http(s) URL.');
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    fail(path, `Gemini fetches only http(s) URLs, received a ${parsed.protocol} URL; send the data as base64 instead.`);
  }
  return url;
}

function imagePart(block: Json, path: string): GeminiPart {
  const source = expectObject(block.source, `${path}.source`);
  switch (source.type) {
    case 'base64': {
      const mediaType = expectString(source.media_type, `${path}.source.media_type`);
      if (!IMAGE_TYPES.includes(mediaType)) {
        fail(
          `${path}.source.media_type`,
          `expected one of ${IMAGE_TYPES.join(', ')}, received ${describe(mediaType)}.`,
        );
      }
      return { inlineData: { mimeType: mediaType, data: expectString(source.data, `${path}.source.data`) } };
    }
    case 'url': {
      const url = fileUrl(source.url, `${path}.source.url`);
      const extension = /\.([A-Za-z]+)(?:[?#]|$)/.exec(new URL(url).pathname)?.[1]?.toLowerCase();
      const mimeType = extension === undefined ? undefined : IMAGE_EXTENSIONS[extension];
      return { fileData: { fileUri: url, ...(mimeType ? { mimeType } : {}) } };
    }
    case 'file':
      return fail(
        `${path}.source.type`,
        'Anthropic Files API ids mean nothing to Gemini; send the image as base64 or as a URL.',
      );
    default:
      return fail(`${path}.source.type`, `expected "base64" or "url", received ${describe(source.type)}.`);
  }
}

function documentParts(block: Json, path: string): GeminiPart[] {
  const source = expectObject(block.source, `${path}.source`);
  switch (source.type) {
    case 'base64': {
      const mediaType = expectString(source.media_type, `${path}.source.media_type`);
      if (mediaType !== 'application/pdf') {
        fail(`${path}.source.media_type`, `expected "application/pdf", received ${describe(mediaType)}.`);
      }
      return [{ inlineData: { mimeType: mediaType, data: expectString(source.data, `${path}.source.data`) } }];
    }
    case 'text':
      return [{ text: expectString(source.data, `${path}.source.data`) }];
    case 'url':
      return [{ fileData: { fileUri: fileUrl(source.url, `${path}.source.url`), mimeType: 'application/pdf' } }];
    case 'content': {
      if (typeof source.content === 'string') return [{ text: source.content }];
      if (!Array.isArray(source.content)) {
        fail(`${path}.source.content`, `expected a string or an array, received ${describe(source.content)}.`);
      }
      return source.content.flatMap((inner, i) => {
        const innerPath = `${path}.source.content[${i}]`;
        const b = expectObject(inner, innerPath);
        if (b.type === 'text') return [{ text: expectString(b.text, `${innerPath}.text`) }];
        if (b.type === 'image') return [imagePart(b, innerPath)];
        return fail(`${innerPath}.type`, `expected "text" or "image", received ${describe(b.type)}.`);
      });
    }
    case 'file':
      return fail(
        `${path}.source.type`,
        'Anthropic Files API ids mean nothing to Gemini; send the document as base64, text or a URL.',
      );
    default:
      return fail(
        `${path}.source.type`,
        `expected "base64", "text", "url" or "content", received ${describe(source.type)}.`,
      );
  }
}

function searchResultText(block: Json, path: string): string {
  const title = typeof block.title === 'string' ? block.title : '';
  const source = typeof block.source === 'string' ? block.source : '';
  const content = Array.isArray(block.content) ? block.content : [];
  const texts = content.map((c, i) =>
    expectString(expectObject(c, `${path}.content[${i}]`).text, `${path}.content[${i}].text`),
  );
  return [title, source, ...texts].filter((t) => t !== '').join('\n');
}

/** Blocks from Anthropic's server tools: Gemini cannot continue a conversation that ran them. */
const SERVER_TOOL_BLOCKS = /^(?:server_tool_use|[a-z_]+_tool_result|container_upload|mcp_tool_use|mcp_tool_result)$/;

function unsupportedBlock(type: unknown, path: string, allowed: string): never {
  if (typeof type === 'string' && SERVER_TOOL_BLOCKS.test(type)) {
    fail(
      `${path}.type`,
      `"${type}" blocks come from Anthropic's server-side tools, which this gateway cannot run; leave them out of the conversation.`,
    );
  }
  fail(`${path}.type`, `expected ${allowed}, received ${describe(type)}.`);
}

/** tool_result content: its text becomes the function's output, images and documents follow as parts of their own. */
function toolResult(block: Json, path: string, name: string): GeminiPart[] {
  const { callId } = decodeToolUseId(expectString(block.tool_use_id, `${path}.tool_use_id`));
  const texts: string[] = [];
  const media: GeminiPart[] = [];
  const content = block.content;
  if (typeof content === 'string') texts.push(content);
  else if (Array.isArray(content)) {
    content.forEach((inner, i) => {
      const innerPath = `${path}.content[${i}]`;
      const b = expectObject(inner, innerPath);
      if (b.type === 'text') texts.push(expectString(b.text, `${innerPath}.text`));
      else if (b.type === 'image') media.push(imagePart(b, innerPath));
      else if (b.type === 'document') media.push(...documentParts(b, innerPath));
      else if (b.type === 'search_result') texts.push(searchResultText(b, innerPath));
      else unsupportedBlock(b.type, innerPath, '"text", "image", "document" or "search_result"');
    });
  } else if (content !== undefined && content !== null) {
    fail(`${path}.content`, `expected a string or an array of blocks, received ${describe(content)}.`);
  }
  const output = texts.join('\n');
  // Gemini reads "output" and "error" as the function's result and failure
  const response = block.is_error === true ? { error: output } : { output };
  return [{ functionResponse: { name, response, ...(callId ? { id: callId } : {}) } }, ...media];
}

interface MessageContext {
  /** tool_use id → function name, from every assistant message */
  readonly toolNames: ReadonlyMap<string, string>;
  readonly placeholderSignatures: boolean;
}

function userParts(content: readonly unknown[], path: string, ctx: MessageContext): GeminiPart[] {
  const responses: GeminiPart[] = [];
  const others: GeminiPart[] = [];
  content.forEach((raw, i) => {
    const blockPath = `${path}[${i}]`;
    const block = expectObject(raw, blockPath);
    switch (block.type) {
      case 'text': {
        const text = expectString(block.text, `${blockPath}.text`);
        if (text !== '') others.push({ text });
        break;
      }
      case 'image':
        others.push(imagePart(block, blockPath));
        break;
      case 'document':
        others.push(...documentParts(block, blockPath));
        break;
      case 'search_result':
        others.push({ text: searchResultText(block, blockPath) });
        break;
      case 'tool_result': {
        const id = expectString(block.tool_use_id, `${blockPath}.tool_use_id`);
        const name = ctx.toolNames.get(id);
        if (name === undefined) {
          fail(
            `${blockPath}.tool_use_id`,
            `no tool_use block with id ${JSON.stringify(id.slice(0, 80))} in an earlier assistant message; every tool_result must answer one.`,
          );
        }
        responses.push(...toolResult(block, blockPath, name));
        break;
      }
      default:
        unsupportedBlock(block.type, blockPath, '"text", "image", "document", "search_result" or "tool_result"');
    }
  });
  // Gemini expects a turn's function responses first, as Anthropic requires of tool_result blocks
  return [...responses, ...others];
}

function assistantParts(content: readonly unknown[], path: string, ctx: MessageContext): GeminiPart[] {
  const parts: GeminiPart[] = [];
  // a thinking block's signature came with the part that followed the thought, so it goes back on that part
  let pendingSignature: string | undefined;
  let firstCall = true;
  const signed = (part: GeminiPart, own?: string): GeminiPart => {
    const signature = own ?? pendingSignature;
    pendingSignature = undefined;
    return signature === undefined ? part : { ...part, thoughtSignature: signature };
  };
  content.forEach((raw, i) => {
    const blockPath = `${path}[${i}]`;
    const block = expectObject(raw, blockPath);
    switch (block.type) {
      case 'text': {
        const text = expectString(block.text, `${blockPath}.text`);
        if (text !== '') parts.push(signed({ text }));
        break;
      }
      case 'thinking': {
        const signature = block.signature;
        if (typeof signature === 'string' && signature !== '') pendingSignature = signature;
        break;
      }
      case 'redacted_thinking':
        // Anthropic's encrypted reasoning means nothing to Gemini
        break;
      case 'tool_use': {
        const id = expectString(block.id, `${blockPath}.id`);
        const name = expectString(block.name, `${blockPath}.name`);
        const input = block.input ?? {};
        if (!isJsonObject(input)) fail(`${blockPath}.input`, `expected an object, received ${describe(input)}.`);
        const carried = decodeToolUseId(id);
        let signature = carried.signature ?? pendingSignature;
        if (signature === undefined && firstCall && ctx.placeholderSignatures) signature = SKIP_SIGNATURE_VALIDATOR;
        firstCall = false;
        parts.push(
          signed({ functionCall: { name, args: input, ...(carried.callId ? { id: carried.callId } : {}) } }, signature),
        );
        break;
      }
      case 'image':
        parts.push(imagePart(block, blockPath));
        break;
      default:
        unsupportedBlock(block.type, blockPath, '"text", "thinking", "redacted_thinking", "tool_use" or "image"');
    }
  });
  return parts;
}

function toolNamesOf(messages: readonly unknown[]): Map<string, string> {
  const names = new Map<string, string>();
  for (const message of messages) {
    if (!isJsonObject(message) || message.role !== 'assistant' || !Array.isArray(message.content)) continue;
    for (const block of message.content) {
      if (
        isJsonObject(block) &&
        block.type === 'tool_use' &&
        typeof block.id === 'string' &&
        typeof block.name === 'string'
      ) {
        names.set(block.id, block.name);
      }
    }
  }
  return names;
}

function systemTexts(value: unknown, path: string): string[] {
  if (value === undefined || value === null) return [];
  if (typeof value === 'string') return value === '' ? [] : [value];
  if (!Array.isArray(value)) fail(path, `expected a string or an array of text blocks, received ${describe(value)}.`);
  return value.flatMap((raw, i) => {
    const block = expectObject(raw, `${path}[${i}]`);
    if (block.type !== 'text') fail(`${path}[${i}].type`, `expected "text", received ${describe(block.type)}.`);
    const text = expectString(block.text, `${path}[${i}].text`);
    return text === '' ? [] : [text];
  });
}

function contentsOf(
  messagesValue: unknown,
  ctx: Omit<MessageContext, 'toolNames'>,
): { contents: GeminiContent[]; system: string[] } {
  if (!Array.isArray(messagesValue)) fail('messages', `expected an array, received ${describe(messagesValue)}.`);
  if (messagesValue.length === 0) fail('messages', 'at least one message is required.');
  const context: MessageContext = { ...ctx, toolNames: toolNamesOf(messagesValue) };
  const contents: GeminiContent[] = [];
  const system: string[] = [];
  messagesValue.forEach((raw, i) => {
    const path = `messages[${i}]`;
    const message = expectObject(raw, path);
    const role = message.role;
    if (role === 'system') {
      system.push(...systemTexts(message.content, `${path}.content`));
      return;
    }
    if (role !== 'user' && role !== 'assistant') {
      fail(`${path}.role`, `expected "user" or "assistant", received ${describe(role)}.`);
    }
    const content = typeof message.content === 'string' ? [{ type: 'text', text: message.content }] : message.content;
    if (!Array.isArray(content)) {
      fail(`${path}.content`, `expected a string or an array of blocks, received ${describe(message.content)}.`);
    }
    const parts =
      role === 'user'
        ? userParts(content, `${path}.content`, context)
        : assistantParts(content, `${path}.content`, context);
    if (parts.length === 0) return;
    const geminiRole = role === 'user' ? 'user' : 'model';
    const last = contents[contents.length - 1];
    // consecutive messages of one role are one turn to both APIs
    if (last !== undefined && last.role === geminiRole)
      contents[contents.length - 1] = { role: geminiRole, parts: [...last.parts, ...parts] };
    else contents.push({ role: geminiRole, parts });
  });
  if (contents.length === 0) fail('messages', 'every message is empty; send at least one with text or other content.');
  return { contents, system };
}

function toolsOf(value: unknown): GeminiFunctionDeclaration[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) fail('tools', `expected an array, received ${describe(value)}.`);
  return value.map((raw, i) => {
    const path = `tools[${i}]`;
    const tool = expectObject(raw, path);
    if (tool.type !== undefined && tool.type !== null && tool.type !== 'custom') {
      fail(
        `${path}.type`,
        `${describe(tool.type)} is a tool Anthropic defines or runs itself, which Gemini does not offer; declare it as a custom tool with a name and an input_schema.`,
      );
    }
    const name = expectString(tool.name, `${path}.name`);
    if (name === '') fail(`${path}.name`, 'must not be empty.');
    const schema = expectObject(tool.input_schema, `${path}.input_schema`);
    const description = tool.description;
    if (description !== undefined && description !== null) expectString(description, `${path}.description`);
    return {
      name,
      ...(typeof description === 'string' && description !== '' ? { description } : {}),
      parametersJsonSchema: cleanSchema(schema),
    };
  });
}

function toolConfigOf(
  value: unknown,
  declarations: readonly GeminiFunctionDeclaration[],
): GeminiToolConfig | undefined {
  if (value === undefined || value === null || declarations.length === 0) return undefined;
  const choice = expectObject(value, 'tool_choice');
  // disable_parallel_tool_use has no Gemini equivalent; the model may still call several functions at once
  switch (choice.type) {
    case 'auto':
      return { functionCallingConfig: { mode: 'AUTO' } };
    case 'any':
      return { functionCallingConfig: { mode: 'ANY' } };
    case 'none':
      return { functionCallingConfig: { mode: 'NONE' } };
    case 'tool': {
      const name = expectString(choice.name, 'tool_choice.name');
      if (!declarations.some((d) => d.name === name)) {
        fail('tool_choice.name', `${JSON.stringify(name.slice(0, 80))} is not the name of a tool in tools.`);
      }
      return { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: [name] } };
    }
    default:
      return fail('tool_choice.type', `expected "auto", "any", "tool" or "none", received ${describe(choice.type)}.`);
  }
}

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

function generationConfigOf(body: Json): GeminiGenerationConfig {
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
