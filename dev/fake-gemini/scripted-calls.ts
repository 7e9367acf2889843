/**
 * Function calls on request, for agents driven through the gateway (Codex CLI's `exec_command` round trip): a
 * `nativeReply` hook (`startFakeGemini({ nativeReply: scriptedCalls })`) that makes the fake call a function when the
 * prompt asks for it, the way Gemini 3 does when a user asks for something only a tool can do:
 *
 *   the last user turn holds a line   CALL <function> <JSON object of arguments>
 *   e.g.                              CALL exec_command {"cmd":"echo hello"}
 *
 * and `<function>` is one of the request's function declarations. The reply is one `functionCall` part (Gemini's id
 * {@link SCRIPTED_CALL_ID}, the signature {@link FAKE_THOUGHT_SIGNATURE}), after a thought part when the request asks
 * for thoughts (`includeThoughts`), finish reason STOP. When the last turn answers that call (a `functionResponse`),
 * the reply is text quoting it: `Hello from fake Gemini: <function> returned <response JSON>`. A later turn whose
 * function call came back without its signature is refused with Gemini 3's 400 (ai.google.dev/gemini-api/docs/
 * thought-signatures, read 2026-12: "Function call is missing a thought_signature"). Every other call is left to the
 * fake (the hook answers undefined), so unknown models still get the fake's 404.
 *
 * @module
 */
import type { GoogleErrorObject } from './google-errors';
import { FAKE_MODELS, FAKE_REPLY_TEXT, FAKE_THOUGHT_SIGNATURE } from './replies';
import type { NativeReply } from './server';

/** Gemini's id for a scripted call; it must come back as the function response's id. */
export const SCRIPTED_CALL_ID = 'fake-scripted-call-1';

/** The thought a scripted call begins with when the request asks for thoughts. */
export const SCRIPTED_THOUGHT = 'The user asked for a tool; calling it.';

/** Google's placeholder for function calls it did not make, which it accepts instead of a signature. */
const SKIP_SIGNATURE = 'skip_thought_signature_validator';

const DIRECTIVE = /^CALL ([A-Za-z_][A-Za-z0-9_.:-]{0,63}) (\{.*\})\s*$/m;

interface Part {
  readonly text?: unknown;
  readonly thought?: unknown;
  readonly thoughtSignature?: unknown;
  readonly functionCall?: { readonly name?: unknown; readonly id?: unknown };
  readonly functionResponse?: { readonly name?: unknown; readonly id?: unknown; readonly response?: unknown };
}

interface Turn {
  readonly role?: unknown;
  readonly parts?: readonly Part[];
}

function turnsOf(body: Record<string, unknown>): readonly Turn[] {
  return Array.isArray(body.contents) ? (body.contents as Turn[]) : [];
}

function declaredNames(body: Record<string, unknown>): Set<string> {
  const tools = Array.isArray(body.tools) ? (body.tools as { functionDeclarations?: { name?: unknown }[] }[]) : [];
  return new Set(
    tools.flatMap((t) => t.functionDeclarations ?? []).flatMap((d) => (typeof d.name === 'string' ? [d.name] : [])),
  );
}

/** The call the last user turn asks for, when it names a declared function and its arguments are a JSON object. */
function askedCall(body: Record<string, unknown>): { name: string; args: Record<string, unknown> } | undefined {
  const last = turnsOf(body).at(-1);
  if (last?.role !== 'user') return undefined;
  for (const part of last.parts ?? []) {
    if (typeof part.text !== 'string') continue;
    const [, name, json] = DIRECTIVE.exec(part.text) ?? [];
    if (name === undefined || json === undefined || !declaredNames(body).has(name)) continue;
    try {
      const args: unknown = JSON.parse(json);
      if (args !== null && typeof args === 'object' && !Array.isArray(args)) {
        return { name, args: args as Record<string, unknown> };
      }
    } catch {
      // not a call: the line is left to the fake's usual answer
    }
  }
  return undefined;
}

/** Gemini 3's refusal of a history whose function call lost its signature, or undefined. */
function missingSignature(body: Record<string, unknown>): { error: GoogleErrorObject } | undefined {
  const index = turnsOf(body).findIndex((turn) =>
    (turn.parts ?? []).some(
      (p) => p.functionCall && p.thoughtSignature !== FAKE_THOUGHT_SIGNATURE && p.thoughtSignature !== SKIP_SIGNATURE,
    ),
  );
  if (index === -1) return undefined;
  return {
    error: {
      code: 400,
      message: `Function call is missing a thought_signature in functionCall parts. This is required for tools to work correctly. contents[${index}]`,
      status: 'INVALID_ARGUMENT',
    },
  };
}

function reply(model: string, parts: readonly object[], finish: boolean): Record<string, unknown> {
  return {
    candidates: [{ content: { role: 'model', parts }, ...(finish ? { finishReason: 'STOP' } : {}), index: 0 }],
    ...(finish ? { usageMetadata: { promptTokenCount: 40, candidatesTokenCount: 12, totalTokenCount: 52 } } : {}),
    modelVersion: model,
    responseId: 'fake-scripted-reply',
  };
}

function wantsThoughts(body: Record<string, unknown>): boolean {
  const config = body.generationConfig as { thinkingConfig?: { includeThoughts?: unknown } } | undefined;
  return config?.thinkingConfig?.includeThoughts === true;
}

/** The replies (one per stream chunk) to a request the hook answers, or undefined to leave it to the fake. */
function scriptedReplies(
  model: string,
  body: Record<string, unknown>,
): unknown[] | { error: GoogleErrorObject } | undefined {
  const answered = turnsOf(body)
    .at(-1)
    ?.parts?.find((p) => p.functionResponse?.id === SCRIPTED_CALL_ID)?.functionResponse;
  const asked = answered === undefined ? askedCall(body) : undefined;
  if (answered === undefined && asked === undefined) return undefined;
  const refused = missingSignature(body);
  if (refused) return refused;
  if (answered !== undefined) {
    const text = `${FAKE_REPLY_TEXT}: ${String(answered.name)} returned ${JSON.stringify(answered.response)}`;
    return [reply(model, [{ text }], true)];
  }
  const call = {
    functionCall: { name: asked?.name, args: asked?.args, id: SCRIPTED_CALL_ID },
    thoughtSignature: FAKE_THOUGHT_SIGNATURE,
  };
  return wantsThoughts(body)
    ? [reply(model, [{ text: SCRIPTED_THOUGHT, thought: true }], false), reply(model, [call], true)]
    : [reply(model, [call], true)];
}

/** The `nativeReply` hook; see the module comment. */
export const scriptedCalls: NativeReply = (model, action, body) => {
  if (action === 'countTokens' || !FAKE_MODELS.includes(model)) return undefined;
  const replies = scriptedReplies(model, body);
  if (replies === undefined || !Array.isArray(replies)) return replies;
  if (action === 'streamGenerateContent') return replies;
  // a whole reply holds every part the stream's chunks would
  const parts = replies.flatMap(
    (r) => (r as { candidates: { content: { parts: object[] } }[] }).candidates[0]?.content.parts ?? [],
  );
  return reply(model, parts, true);
};
