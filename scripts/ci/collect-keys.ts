/**
 * Collects the Gemini keys (`KEY1`..`KEYn`), the gateway password (`PASS`) and the named client tokens
 * (`CLIENT_TOKEN_<NAME>`) from the JSON of every secret the step can see (`SECRETS_JSON: ${{ toJSON(secrets) }}`),
 * masks every value, and runs ONE command (the cdktf deploy/destroy or the drift plan) with the values in
 * `TF_VAR_api_keys` / `TF_VAR_pass` / `TF_VAR_client_tokens`.
 *
 *   tsx scripts/ci/collect-keys.ts -- npx cdktf deploy prod --auto-approve
 *
 * Why a launcher rather than "collect, then hand over": the values only ever live in this process's memory and in
 * the environment of the one child that needs them. They never touch $GITHUB_ENV (which every later step and
 * third-party action would inherit), a job output (masked values cannot cross jobs anyway), or a file on the runner
 * that a crash could leave behind. The child does NOT inherit SECRETS_JSON, so Terraform, cdktf and the providers
 * never see the other secrets of the environment. Only counts leave, as the step outputs `key-count` and
 * `client-token-count`.
 *
 * The tokens are always set, `{}` when there are none: `client_tokens` is the whole list, so a workflow deploy that
 * did not pass them would take away every token a client holds.
 */
import { spawn } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import {
  CLIENT_NAME_PATTERN,
  CLIENT_TOKEN_PATTERN,
  clientTokensProblem,
  MAX_CLIENT_TOKENS_JSON_LENGTH,
  MIN_CLIENT_TOKEN_LENGTH,
  RESERVED_CLIENT_NAME,
  terraformJsonEncode,
} from '../../constructs/client-tokens';

/** Name of the step env var that carries `${{ toJSON(secrets) }}`. */
export const SECRETS_ENV = 'SECRETS_JSON';

export interface CollectedSecrets {
  /** key values in numeric order of their secret name (KEY2 before KEY10) */
  readonly keys: readonly string[];
  /** the secret names the keys came from, same order: names are not secret and make gaps visible in the log */
  readonly keyNames: readonly string[];
  readonly pass: string;
  /**
   * named client tokens, client name to token, in name order: secret `CLIENT_TOKEN_<NAME>` gives client `<name>`
   * (lower case), e.g. `CLIENT_TOKEN_CI_BOT` → `ci_bot`
   */
  readonly clientTokens: Readonly<Record<string, string>>;
}

/** A failure whose message is safe to print: it names secrets, never their values. */
export class CollectKeysError extends Error {
  override readonly name = 'CollectKeysError';
}

const KEY_NAME = /^KEY(\d+)$/i;

/** Prefix of the secrets that hold named client tokens. */
export const CLIENT_TOKEN_PREFIX = 'CLIENT_TOKEN_';

/**
 * The client name a `CLIENT_TOKEN_<NAME>` secret stands for: `<NAME>` in lower case. GitHub stores secret names in
 * upper case and allows only letters, digits and `_` in them, so every allowed client name without `-` has exactly
 * one secret name; a name with `-` cannot come from GitHub (use `_` instead).
 */
export function clientNameOf(secretName: string): string {
  return secretName.slice(CLIENT_TOKEN_PREFIX.length).toLowerCase();
}

const TOKEN_RULE =
  `at least ${MIN_CLIENT_TOKEN_LENGTH} printable ASCII characters without spaces or line breaks ` +
  '(e.g. openssl rand -base64 33)';

/**
 * Checks the `CLIENT_TOKEN_<NAME>` secrets against the `client_tokens` rules, naming the secret in every message (the
 * variable's own validation could only name the variable) and never a value. `found` holds secret name and value.
 */
function clientTokensOf(
  found: readonly { secret: string; value: string }[],
  pass: string,
): Readonly<Record<string, string>> {
  const namePattern = new RegExp(CLIENT_NAME_PATTERN);
  const tokenPattern = new RegExp(CLIENT_TOKEN_PATTERN);
  const named = found.map((t) => ({ ...t, client: clientNameOf(t.secret) }));
  named.sort((a, b) => (a.client < b.client ? -1 : a.client > b.client ? 1 : 0));
  const secretOfClient = new Map<string, string>();
  const secretOfToken = new Map<string, string>();
  for (const { secret, value, client } of named) {
    if (!namePattern.test(client) || client === RESERVED_CLIENT_NAME) {
      throw new CollectKeysError(
        `secret ${secret} does not name a client: after ${CLIENT_TOKEN_PREFIX} come 1 to 32 letters, digits or "_", ` +
          `starting with a letter or digit, and not ${RESERVED_CLIENT_NAME.toUpperCase()} (e.g. ${CLIENT_TOKEN_PREFIX}CI_BOT for client ci_bot)`,
      );
    }
    const sameName = secretOfClient.get(client);
    if (sameName !== undefined) {
      throw new CollectKeysError(`secrets ${sameName} and ${secret} both name client ${client}: keep one of them`);
    }
    if (value.length < MIN_CLIENT_TOKEN_LENGTH || !tokenPattern.test(value)) {
      throw new CollectKeysError(`secret ${secret} must hold a token of ${TOKEN_RULE}`);
    }
    if (value === pass) {
      throw new CollectKeysError(
        `secret ${secret} holds the same value as PASS, so the logs could not tell that client apart: give it its own token`,
      );
    }
    const sameToken = secretOfToken.get(value);
    if (sameToken !== undefined) {
      throw new CollectKeysError(`secrets ${sameToken} and ${secret} hold the same token: each client needs its own`);
    }
    secretOfClient.set(client, secret);
    secretOfToken.set(value, secret);
  }
  const tokens = Object.fromEntries(named.map(({ client, value }) => [client, value]));
  const length = terraformJsonEncode(tokens).length;
  if (length > MAX_CLIENT_TOKENS_JSON_LENGTH) {
    throw new CollectKeysError(
      `the ${CLIENT_TOKEN_PREFIX}* secrets take ${length} characters as JSON, over the ${MAX_CLIENT_TOKENS_JSON_LENGTH} ` +
        'Cloudflare allows for one environment variable: use fewer or shorter tokens',
    );
  }
  // The checks above are the variable's own rules; this catches any rule added there and not here.
  const problem = clientTokensProblem(tokens, pass);
  if (problem !== undefined) throw new CollectKeysError(`${CLIENT_TOKEN_PREFIX}* secrets: ${problem}`);
  return tokens;
}

/**
 * Picks KEY<n>, PASS and CLIENT_TOKEN_<NAME> out of the `toJSON(secrets)` text. Everything else (github_token,
 * CLOUDFLARE_API_TOKEN, KEYRING, MY_KEY1...) is ignored. Throws {@link CollectKeysError} when there is no usable key
 * or no PASS, or a client token breaks the `client_tokens` rules.
 */
export function collectSecrets(secretsJson: string | undefined): CollectedSecrets {
  const { keys, tokens, pass } = sortSecrets(secretsObject(secretsJson));
  if (keys.length === 0) {
    throw new CollectKeysError(
      'no Gemini keys found: create secrets named KEY1, KEY2, ... KEYn (in the GitHub environment this job uses) holding one API key each',
    );
  }
  if (pass === undefined || pass === '') {
    throw new CollectKeysError('secret PASS is missing or empty: create it in the GitHub environment this job uses');
  }
  keys.sort((a, b) => a.n - b.n);
  return {
    keys: keys.map((k) => k.value),
    keyNames: keys.map((k) => k.name),
    pass,
    clientTokens: clientTokensOf(tokens, pass),
  };
}

/** The `toJSON(secrets)` text as the object of secret name to value it must be. */
function secretsObject(secretsJson: string | undefined): Record<string, unknown> {
  if (secretsJson === undefined || secretsJson.trim() === '') {
    throw new CollectKeysError(
      `${SECRETS_ENV} is empty: set "${SECRETS_ENV}: \${{ toJSON(secrets) }}" in the env of the step that runs this script`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(secretsJson);
  } catch {
    // JSON.parse's own message quotes the input around the error, and the input is every secret we can see.
    throw new CollectKeysError(`${SECRETS_ENV} is not valid JSON (its content is not shown because it holds secrets)`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new CollectKeysError(
      `${SECRETS_ENV} must be a JSON object of secret name to value, got ${Array.isArray(parsed) ? 'an array' : typeof parsed}`,
    );
  }
  return parsed as Record<string, unknown>;
}

/** A `KEY<n>` secret with a value. */
interface KeySecret {
  readonly n: number;
  readonly name: string;
  readonly value: string;
}

/** The secrets this script reads, in the order given, each checked by itself. */
interface SortedSecrets {
  readonly keys: KeySecret[];
  readonly tokens: { secret: string; value: string }[];
  readonly pass: string | undefined;
}

function sortSecrets(secrets: Record<string, unknown>): SortedSecrets {
  const keys: KeySecret[] = [];
  const tokens: { secret: string; value: string }[] = [];
  let pass: string | undefined;
  for (const [name, value] of Object.entries(secrets)) {
    const upper = name.toUpperCase();
    if (upper === 'PASS') {
      if (typeof value === 'string') pass = value;
      continue;
    }
    if (upper === 'CLIENT_TOKENS' || upper === 'CLIENT_TOKEN') {
      // Ignoring it would deploy no tokens, and every client holding one would get 401.
      throw new CollectKeysError(
        `secret ${upper} is not read: create one secret per client named ${CLIENT_TOKEN_PREFIX}<NAME> (e.g. ${CLIENT_TOKEN_PREFIX}ALICE), holding that client's token`,
      );
    }
    if (upper.startsWith(CLIENT_TOKEN_PREFIX)) {
      if (typeof value !== 'string') {
        throw new CollectKeysError(`secret ${upper} must be a string, got ${value === null ? 'null' : typeof value}`);
      }
      // an empty value is an unset slot, as for keys
      if (value !== '') tokens.push({ secret: upper, value });
      continue;
    }
    const key = keySecret(name, value);
    if (key !== undefined) keys.push(key);
  }
  return { keys, tokens, pass };
}

/** The key a `KEY<n>` secret holds; undefined for any other secret and for an empty one. */
function keySecret(name: string, value: unknown): KeySecret | undefined {
  const digits = KEY_NAME.exec(name)?.[1];
  if (digits === undefined) return undefined;
  if (digits.startsWith('0')) {
    // KEY01 next to KEY1 would silently reorder or duplicate keys; a clear failure is cheaper than a wrong key set.
    throw new CollectKeysError(
      `secret ${name} is not a valid key name: use KEY1, KEY2, ... (no leading zeros, no KEY0)`,
    );
  }
  if (typeof value !== 'string') {
    throw new CollectKeysError(`secret ${name} must be a string, got ${value === null ? 'null' : typeof value}`);
  }
  // An empty value is an unset slot, the same rule the worker applies to its KEY<n> bindings.
  if (value === '') return undefined;
  return { n: Number(digits), name: name.toUpperCase(), value };
}

/** Escapes a workflow-command value the way the runner unescapes it (same rules as @actions/core's escapeData). */
export function escapeCommandData(value: string): string {
  return value.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

/**
 * The `::add-mask::` lines for a set of secret values. Besides each value it masks every line of a multi-line value
 * (the runner matches log lines one at a time) and the JSON-escaped form, because that is how a value with quotes,
 * backslashes or newlines appears inside `TF_VAR_api_keys` or `TF_VAR_client_tokens` if anything ever prints it, and
 * the form Terraform's `jsonencode` gives a value with `<`, `>` or `&`.
 * `encoded` are whole encoded forms to mask as well (by default the values as one JSON array).
 */
export function maskCommands(
  values: readonly string[],
  encoded: readonly string[] = [JSON.stringify(values)],
): string[] {
  const masks = new Set<string>();
  const add = (v: string): void => {
    if (v.trim() !== '') masks.add(v);
  };
  for (const value of values) {
    add(value);
    for (const line of value.split(/\r?\n|\r/)) add(line);
    add(JSON.stringify(value).slice(1, -1));
    add(terraformJsonEncode(value).slice(1, -1));
  }
  for (const whole of encoded) add(whole);
  return [...masks].map((m) => `::add-mask::${escapeCommandData(m)}`);
}

/** The environment of the child: SECRETS_JSON removed, the Terraform inputs and the (non-secret) count added. */
export function childEnv(env: NodeJS.ProcessEnv, secrets: CollectedSecrets): NodeJS.ProcessEnv {
  const rest = { ...env };
  delete rest[SECRETS_ENV];
  return {
    ...rest,
    TF_VAR_api_keys: JSON.stringify(secrets.keys),
    TF_VAR_pass: secrets.pass,
    TF_VAR_client_tokens: JSON.stringify(secrets.clientTokens),
    // synth needs the count to lay out KEY bindings; cdktf strips TF_VAR_* from the synth process, not this.
    KEY_COUNT: String(secrets.keys.length),
  };
}

interface Io {
  readonly env: NodeJS.ProcessEnv;
  readonly stdout: (line: string) => void;
  readonly stderr: (line: string) => void;
}

/** Runs the CLI; resolves to the exit code. */
export async function main(argv: readonly string[], io: Io): Promise<number> {
  const sep = argv.indexOf('--');
  const command = sep === -1 ? [] : argv.slice(sep + 1);
  if (command.length === 0) {
    io.stderr('usage: collect-keys.ts -- <command> [args...]  (the keys are only ever handed to that command)');
    return 2;
  }

  let secrets: CollectedSecrets;
  try {
    secrets = collectSecrets(io.env[SECRETS_ENV]);
  } catch (err) {
    if (err instanceof CollectKeysError) {
      io.stdout(`::error title=collect-keys::${escapeCommandData(err.message)}`);
      return 1;
    }
    throw err;
  }
  const env = childEnv(io.env, secrets);
  announce(io, env, secrets);
  return runOnce(command as [string, ...string[]], env, io);
}

/**
 * The masks, then a line naming what was collected (names and counts, never values), then the counts as step
 * outputs. Masks go out before ANY other output, so nothing printed later (by us or by the child) can show a value.
 */
function announce(io: Io, env: NodeJS.ProcessEnv, secrets: CollectedSecrets): void {
  const clients = Object.keys(secrets.clientTokens);
  const encoded = [env.TF_VAR_api_keys, clients.length > 0 ? env.TF_VAR_client_tokens : undefined];
  const masks = maskCommands(
    [...secrets.keys, secrets.pass, ...Object.values(secrets.clientTokens)],
    // `{}` is no secret, and masking it would star out every empty object in the log
    encoded.filter((e): e is string => e !== undefined),
  );
  for (const line of masks) io.stdout(line);
  // client names are not secret (they are in every request log line) and show which tokens a deploy carries
  const tokenNote =
    clients.length > 0 ? `${clients.length} client token(s): ${clients.join(', ')}` : 'no client tokens';
  io.stdout(`collect-keys: ${secrets.keys.length} key(s) from ${secrets.keyNames.join(', ')}; PASS set; ${tokenNote}`);

  const outputFile = io.env.GITHUB_OUTPUT;
  if (outputFile)
    appendFileSync(outputFile, `key-count=${secrets.keys.length}\nclient-token-count=${clients.length}\n`);
}

/**
 * Runs the command with `env` and resolves to its exit code.
 *
 * Own process group + forwarding each signal once: Terraform must see exactly ONE interrupt when a run is cancelled.
 * One lets it finish the current call and release the state lock; a second makes it exit at once, leaving the lock
 * behind. Without the separate group, a signal sent to our whole group would reach it twice (directly, and again
 * through us), and npx/tsx in front of us relay signals too.
 */
async function runOnce(
  [file, ...args]: readonly [string, ...string[]],
  env: NodeJS.ProcessEnv,
  io: Io,
): Promise<number> {
  const child = spawn(file, args, { stdio: 'inherit', env, detached: true });
  const forwarded = new Set<NodeJS.Signals>();
  const forward = (signal: NodeJS.Signals): void => {
    if (forwarded.has(signal)) return;
    forwarded.add(signal);
    child.kill(signal);
  };
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  try {
    return await new Promise<number>((resolve) => {
      child.on('error', (err) => {
        io.stderr(`collect-keys: could not start ${file}: ${err.message}`);
        resolve(127);
      });
      child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 + signalNumber(signal) : 1)));
    });
  } finally {
    process.off('SIGINT', forward);
    process.off('SIGTERM', forward);
  }
}

function signalNumber(signal: NodeJS.Signals): number {
  return signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : signal === 'SIGKILL' ? 9 : 1;
}

if (require.main === module) {
  main(process.argv.slice(2), {
    env: process.env,
    stdout: (line) => process.stdout.write(`${line}\n`),
    stderr: (line) => process.stderr.write(`${line}\n`),
  }).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`collect-keys: unexpected failure: ${err instanceof Error ? err.name : 'error'}\n`);
      process.exit(1);
    },
  );
}
