/**
 * Anthropic content blocks a client sends (image, document, search_result, tool_result) as Gemini parts. Sources
 * Gemini cannot reach (Anthropic Files API ids, non-http URLs) and blocks of Anthropic's server tools are refused.
 */
import type { GeminiPart } from './gemini-types';
import { describe, expectObject, expectString, fail, type Json } from './request-checks';
import { decodeToolUseId } from './tool-use-ids';

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

export function imagePart(block: Json, path: string): GeminiPart {
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

export function documentParts(block: Json, path: string): GeminiPart[] {
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

export function searchResultText(block: Json, path: string): string {
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

export function unsupportedBlock(type: unknown, path: string, allowed: string): never {
  if (typeof type === 'string' && SERVER_TOOL_BLOCKS.test(type)) {
    fail(
      `${path}.type`,
      `"${type}" blocks come from Anthropic's server-side tools, which this gateway cannot run; leave them out of the conversation.`,
    );
  }
  fail(`${path}.type`, `expected ${allowed}, received ${describe(type)}.`);
}

/** tool_result content: its text becomes the function's output, images and documents follow as parts of their own. */
export function toolResult(block: Json, path: string, name: string): GeminiPart[] {
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
