/**
 * The `client_tokens` Terraform variable: named client tokens accepted alongside `pass`, so each client can be told
 * apart in the logs and the shared password can be rotated without a window of 401s. Every shard worker binds the whole
 * map as one secret, `CLIENT_TOKENS = jsonencode(var.client_tokens)`, so it costs one environment variable however
 * many tokens there are.
 *
 * The rules live in the contract (`workers/shared/contract.ts`) and are checked by Terraform (the variable's
 * validation), by `npm start` and the deploy workflow ({@link clientTokensProblem}) and by the worker at run time.
 *
 * @module
 */
import { Fn, TerraformVariable, type TerraformVariableValidationConfig } from 'cdktf';
import type { Construct } from 'constructs';
import {
  CLIENT_NAME_PATTERN,
  CLIENT_TOKEN_PATTERN,
  MAX_CLIENT_TOKENS_JSON_LENGTH,
  MIN_CLIENT_TOKEN_LENGTH,
  PASS_CLIENT_NAME as RESERVED_CLIENT_NAME,
} from '../workers/shared/contract';

export {
  CLIENT_NAME_PATTERN,
  CLIENT_TOKEN_PATTERN,
  MAX_CLIENT_TOKENS_JSON_LENGTH,
  MIN_CLIENT_TOKEN_LENGTH,
  RESERVED_CLIENT_NAME,
};

const EXAMPLE = 'set TF_VAR_client_tokens to a JSON object of name to token, e.g. {"alice":"<at least 24 characters>"}';

/**
 * The variable's validation blocks; none of their messages quotes a value, since the variable is sensitive.
 *
 * @param limited - the clients `CLIENT_LIMITS` gives a limit (names, not secrets): each must have a token
 */
function validation(limited: readonly string[] = []): TerraformVariableValidationConfig[] {
  return [
    {
      condition: `\${alltrue([for name in keys(var.client_tokens) : can(regex("${CLIENT_NAME_PATTERN}", name)) && name != "${RESERVED_CLIENT_NAME}"])}`,
      errorMessage: `client_tokens names must be 1 to 32 lower-case letters, digits, "_" or "-", starting with a letter or digit, and not "${RESERVED_CLIENT_NAME}" (the name PASS is logged under): ${EXAMPLE}.`,
    },
    {
      condition: `\${alltrue([for token in values(var.client_tokens) : length(token) >= ${MIN_CLIENT_TOKEN_LENGTH} && can(regex("${CLIENT_TOKEN_PATTERN}", token))])}`,
      errorMessage: `client_tokens tokens must be at least ${MIN_CLIENT_TOKEN_LENGTH} printable ASCII characters without spaces (e.g. openssl rand -base64 33): ${EXAMPLE}.`,
    },
    {
      condition: '${length(distinct(values(var.client_tokens))) == length(var.client_tokens)}',
      errorMessage: 'client_tokens must not give two clients the same token: each client needs its own.',
    },
    {
      condition: '${!contains(values(var.client_tokens), var.pass)}',
      errorMessage:
        'client_tokens must not contain the value of pass: the log line would not say which client it was. Give that client its own token.',
    },
    {
      condition: `\${length(jsonencode(var.client_tokens)) <= ${MAX_CLIENT_TOKENS_JSON_LENGTH}}`,
      errorMessage: `client_tokens, encoded as JSON, must fit in ${MAX_CLIENT_TOKENS_JSON_LENGTH} characters (Cloudflare's 5 KB limit for one environment variable): use fewer or shorter tokens.`,
    },
    ...(limited.length === 0 ? [] : [limitedClientsValidation(limited)]),
  ];
}

/** A limit for a name without a token limits no one: most likely a typo that leaves the meant client unlimited. */
function limitedClientsValidation(limited: readonly string[]): TerraformVariableValidationConfig {
  const names = limited.map((name) => JSON.stringify(name)).join(', ');
  return {
    condition: `\${alltrue([for name in [${names}] : contains(keys(var.client_tokens), name)])}`,
    errorMessage: `client_tokens must hold a token for every client CLIENT_LIMITS limits (${limited.join(', ')}, set at synth): a limit for a name without a token limits no one. Add the token, or remove the limit and synth again.`,
  };
}

/**
 * Declares the `client_tokens` variable in `scope` (a stack).
 *
 * @param limited - the clients with a limit (`limitedClients(clientLimits)`); each must have a token
 */
export function declareClientTokens(scope: Construct, limited: readonly string[] = []): TerraformVariable {
  return new TerraformVariable(scope, 'client_tokens', {
    type: 'map(string)',
    sensitive: true,
    nullable: false,
    default: {},
    description:
      'named client tokens accepted alongside pass, from TF_VAR_client_tokens (a JSON object of name to token); logs name the client',
    validation: validation(limited),
  });
}

/** The text of the `CLIENT_TOKENS` binding: the whole map, encoded by Terraform at plan time. */
export function clientTokensBindingText(clientTokens: TerraformVariable): string {
  return Fn.jsonencode(clientTokens.value);
}

/**
 * What Terraform's validation would say about `tokens` (as `TF_VAR_client_tokens` holds them) next to `pass` and the
 * clients with a limit, or undefined when they pass. For `npm start`, which reads the variable without Terraform.
 */
export function clientTokensProblem(
  tokens: Readonly<Record<string, unknown>>,
  pass: string,
  limited: readonly string[] = [],
): string | undefined {
  const names = new RegExp(CLIENT_NAME_PATTERN);
  const token = new RegExp(CLIENT_TOKEN_PATTERN);
  const messages = validation(limited).map((v) => v.errorMessage);
  const entries = Object.entries(tokens);
  if (!entries.every(([name]) => names.test(name) && name !== RESERVED_CLIENT_NAME)) return messages[0];
  if (!entries.every(([, value]) => typeof value === 'string')) {
    return `client_tokens tokens must be strings: ${EXAMPLE}.`;
  }
  const values = entries.map(([, value]) => value as string);
  if (!values.every((v) => v.length >= MIN_CLIENT_TOKEN_LENGTH && token.test(v))) return messages[1];
  if (new Set(values).size !== values.length) return messages[2];
  if (values.includes(pass)) return messages[3];
  if (
    terraformJsonEncode(Object.fromEntries(entries.map(([n, v]) => [n, String(v)]))).length >
    MAX_CLIENT_TOKENS_JSON_LENGTH
  ) {
    return messages[4];
  }
  if (!limited.every((name) => Object.hasOwn(tokens, name))) return messages[5];
  return undefined;
}

/**
 * `jsonencode(value)` as Terraform writes it, for a string or a map of strings: keys sorted, and `<`, `>`, `&`, U+2028
 * and U+2029 escaped as `\u` sequences (so the text can be longer than `JSON.stringify` gives). The emulated topology
 * binds `CLIENT_TOKENS` with it and the size rule measures it.
 */
export function terraformJsonEncode(value: string | Readonly<Record<string, string>>): string {
  const sorted =
    typeof value === 'string'
      ? value
      : Object.fromEntries(
          Object.keys(value)
            .sort()
            .map((key) => [key, value[key]]),
        );
  return JSON.stringify(sorted).replace(
    /[<>&\u2028\u2029]/g,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
