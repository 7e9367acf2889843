/**
 * Collects the Gemini keys (`KEY1`..`KEYn`) and the gateway password (`PASS`) from the JSON of every secret the
 * step can see (`SECRETS_JSON: ${{ toJSON(secrets) }}`), masks every value, and runs ONE command (the cdktf
 * deploy/destroy or the drift plan) with the values in `TF_VAR_api_keys` / `TF_VAR_pass`.
 *
 *   tsx scripts/ci/collect-keys.ts -- npx cdktf deploy prod --auto-approve
 *
 * Why a launcher rather than "collect, then hand over": the values only ever live in this process's memory and in
 * the environment of the one child that needs them. They never touch $GITHUB_ENV (which every later step and
 * third-party action would inherit), a job output (masked values cannot cross jobs anyway), or a file on the runner
 * that a crash could leave behind. The child does NOT inherit SECRETS_JSON, so Terraform, cdktf and the providers
 * never see the other secrets of the environment. Only the key count leaves, as the step output `key-count`.
 */
import { spawn } from 'node:child_process';
import { appendFileSync } from 'node:fs';

/** Name of the step env var that carries `${{ toJSON(secrets) }}`. */
export const SECRETS_ENV = 'SECRETS_JSON';

export interface CollectedSecrets {
  /** key values in numeric order of their secret name (KEY2 before KEY10) */
  readonly keys: readonly string[];
  /** the secret names the keys came from, same order: names are not secret and make gaps visible in the log */
  readonly keyNames: readonly string[];
  readonly pass: string;
}

/** A failure whose message is safe to print: it names secrets, never their values. */
export class CollectKeysError extends Error {
  override readonly name = 'CollectKeysError';
}

const KEY_NAME = /^KEY(\d+)$/i;

/**
 * Picks KEY<n> and PASS out of the `toJSON(secrets)` text. Everything else (github_token, CLOUDFLARE_API_TOKEN,
 * KEYRING, MY_KEY1...) is ignored. Throws {@link CollectKeysError} when there is no usable key or no PASS.
 */
export function collectSecrets(secretsJson: string | undefined): CollectedSecrets {
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

  const found: { n: number; name: string; value: string }[] = [];
  let pass: string | undefined;
  for (const [name, value] of Object.entries(parsed as Record<string, unknown>)) {
    if (name.toUpperCase() === 'PASS') {
      if (typeof value === 'string') pass = value;
      continue;
    }
    const digits = KEY_NAME.exec(name)?.[1];
    if (digits === undefined) continue;
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
    if (value === '') continue;
    found.push({ n: Number(digits), name: name.toUpperCase(), value });
  }

  if (found.length === 0) {
    throw new CollectKeysError(
      'no Gemini keys found: create secrets named KEY1, KEY2, ... KEYn (in the GitHub environment this job uses) holding one API key each',
    );
  }
  if (pass === undefined || pass === '') {
    throw new CollectKeysError('secret PASS is missing or empty: create it in the GitHub environment this job uses');
  }
  found.sort((a, b) => a.n - b.n);
  return { keys: found.map((k) => k.value), keyNames: found.map((k) => k.name), pass };
}

/** Escapes a workflow-command value the way the runner unescapes it (same rules as @actions/core's escapeData). */
export function escapeCommandData(value: string): string {
  return value.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

/**
 * The `::add-mask::` lines for a set of secret values. Besides each value it masks every line of a multi-line value
 * (the runner matches log lines one at a time) and the JSON-escaped form, because that is how a value with quotes,
 * backslashes or newlines appears inside `TF_VAR_api_keys` if anything ever prints it.
 */
export function maskCommands(values: readonly string[]): string[] {
  const masks = new Set<string>();
  const add = (v: string): void => {
    if (v.trim() !== '') masks.add(v);
  };
  for (const value of values) {
    add(value);
    for (const line of value.split(/\r?\n|\r/)) add(line);
    add(JSON.stringify(value).slice(1, -1));
  }
  add(JSON.stringify(values));
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

  // Masks go out before ANY other output, so nothing printed later (by us or by the child) can show a value.
  for (const line of maskCommands([...secrets.keys, secrets.pass])) io.stdout(line);
  io.stdout(`collect-keys: ${secrets.keys.length} key(s) from ${secrets.keyNames.join(', ')}; PASS set`);

  const outputFile = io.env.GITHUB_OUTPUT;
  if (outputFile) appendFileSync(outputFile, `key-count=${secrets.keys.length}\n`);

  const [file, ...args] = command as [string, ...string[]];
  // Own process group + forwarding each signal once: Terraform must see exactly ONE interrupt when a run is
  // cancelled. One lets it finish the current call and release the state lock; a second makes it exit at once,
  // leaving the lock behind. Without the separate group, a signal sent to our whole group would reach it twice
  // (directly, and again through us), and npx/tsx in front of us relay signals too.
  const child = spawn(file, args, { stdio: 'inherit', env: childEnv(io.env, secrets), detached: true });
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
