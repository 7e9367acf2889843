/**
 * Replies for the fake Gemini's `nativeReply` hook: native API answers the fake does not give on its own, in the
 * shapes Google sends. `toolCallingGemini` behaves as Gemini 3 does with tools: it calls the first declared function
 * with a thought signature, refuses a later turn whose function call came back without that signature (or Google's
 * documented placeholder for calls it did not make), and answers
 * a function response with text that quotes it. `everyModel` gives the fake's own text reply for any model, so a
 * gateway's default model map (current Gemini models the fake does not list) can be driven end to end.
 */
import {
  FAKE_REPLY_TEXT,
  FAKE_THOUGHT_SIGNATURE,
  type FakeGeminiOptions,
  fakeReplyPieces,
  type GoogleErrorObject,
} from '../../dev/fake-gemini';
import { SKIP_SIGNATURE_VALIDATOR } from '../../workers/shard/surfaces/anthropic/request-translation';

export type NativeReply = NonNullable<FakeGeminiOptions['nativeReply']>;

/** Gemini's id for the function call `toolCallingGemini` makes; it must come back as the function response's id. */
export const FAKE_CALL_ID = 'fake-call-0001';
/** The arguments of that call. */
export const FAKE_CALL_ARGS = { city: 'Paris' };

interface Part {
  readonly text?: string;
  readonly functionCall?: { readonly name?: unknown; readonly id?: unknown };
  readonly functionResponse?: { readonly name?: unknown; readonly id?: unknown; readonly response?: unknown };
  readonly thoughtSignature?: unknown;
}

interface Content {
  readonly role?: unknown;
  readonly parts?: readonly Part[];
}

const usageMetadata = { promptTokenCount: 12, candidatesTokenCount: 4, totalTokenCount: 16 };

function reply(model: string, parts: readonly object[]): Record<string, unknown> {
  return {
    candidates: [{ content: { parts, role: 'model' }, finishReason: 'STOP', index: 0 }],
    usageMetadata,
    modelVersion: model,
    responseId: 'fake-native-reply-0001',
  };
}

/** A stream of the text reply in `n` chunks, the finish reason and usage on the last. */
function textChunks(model: string, n: number): Record<string, unknown>[] {
  return fakeReplyPieces(n).map((text, i) =>
    i === n - 1
      ? reply(model, [{ text }])
      : { candidates: [{ content: { parts: [{ text }], role: 'model' }, index: 0 }], modelVersion: model },
  );
}

function contentsOf(body: Record<string, unknown>): readonly Content[] {
  return Array.isArray(body.contents) ? (body.contents as Content[]) : [];
}

/** The first declared function's name, unless the request forbids function calls (`toolConfig` mode NONE). */
function firstFunctionName(body: Record<string, unknown>): string | undefined {
  const config = body.toolConfig as { functionCallingConfig?: { mode?: unknown } } | undefined;
  if (config?.functionCallingConfig?.mode === 'NONE') return undefined;
  const tools = Array.isArray(body.tools) ? (body.tools as { functionDeclarations?: { name?: unknown }[] }[]) : [];
  const name = tools[0]?.functionDeclarations?.[0]?.name;
  return typeof name === 'string' ? name : undefined;
}

/** Gemini 3's refusal of a function call turn that lost its thought signature. */
function missingSignature(index: number): { error: GoogleErrorObject } {
  return {
    error: {
      code: 400,
      message: `Function call is missing a thought_signature in functionCall parts. This is required for tools to work correctly. contents[${index}]`,
      status: 'INVALID_ARGUMENT',
    },
  };
}

/** The `nativeReply` of a Gemini 3 model with tools (undefined, so the fake answers, when it may call none). */
export const toolCallingGemini: NativeReply = (model, action, body) => {
  const name = firstFunctionName(body);
  if (name === undefined || action === 'countTokens') return undefined;
  const contents = contentsOf(body);
  for (const [i, content] of contents.entries()) {
    for (const part of content.parts ?? []) {
      const signature = part.thoughtSignature;
      if (part.functionCall && signature !== FAKE_THOUGHT_SIGNATURE && signature !== SKIP_SIGNATURE_VALIDATOR)
        return missingSignature(i);
    }
  }
  const answered = contents.at(-1)?.parts?.find((p) => p.functionResponse?.id === FAKE_CALL_ID)?.functionResponse;
  const parts = answered
    ? [{ text: `${FAKE_REPLY_TEXT}: tool said ${JSON.stringify(answered.response)}` }]
    : [{ functionCall: { name, args: FAKE_CALL_ARGS, id: FAKE_CALL_ID }, thoughtSignature: FAKE_THOUGHT_SIGNATURE }];
  const whole = reply(model, parts);
  return action === 'streamGenerateContent' ? [whole] : whole;
};

/** Words of every `text` field inside `value`: the fake's token count. */
export function wordsIn(value: unknown): number {
  if (Array.isArray(value)) return value.reduce((n: number, v) => n + wordsIn(v), 0);
  if (!value || typeof value !== 'object') return 0;
  return Object.entries(value).reduce(
    (n, [key, v]) => n + (key === 'text' && typeof v === 'string' ? v.split(/\s+/).filter(Boolean).length : wordsIn(v)),
    0,
  );
}

/** The `nativeReply` that serves any model: tools as `toolCallingGemini`, else the fake's text, counts by words. */
export function everyModel(streamChunks = 3): NativeReply {
  return (model, action, body) => {
    const tooled = toolCallingGemini(model, action, body);
    if (tooled !== undefined) return tooled;
    if (action === 'countTokens') return { totalTokens: wordsIn(body.generateContentRequest ?? body.contents) };
    return action === 'streamGenerateContent'
      ? textChunks(model, streamChunks)
      : reply(model, [{ text: FAKE_REPLY_TEXT }]);
  };
}
