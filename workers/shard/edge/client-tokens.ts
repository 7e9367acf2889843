/**
 * Named client tokens: the optional `CLIENT_TOKENS` binding (a JSON object of name to token, Terraform's
 * `jsonencode(var.client_tokens)`), accepted alongside `PASS`. A name lets the logs tell clients apart, and several
 * valid credentials at once make rotation a matter of add, deploy, move clients, remove, deploy, with no failed request.
 *
 * The rules are the Terraform variable's validation rules, from the contract both sides import, checked again here so
 * a binding edited by hand can never weaken them.
 *
 * @module
 */
import {
  CLIENT_NAME_PATTERN,
  CLIENT_TOKEN_PATTERN,
  MIN_CLIENT_TOKEN_LENGTH,
  PASS_CLIENT_NAME,
} from '../../shared/contract';

/** One credential a client may present; `name` is what the request's log line records, never `value`. */
export interface ClientCredential {
  readonly name: string;
  readonly value: string;
}

export { MIN_CLIENT_TOKEN_LENGTH, PASS_CLIENT_NAME };

const CLIENT_NAME = new RegExp(CLIENT_NAME_PATTERN);
const CLIENT_TOKEN = new RegExp(CLIENT_TOKEN_PATTERN);

export type ClientTokensResult =
  | { readonly ok: true; readonly tokens: readonly ClientCredential[] }
  | { readonly ok: false; readonly problem: string };

/**
 * Reads `CLIENT_TOKENS`. Absent or empty means no tokens (only `PASS` authenticates). Problems name the binding and
 * the offending entry's name, never a token.
 */
export function parseClientTokens(raw: unknown, pass: string): ClientTokensResult {
  if (raw === undefined || raw === '') return { ok: true, tokens: [] };
  const fail = (why: string): ClientTokensResult => ({ ok: false, problem: `CLIENT_TOKENS ${why}` });
  let parsed: unknown;
  try {
    parsed = typeof raw === 'string' ? JSON.parse(raw) : undefined;
  } catch {
    parsed = undefined;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    return fail('must be a JSON object of client name to token');
  }
  const tokens: ClientCredential[] = [];
  for (const [name, value] of Object.entries(parsed)) {
    if (!CLIENT_NAME.test(name) || name === PASS_CLIENT_NAME) {
      return fail(
        `names must be 1 to 32 lower-case letters, digits, "_" or "-" (starting with a letter or digit) and not "${PASS_CLIENT_NAME}", got ${JSON.stringify(name)}`,
      );
    }
    if (typeof value !== 'string' || value.length < MIN_CLIENT_TOKEN_LENGTH || !CLIENT_TOKEN.test(value)) {
      return fail(
        `token "${name}" must be at least ${MIN_CLIENT_TOKEN_LENGTH} printable ASCII characters without spaces`,
      );
    }
    if (value === pass) return fail(`token "${name}" must differ from PASS`);
    const twin = tokens.find((t) => t.value === value);
    if (twin !== undefined) return fail(`tokens "${twin.name}" and "${name}" must differ`);
    tokens.push({ name, value });
  }
  return { ok: true, tokens };
}
