/**
 * The pure parts of `npm start`: arguments, secrets, the synth environment and what gets printed.
 *
 * @module
 */
import { clientTokensProblem } from '../../constructs/client-tokens';
import { parseClientLimits } from '../../workers/shared/contract';
import type { RequestSummary } from './request-log';
import { backendScripts, type Topology } from './emulated-topology';
import { printable } from '../../workers/shared/printable';
import { MIN_PASS_LENGTH } from '../../workers/shared/contract';

export { printable };

export const DEFAULT_PORT = 8787;
export const DEFAULT_PREVIEW_PR = '1';
const STACK_NAME = /^(prod|preview-[1-9][0-9]{0,8})$/;

export interface CliArgs {
  readonly stack: string;
  readonly port: number;
  /** reuse `cdktf.out/` as it is instead of synthesizing */
  readonly skipSynth: boolean;
}

export const USAGE = `usage: npm start -- [--stack prod|preview-<n>] [--port <n>] [--skip-synth]

Runs the synthesized stack in workerd. Without TF_VAR_api_keys it uses demo keys and a fake Gemini on loopback that
counts quota per project, as Google does (demo layout: half the keys in one project, the others one each).
Environment: PORT (default ${DEFAULT_PORT}), TF_VAR_api_keys (JSON array), TF_VAR_pass, TF_VAR_client_tokens (JSON
object of name to token), CLIENT_LIMITS (JSON object of name to limit, e.g. {"alice":{"rpm":60}}), GEMINI_BASE_URL,
KEY_COUNT, KEY_PROJECTS (one project label per key, e.g. a,a,b), DEMO_QUOTA (the fake's calls per project and model
per window, e.g. 4/1s).
While it runs: s + Enter prints every key's status (as GET /zen/status does); the last view is printed at exit.`;

export class CliError extends Error {
  override readonly name = 'CliError';
}

function portNumber(raw: string, source: string): number {
  if (!/^[0-9]{1,5}$/.test(raw) || Number(raw) > 65535) {
    throw new CliError(`${source} must be a port number 0..65535, got ${JSON.stringify(raw)}`);
  }
  return Number(raw);
}

export function parseArgs(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): CliArgs {
  let stack = 'prod';
  let port = env.PORT === undefined || env.PORT === '' ? DEFAULT_PORT : portNumber(env.PORT, 'PORT');
  let skipSynth = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === undefined) break;
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? arg.split(/=(.*)/s, 2) : [arg, undefined];
    const value = (): string => {
      const next = inline ?? argv[++i];
      if (next === undefined) throw new CliError(`${flag} needs a value\n${USAGE}`);
      return next;
    };
    if (flag === '--stack') stack = value();
    else if (flag === '--port') port = portNumber(value(), '--port');
    else if (flag === '--skip-synth') skipSynth = true;
    else throw new CliError(`unknown argument ${JSON.stringify(arg)}\n${USAGE}`);
  }
  if (!STACK_NAME.test(stack)) throw new CliError(`--stack must be prod or preview-<n>, got ${JSON.stringify(stack)}`);
  return { stack, port, skipSynth };
}

/** Parses `TF_VAR_api_keys` the way Terraform reads a `list(string)` variable from the environment. */
export function parseApiKeys(raw: string): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new CliError('TF_VAR_api_keys must be a JSON array of strings, e.g. ["key1","key2"]; it is not valid JSON');
  }
  if (!Array.isArray(parsed) || !parsed.every((k) => typeof k === 'string' && k.trim() !== '')) {
    throw new CliError('TF_VAR_api_keys must be a JSON array of non-empty strings, e.g. ["key1","key2"]');
  }
  return parsed as string[];
}

/**
 * Parses `TF_VAR_client_tokens` the way Terraform reads the `map(string)` variable, and applies the variable's
 * validation (next to `pass` and the clients `CLIENT_LIMITS` limits), so `npm start` accepts exactly what a deploy
 * would. Messages never quote a token.
 */
export function parseClientTokens(
  raw: string | undefined,
  pass: string,
  limited: readonly string[] = [],
): Record<string, string> {
  if (raw === undefined || raw.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new CliError(
      'TF_VAR_client_tokens must be a JSON object of client name to token, e.g. {"alice":"<token>"}; it is not valid JSON',
    );
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new CliError('TF_VAR_client_tokens must be a JSON object of client name to token, e.g. {"alice":"<token>"}');
  }
  const problem = clientTokensProblem(parsed as Record<string, unknown>, pass, limited);
  if (problem !== undefined) throw new CliError(`TF_VAR_client_tokens: ${problem}`);
  return parsed as Record<string, string>;
}

/**
 * The environment synth runs with: no `TF_VAR_*` (secrets never reach synth), no `GEMINI_BASE_URL` (locally it
 * overrides the emulated binding instead), `PR_NUMBER` set so the preview
 * stack exists, `KEY_COUNT` taken from the real key list when the user gave keys but no count, and `KEY_PROJECTS`
 * from `keyProjects` (the demo layout) when the user set none.
 */
export function synthEnv(
  env: Readonly<Record<string, string | undefined>>,
  stack: string,
  apiKeyCount: number | undefined,
  keyProjects?: readonly string[],
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    // GEMINI_BASE_URL means "where the emulated shards call" here and is applied to the emulation, not baked in
    if (value !== undefined && !name.startsWith('TF_VAR_') && name !== 'GEMINI_BASE_URL') out[name] = value;
  }
  out.PR_NUMBER = stack.startsWith('preview-') ? stack.slice('preview-'.length) : env.PR_NUMBER || DEFAULT_PREVIEW_PR;
  if (apiKeyCount !== undefined) {
    if (env.KEY_COUNT !== undefined && env.KEY_COUNT !== '' && Number(env.KEY_COUNT) !== apiKeyCount) {
      throw new CliError(
        `KEY_COUNT is ${env.KEY_COUNT} but TF_VAR_api_keys holds ${apiKeyCount} keys; Terraform would reject this, so fix one of them`,
      );
    }
    out.KEY_COUNT = String(apiKeyCount);
  }
  if (keyProjects !== undefined && !env.KEY_PROJECTS) out.KEY_PROJECTS = keyProjects.join(',');
  return out;
}

export interface LocalSecrets {
  readonly apiKeys: string[];
  readonly pass: string;
  /** `TF_VAR_client_tokens`, validated; empty without it */
  readonly clientTokens: Readonly<Record<string, string>>;
  /** demo keys and a generated password, served by the fake Gemini */
  readonly demo: boolean;
}

/** The clients `CLIENT_LIMITS` limits; none when it is unset or malformed (synth, which runs first, says why). */
function limitedClients(env: Readonly<Record<string, string | undefined>>): string[] {
  const parsed = parseClientLimits(env.CLIENT_LIMITS);
  return parsed.ok ? Object.keys(parsed.limits).sort() : [];
}

/** Real secrets from `TF_VAR_*`, or demo ones sized for the stack when no keys are given. */
export function resolveSecrets(
  env: Readonly<Record<string, string | undefined>>,
  requiredKeyCount: number,
  randomToken: () => string,
): LocalSecrets {
  const raw = env.TF_VAR_api_keys;
  const limited = limitedClients(env);
  if (raw === undefined || raw === '') {
    const apiKeys = Array.from({ length: requiredKeyCount }, (_, i) => `demo-key-${String(i + 1).padStart(2, '0')}`);
    const pass = env.TF_VAR_pass || `demo-${randomToken()}`;
    return { apiKeys, pass, clientTokens: parseClientTokens(env.TF_VAR_client_tokens, pass, limited), demo: true };
  }
  const pass = env.TF_VAR_pass;
  if (pass === undefined || pass.trim() === '') {
    throw new CliError(
      'TF_VAR_pass is not set: with real keys in TF_VAR_api_keys, choose the password clients must send',
    );
  }
  if (pass.length < MIN_PASS_LENGTH) {
    throw new CliError(
      `TF_VAR_pass must be at least ${MIN_PASS_LENGTH} characters, as a deploy requires: the gateway blanks the password out of every answer, so a short one would also blank out ordinary text`,
    );
  }
  return {
    apiKeys: parseApiKeys(raw),
    pass,
    clientTokens: parseClientTokens(env.TF_VAR_client_tokens, pass, limited),
    demo: false,
  };
}

export interface BannerInput {
  readonly stack: string;
  readonly url: string;
  readonly secrets: LocalSecrets;
  readonly upstream: string;
  /** script name of each emulated worker, public one first */
  readonly workers: readonly string[];
  /** how the demo keys fall into projects, e.g. `20 keys in 11 projects` */
  readonly projects?: string;
}

/** What `npm start` prints once the topology is up. Shows the password only when it is a generated demo one. */
export function banner({ stack, url, secrets, upstream, workers, projects }: BannerInput): string {
  // inside the curl example's double quotes the shell expands $TF_VAR_pass, so a real password is never printed
  const pass = secrets.demo ? secrets.pass : '$TF_VAR_pass';
  return [
    `zen-ai-router: stack ${stack} running in workerd (${workers.length} worker${workers.length === 1 ? '' : 's'}: ${workers.join(', ')})`,
    `  URL       ${url}/v1`,
    `  password  ${secrets.demo ? `${pass}   (demo; set TF_VAR_api_keys and TF_VAR_pass to use real keys)` : 'from TF_VAR_pass'}`,
    `  upstream  ${upstream}${secrets.demo ? `   (fake Gemini, ${projects ?? `${secrets.apiKeys.length} demo keys`})` : ''}`,
    ...clientTokenLine(secrets.clientTokens),
    '',
    'Try it:',
    `  curl ${url}/v1/chat/completions -H "Authorization: Bearer ${pass}" -H "Content-Type: application/json" \\`,
    `    -d '{"model":"gemini-3.8-flash","messages":[{"role":"user","content":"Hello"}]}'`,
    '',
    '  // node, with the openai package',
    "  import OpenAI from 'openai';",
    `  const client = new OpenAI({ baseURL: '${url}/v1', apiKey: ${secrets.demo ? `'${pass}'` : 'process.env.TF_VAR_pass'} });`,
    "  const reply = await client.chat.completions.create({ model: 'gemini-3.8-flash', messages: [{ role: 'user', content: 'Hello' }] });",
    '  console.log(reply.choices[0].message.content);',
    '',
    '',
    `Key status: s + Enter prints it (also at exit), or: curl ${url}/zen/status -H "Authorization: Bearer ${pass}"`,
    `Status page: ${url}/zen in a browser (sign in with the password)`,
    '',
    'Requests (Ctrl-C to stop):',
  ].join('\n');
}

/** The names of the client tokens in force, never the tokens. */
function clientTokenLine(tokens: Readonly<Record<string, string>>): string[] {
  const names = Object.keys(tokens).sort();
  return names.length === 0
    ? []
    : [`  tokens    ${printable(names.join(', '))}   (from TF_VAR_client_tokens, also accepted)`];
}

/** A worker whose `KEY<n>` bindings a request line can translate into the key's place in `TF_VAR_api_keys`. */
export interface KeyedWorker {
  readonly scriptName: string;
  /** binding name (`KEY<n>`) → index into `var.api_keys` */
  readonly apiKeyIndexes: Readonly<Record<string, number>>;
}

/** What a request line needs to know about the emulated workers. */
export interface RequestLineContext {
  /** n of `BACKEND_SERVICE_<n>` → the shard it reaches */
  readonly shards: ReadonlyMap<number, KeyedWorker>;
  /** the public worker, for a request it served itself (the preview) */
  readonly publicWorker: KeyedWorker;
}

export function requestLineContext(topology: Topology): RequestLineContext {
  const byScriptName = new Map(topology.workers.map((worker) => [worker.scriptName, worker]));
  const shards = new Map<number, KeyedWorker>();
  for (const [n, scriptName] of backendScripts(topology)) {
    shards.set(n, byScriptName.get(scriptName) ?? { scriptName, apiKeyIndexes: {} });
  }
  return { shards, publicWorker: topology.publicWorker };
}

/**
 * A worker line that is not a request (a key event, an uncaught exception with its stack), escaped line by line;
 * lines after the first are indented so none of them can pass for a request line.
 */
export function formatOther(text: string): string {
  return text.split(/\r?\n/).map(printable).join('\n    ');
}

/**
 * The key as the operator knows it: `KEY13` is the 13th entry of `TF_VAR_api_keys` (and the workflow's `KEY13`
 * secret), whichever shard holds it under which local `KEY<n>`.
 */
function keyLabel(summary: RequestSummary, context: RequestLineContext): string {
  if (summary.keyIndex === undefined) return 'no key';
  const worker = summary.shard === undefined ? context.publicWorker : context.shards.get(summary.shard);
  const index = worker?.apiKeyIndexes[`KEY${summary.keyIndex}`];
  // a shard line whose orchestrator line never came does not say which shard it was
  return index === undefined ? `shard key ${summary.keyIndex}` : `KEY${index + 1}`;
}

/** One printed line per request, e.g. `200  38 ms  shard 1 (zen-ai-router-worker-1)  KEY12  chat.completions  gemini-3.8-flash  [id]`. */
export function formatRequest(summary: RequestSummary, context: RequestLineContext): string {
  const parts = [String(summary.status).padEnd(3), `${String(summary.ms).padStart(5)} ms`];
  if (summary.shard !== undefined) {
    const name = context.shards.get(summary.shard)?.scriptName;
    parts.push(`shard ${summary.shard}${name ? ` (${name})` : ''}`);
  }
  // the status view through the orchestrator asked every shard, so it used no key: say how many shards answered
  if (summary.queried !== undefined) parts.push(`${summary.queried} shards asked, ${summary.answered ?? 0} answered`);
  else parts.push(keyLabel(summary, context));
  if (summary.route) parts.push(summary.route);
  if (summary.path) parts.push(summary.path);
  if (summary.model) parts.push(summary.model);
  // PASS is the default; a named token is worth saying
  if (summary.client && summary.client !== 'pass') parts.push(`client=${summary.client}`);
  if (summary.error) parts.push(`error=${summary.error}`);
  parts.push(`[${summary.requestId}]`);
  return printable(parts.join('  '));
}
