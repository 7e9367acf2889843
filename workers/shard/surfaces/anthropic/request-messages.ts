/**
 * The `messages` and `system` of an Anthropic request as Gemini `contents` and system texts: user and assistant
 * blocks become parts of `user` and `model` turns, tool results are matched to the tool calls they answer, and thought
 * signatures go back on the parts Gemini gave them with.
 */
import { isJsonObject } from '../../../shared/json';
import type { GeminiContent, GeminiPart } from './gemini-types';
import { describe, expectObject, expectString, fail } from './request-checks';
import { documentParts, imagePart, searchResultText, toolResult, unsupportedBlock } from './request-content-blocks';
import { decodeToolUseId } from './tool-use-ids';

/**
 * The placeholder Google documents for function calls it did not produce (a history begun on another model, or a
 * client that lost the signature): Gemini 3 then skips its signature check instead of refusing the turn.
 */
export const SKIP_SIGNATURE_VALIDATOR = 'skip_thought_signature_validator';

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

export function systemTexts(value: unknown, path: string): string[] {
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

export function contentsOf(
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
