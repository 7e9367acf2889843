/**
 * Function names between the Responses API and Gemini. A `namespace` tool groups functions under a name (Codex sends
 * `multi_agent_v1` with `spawn_agent`, `close_agent`, …); Gemini has no namespaces, so each becomes one function named
 * `<namespace>__<name>`, and a call Gemini makes to that name goes back to the client as `name` with its `namespace`.
 * The table is built from the request's own tools, so names round-trip without state, and every name is checked
 * against Gemini's rule first: a name Gemini would refuse is refused here, naming the tool, instead of as an opaque
 * 400 from Google.
 */
import { fail } from '../anthropic/request-checks';

/** Gemini's function names: a letter or `_` first, then letters, digits, `_`, `.`, `:` or `-`; 64 characters at most. */
const GEMINI_FUNCTION_NAME = /^[A-Za-z_][A-Za-z0-9_.:-]{0,63}$/;

/** What joins a namespace and a function name into one Gemini function name. */
export const NAMESPACE_SEPARATOR = '__';

/** A function as the client names it. */
export interface ClientFunctionName {
  readonly name: string;
  readonly namespace?: string;
}

/** The Gemini function name for a client's (namespaced) function name. */
export function geminiFunctionName(name: string, namespace?: string): string {
  return namespace === undefined || namespace === '' ? name : `${namespace}${NAMESPACE_SEPARATOR}${name}`;
}

/** The request's functions, by the names Gemini knows them under. */
export class FunctionNames {
  private readonly byGemini = new Map<string, ClientFunctionName>();

  /** Declares a function (`path` names it in errors) and returns its Gemini name. */
  declare(name: string, namespace: string | undefined, path: string): string {
    const gemini = geminiFunctionName(name, namespace);
    if (!GEMINI_FUNCTION_NAME.test(gemini)) {
      fail(
        path,
        `${JSON.stringify(gemini.slice(0, 80))} is not a function name Gemini accepts: a letter or "_" first, then letters, digits, "_", ".", ":" or "-", at most 64 characters${namespace !== undefined ? ` (a namespace's functions are named <namespace>${NAMESPACE_SEPARATOR}<name>)` : ''}.`,
      );
    }
    if (this.byGemini.has(gemini)) {
      fail(
        path,
        `${JSON.stringify(gemini)} is declared twice (a namespace's functions are named <namespace>__<name>).`,
      );
    }
    this.byGemini.set(gemini, namespace === undefined ? { name } : { name, namespace });
    return gemini;
  }

  has(gemini: string): boolean {
    return this.byGemini.has(gemini);
  }

  /** How the client names a function Gemini called: as declared, or Gemini's name as it is when undeclared. */
  clientName(gemini: string): ClientFunctionName {
    return this.byGemini.get(gemini) ?? { name: gemini };
  }
}
