/**
 * The content of Responses input items as Gemini parts: text, images and files (inline as base64 data URLs, or as
 * http(s) URLs Google fetches itself), audio, and what a `function_call_output` returns. OpenAI file ids mean nothing
 * to Gemini and are refused, naming the field.
 */
import { describe, expectObject, expectString, fail, type Json } from '../anthropic/request-checks';
import type { GeminiPart } from './gemini-request';

const MIME_BY_EXTENSION: Readonly<Record<string, string>> = {
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  png: 'image/png',
  gif: 'image/gif',
  webp: 'image/webp',
  heic: 'image/heic',
  pdf: 'application/pdf',
  txt: 'text/plain',
  md: 'text/markdown',
  csv: 'text/csv',
  html: 'text/html',
  mp3: 'audio/mp3',
  wav: 'audio/wav',
  mp4: 'video/mp4',
};

const FILE_IDS_MEAN_NOTHING = 'OpenAI file ids mean nothing to Gemini; send the data inline (base64) or as a URL.';

/** A `data:<mime>;base64,<data>` URL as Gemini's inline data. */
function dataUrlPart(url: string, path: string): GeminiPart {
  const match = /^data:([A-Za-z0-9.+-]+\/[A-Za-z0-9.+-]+)((?:;[^,;]*)*);base64,([A-Za-z0-9+/=\s]*)$/.exec(url);
  if (match === null) fail(path, 'expected a base64 data URL (data:<type>;base64,...) or an http(s) URL.');
  const [, mimeType = '', , data = ''] = match;
  return { inlineData: { mimeType, data } };
}

/** A URL Google fetches itself, with the type its extension names; the gateway never fetches it. */
function urlPart(url: string, path: string): GeminiPart {
  if (url.startsWith('data:')) return dataUrlPart(url, path);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return fail(path, 'expected an absolute http(s) URL or a base64 data URL.');
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    fail(path, `Gemini fetches only http(s) URLs, received a ${parsed.protocol} URL; send the data as base64 instead.`);
  }
  const extension = /\.([A-Za-z0-9]+)$/.exec(parsed.pathname)?.[1]?.toLowerCase();
  const mimeType = extension === undefined ? undefined : MIME_BY_EXTENSION[extension];
  return { fileData: { fileUri: url, ...(mimeType ? { mimeType } : {}) } };
}

function imagePart(part: Json, path: string): GeminiPart {
  if (part.file_id !== undefined && part.file_id !== null) fail(`${path}.file_id`, FILE_IDS_MEAN_NOTHING);
  return urlPart(expectString(part.image_url, `${path}.image_url`), `${path}.image_url`);
}

function filePart(part: Json, path: string): GeminiPart {
  if (part.file_id !== undefined && part.file_id !== null) fail(`${path}.file_id`, FILE_IDS_MEAN_NOTHING);
  if (typeof part.file_data === 'string') return dataUrlPart(part.file_data, `${path}.file_data`);
  return urlPart(expectString(part.file_url, `${path}.file_url`), `${path}.file_url`);
}

function audioPart(part: Json, path: string): GeminiPart {
  const audio = expectObject(part.input_audio, `${path}.input_audio`);
  const format = audio.format;
  if (format !== 'mp3' && format !== 'wav') {
    fail(`${path}.input_audio.format`, `expected "mp3" or "wav", received ${describe(format)}.`);
  }
  return { inlineData: { mimeType: `audio/${format}`, data: expectString(audio.data, `${path}.input_audio.data`) } };
}

/** One content part of a message (either role) as a Gemini part, or none for empty text. */
export function contentPart(raw: unknown, path: string): GeminiPart | undefined {
  const part = expectObject(raw, path);
  switch (part.type) {
    case 'input_text':
    case 'output_text':
    case 'text': {
      const text = expectString(part.text, `${path}.text`);
      return text === '' ? undefined : { text };
    }
    case 'refusal':
      return { text: expectString(part.refusal, `${path}.refusal`) };
    case 'input_image':
      return imagePart(part, path);
    case 'input_file':
      return filePart(part, path);
    case 'input_audio':
      return audioPart(part, path);
    default:
      return fail(
        `${path}.type`,
        `expected "input_text", "input_image", "input_file", "input_audio" or "output_text", received ${describe(part.type)}.`,
      );
  }
}

/** A message's `content` (a string or an array of parts) as Gemini parts. */
export function messageParts(content: unknown, path: string): GeminiPart[] {
  if (typeof content === 'string') return content === '' ? [] : [{ text: content }];
  if (!Array.isArray(content)) fail(path, `expected a string or an array of parts, received ${describe(content)}.`);
  return content.flatMap((raw, i) => contentPart(raw, `${path}[${i}]`) ?? []);
}

/** The texts of a system or developer message. */
export function messageTexts(content: unknown, path: string): string[] {
  return messageParts(content, path).map((part, i) => {
    if (part.text === undefined) fail(`${path}[${i}]`, 'system and developer messages hold text only.');
    return part.text;
  });
}

/**
 * A `function_call_output` as Gemini's function response and the media it returned (Gemini reads `output` as the
 * function's result); `name` is the function it answers, `id` Gemini's id for the call, when it gave one.
 */
export function functionOutputParts(item: Json, path: string, name: string, id: string | undefined): GeminiPart[] {
  const parts = typeof item.output === 'string' ? [{ text: item.output }] : messageParts(item.output, `${path}.output`);
  const texts = parts.flatMap((p) => (p.text !== undefined ? [p.text] : []));
  const media = parts.filter((p) => p.text === undefined);
  const response = { output: texts.join('\n') };
  return [{ functionResponse: { name, response, ...(id !== undefined ? { id } : {}) } }, ...media];
}
