/**
 * The `input` of a Responses request as Gemini `contents` and system texts. Messages of role `user` and `assistant`
 * become `user` and `model` turns (consecutive items of one side are one turn to Gemini); `system` and `developer`
 * messages join the system instruction; `function_call` and `function_call_output` items become function calls and
 * responses, matched by `call_id`; `reasoning` items put back what they carry (`./reasoning-carrier.ts`): their
 * thought signature on the next part of the turn, their server-side tool parts where they stand. Nothing is looked
 * up in a store, so an `item_reference` to anything but a reasoning item is refused with the way out (send the item
 * itself, with `store: false`).
 */
import { isJsonObject } from '../../../shared/json';
import { decodeCarryingId } from '../anthropic/tool-use-ids';
import { SKIP_SIGNATURE_VALIDATOR } from '../anthropic/request-messages';
import { describe, expectObject, expectString, fail, type Json } from '../anthropic/request-checks';
import { geminiFunctionName } from './function-names';
import type { GeminiPart, GeminiTurn } from './gemini-request';
import { decodeCarried } from './reasoning-carrier';
import { functionOutputParts, messageParts, messageTexts } from './request-content';

/** The prefix of the `call_id`s this surface gives Gemini's calls; one carries Gemini's own id for the call. */
export const CALL_ID_PREFIX = 'call_';

export interface InputOptions {
  /** put the documented placeholder on a turn's first function call that lost its signature (Gemini 3 and later) */
  readonly placeholderSignatures: boolean;
}

/** Builds Gemini's turns item by item, keeping what a model turn's next part needs. */
class Turns {
  readonly contents: { role: 'user' | 'model'; parts: GeminiPart[] }[] = [];
  readonly system: string[] = [];
  /** the signature a reasoning item left for the next part of the model turn */
  private pendingSignature: string | undefined;
  private callsInTurn = 0;

  constructor(private readonly o: InputOptions) {}

  private turn(role: 'user' | 'model'): GeminiPart[] {
    const last = this.contents[this.contents.length - 1];
    if (last !== undefined && last.role === role) return last.parts;
    if (role === 'model') this.callsInTurn = 0;
    const parts: GeminiPart[] = [];
    this.contents.push({ role, parts });
    return parts;
  }

  user(parts: readonly GeminiPart[]): void {
    // a signature belongs to the model turn it was left in
    this.pendingSignature = undefined;
    if (parts.length > 0) this.turn('user').push(...parts);
  }

  /** Model parts; the first takes the signature a reasoning item left for it. */
  model(parts: readonly GeminiPart[]): void {
    if (parts.length === 0) return;
    const turn = this.turn('model');
    for (const part of parts) turn.push(this.signed(part));
  }

  modelCall(part: GeminiPart): void {
    const turn = this.turn('model');
    let signed = this.signed(part);
    if (signed.thoughtSignature === undefined && this.callsInTurn === 0 && this.o.placeholderSignatures) {
      signed = { ...signed, thoughtSignature: SKIP_SIGNATURE_VALIDATOR };
    }
    this.callsInTurn++;
    turn.push(signed);
  }

  /** What a reasoning item carries: parts where it stands, a signature for the part after it. */
  reasoning(encrypted: unknown): void {
    const carried = decodeCarried(encrypted);
    if (carried.parts !== undefined) this.turn('model').push(...carried.parts);
    if (carried.signature !== undefined) this.pendingSignature = carried.signature;
  }

  private signed(part: GeminiPart): GeminiPart {
    const signature = this.pendingSignature;
    this.pendingSignature = undefined;
    return signature === undefined ? part : { ...part, thoughtSignature: signature };
  }
}

/** call_id → Gemini function name, from every function_call item of the input. */
function callNamesOf(items: readonly unknown[]): Map<string, string> {
  const names = new Map<string, string>();
  for (const item of items) {
    if (!isJsonObject(item) || item.type !== 'function_call') continue;
    if (typeof item.call_id !== 'string' || typeof item.name !== 'string') continue;
    const namespace = typeof item.namespace === 'string' ? item.namespace : undefined;
    names.set(item.call_id, geminiFunctionName(item.name, namespace));
  }
  return names;
}

function messageItem(item: Json, path: string, turns: Turns): void {
  const role = item.role;
  if (role === 'system' || role === 'developer') {
    turns.system.push(...messageTexts(item.content, `${path}.content`));
    return;
  }
  if (role !== 'user' && role !== 'assistant') {
    fail(`${path}.role`, `expected "user", "assistant", "system" or "developer", received ${describe(role)}.`);
  }
  const parts = messageParts(item.content, `${path}.content`);
  if (role === 'user') turns.user(parts);
  else turns.model(parts);
}

function functionCallItem(item: Json, path: string, turns: Turns): void {
  const callId = expectString(item.call_id, `${path}.call_id`);
  const name = expectString(item.name, `${path}.name`);
  const namespace =
    item.namespace === undefined || item.namespace === null
      ? undefined
      : expectString(item.namespace, `${path}.namespace`);
  const text = expectString(item.arguments, `${path}.arguments`);
  let args: unknown;
  try {
    args = text.trim() === '' ? {} : JSON.parse(text);
  } catch {
    fail(`${path}.arguments`, 'expected a JSON object in a string, as the function call item was sent.');
  }
  if (!isJsonObject(args)) fail(`${path}.arguments`, `expected a JSON object, received ${describe(args)}.`);
  const id = decodeCarryingId(CALL_ID_PREFIX, callId).callId;
  turns.modelCall({ functionCall: { name: geminiFunctionName(name, namespace), args, ...(id ? { id } : {}) } });
}

function functionOutputItem(item: Json, path: string, turns: Turns, calls: ReadonlyMap<string, string>): void {
  const callId = expectString(item.call_id, `${path}.call_id`);
  const name = calls.get(callId);
  if (name === undefined) {
    fail(
      `${path}.call_id`,
      `no function_call item with call_id ${JSON.stringify(callId.slice(0, 80))} earlier in input; send the call with its output.`,
    );
  }
  turns.user(functionOutputParts(item, path, name, decodeCarryingId(CALL_ID_PREFIX, callId).callId));
}

function referenceItem(item: Json, path: string): void {
  const id = expectString(item.id, `${path}.id`);
  // a reasoning item only carries what Gemini needs back; without it the call gets Google's placeholder signature
  if (id.startsWith('rs_')) return;
  fail(
    `${path}`,
    `this gateway stores no responses, so item ${JSON.stringify(id.slice(0, 80))} cannot be looked up; send the items themselves with store: false (the Vercel AI SDK: providerOptions.openai.store = false).`,
  );
}

function item(raw: unknown, path: string, turns: Turns, calls: ReadonlyMap<string, string>) {
  const it = expectObject(raw, path);
  const type = it.type ?? (it.role !== undefined ? 'message' : undefined);
  switch (type) {
    case 'message':
      return messageItem(it, path, turns);
    case 'function_call':
      return functionCallItem(it, path, turns);
    case 'function_call_output':
      return functionOutputItem(it, path, turns, calls);
    case 'reasoning':
      return turns.reasoning(it.encrypted_content);
    case 'item_reference':
      return referenceItem(it, path);
    default:
      return fail(
        `${path}.type`,
        `expected "message", "function_call", "function_call_output", "reasoning" or "item_reference", received ${describe(type)}.`,
      );
  }
}

/** A user turn's function responses come first, as Gemini expects them. */
function responsesFirst(turn: { role: 'user' | 'model'; parts: GeminiPart[] }): GeminiTurn {
  if (turn.role === 'model') return turn;
  const responses = turn.parts.filter((p) => p.functionResponse !== undefined);
  if (responses.length === 0) return turn;
  return { role: 'user', parts: [...responses, ...turn.parts.filter((p) => p.functionResponse === undefined)] };
}

export function inputOf(input: unknown, o: InputOptions): { contents: GeminiTurn[]; system: string[] } {
  const turns = new Turns(o);
  if (typeof input === 'string') {
    if (input === '') fail('input', 'must not be empty.');
    turns.user([{ text: input }]);
  } else {
    if (!Array.isArray(input)) fail('input', `expected a string or an array of items, received ${describe(input)}.`);
    const calls = callNamesOf(input);
    input.forEach((raw, i) => {
      item(raw, `input[${i}]`, turns, calls);
    });
  }
  if (turns.contents.length === 0) fail('input', 'holds no content; send at least one user message.');
  return { contents: turns.contents.map(responsesFirst), system: turns.system };
}
