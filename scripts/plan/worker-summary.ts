/**
 * What one `cloudflare_workers_script` of a synthesized stack deploys, in terms an operator reads: its name and role,
 * whether workers.dev serves it, its bindings by name and type (a secret is `secret`, never its value), which keys it
 * holds by global number, and which code.
 *
 * Binding values are read only where they are the structure itself and never a secret: a key binding's reference
 * (`${var.api_keys[7]}` is key 8), the shard's own index, the orchestrator's shard attempts, the project labels, and
 * the worker a service binding calls.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { type BindingJson, type ResourceJson, type StackJson, resourcesOf, stringAt } from './stack-json';

export const SCRIPT_TYPE = 'cloudflare_workers_script';
export const SUBDOMAIN_TYPE = 'cloudflare_workers_script_subdomain';

/** A binding as the summary shows it. */
export interface BindingSummary {
  readonly name: string;
  /** the Terraform binding type, except `secret_text`, which is `secret` */
  readonly type: string;
  /** the worker a service binding calls */
  readonly calls?: string;
}

export type WorkerRole = 'orchestrator' | 'shard' | 'preview' | 'worker';

export interface WorkersDevState {
  /** served at `<name>.<subdomain>.workers.dev` */
  readonly enabled: boolean;
  /** preview URLs (one per uploaded version) on workers.dev */
  readonly previews: boolean;
}

export interface WorkerSummary {
  /** the Terraform address, `cloudflare_workers_script.<id>` */
  readonly address: string;
  readonly scriptName: string;
  readonly role: WorkerRole;
  /** a shard's `SHARD_INDEX` (the n of the orchestrator's `BACKEND_SERVICE_<n>` for it) */
  readonly shardIndex?: number;
  /** undefined when the stack declares no subdomain resource for it (Cloudflare's default then applies) */
  readonly workersDev: WorkersDevState | undefined;
  /** its workers.dev URL when public; `<subdomain>` stands for an account subdomain synth was not told */
  readonly url?: string;
  readonly bindings: readonly BindingSummary[];
  /** bindings that count against the plan's environment variables per worker (secret and plain text) */
  readonly envVars: number;
  /** global key numbers (1-based: key 8 is the 8th entry of `TF_VAR_api_keys`) in binding order */
  readonly keys: readonly number[];
  /** the projects of those keys, first appearance first, when the stack names projects */
  readonly projects?: readonly string[];
  /** how many shards the orchestrator may try per request */
  readonly shardAttempts?: number;
  readonly code: CodeSummary;
  readonly compatibilityDate?: string;
  readonly smartPlacement: boolean;
  /** a short digest of every other attribute, so a change shows without its value */
  readonly settings: Readonly<Record<string, string>>;
  /** a short digest of each binding's value or reference by binding name, for the same reason */
  readonly bindingDigests: Readonly<Record<string, string>>;
}

export interface CodeSummary {
  readonly mainModule?: string;
  /** the `content_sha256` the provider checks the file against */
  readonly sha256?: string;
  /** the bundle, relative to the stack directory */
  readonly file?: string;
  /** its size after gzip, what the plan's worker size limit measures */
  readonly gzipBytes?: number;
}

/** Attributes summarized on their own (or not at all), so not digested into `settings`. */
const OWN_ATTRIBUTES = new Set([
  '//',
  'account_id',
  'bindings',
  'compatibility_date',
  'content_file',
  'content_sha256',
  'main_module',
  'placement',
  'script_name',
]);

const KEY_BINDING = /^KEY\d+$/;
const API_KEY_REFERENCE = /var\.api_keys\[(\d+)\]/;
const SCRIPT_NAME_REFERENCE = /^\$\{cloudflare_workers_script\.([^.}]+)\.script_name\}$/;

/** The literal script name a `${cloudflare_workers_script.<id>.script_name}` reference (or a literal) stands for. */
export function scriptNameFor(json: StackJson, value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const match = SCRIPT_NAME_REFERENCE.exec(value);
  if (match === null) return value.includes('${') ? undefined : value;
  const script = json.resource?.[SCRIPT_TYPE]?.[match[1] ?? ''];
  return script === undefined ? undefined : stringAt(script, 'script_name');
}

function bindingsOf(script: ResourceJson): BindingJson[] {
  const bindings = script.bindings;
  return Array.isArray(bindings) ? (bindings as BindingJson[]) : [];
}

/** A plain-text binding's literal value, for the few that carry structure (never a secret binding's). */
function plainText(bindings: readonly BindingJson[], name: string): string | undefined {
  const binding = bindings.find((b) => b.name === name && b.type === 'plain_text');
  return typeof binding?.text === 'string' && !binding.text.includes('${') ? binding.text : undefined;
}

function integerOrUndefined(text: string | undefined): number | undefined {
  return text !== undefined && /^\d+$/.test(text) ? Number(text) : undefined;
}

function bindingSummary(json: StackJson, binding: BindingJson): BindingSummary {
  const name = typeof binding.name === 'string' ? binding.name : '(unnamed)';
  const type = binding.type === 'secret_text' ? 'secret' : typeof binding.type === 'string' ? binding.type : '?';
  if (binding.type !== 'service') return { name, type };
  return { name, type, calls: scriptNameFor(json, binding.service) ?? '(computed at apply)' };
}

/** The global numbers of the keys a worker binds, read from the references of its `KEY<n>` secrets. */
export function keyNumbersOf(bindings: readonly BindingJson[]): number[] {
  return bindings.flatMap((b) => {
    if (b.type !== 'secret_text' || typeof b.name !== 'string' || !KEY_BINDING.test(b.name)) return [];
    const match = typeof b.text === 'string' ? API_KEY_REFERENCE.exec(b.text) : null;
    return match === null ? [] : [Number(match[1]) + 1];
  });
}

function roleOf(stackName: string, bindings: readonly BindingJson[]): WorkerRole {
  if (bindings.some((b) => b.type === 'service' && typeof b.name === 'string' && b.name.startsWith('BACKEND_SERVICE_')))
    return 'orchestrator';
  if (bindings.some((b) => b.name === 'SHARD_INDEX')) return 'shard';
  return stackName.startsWith('preview-') ? 'preview' : 'worker';
}

function digest(value: unknown): string {
  return createHash('sha256')
    .update(JSON.stringify(value) ?? 'undefined')
    .digest('hex')
    .slice(0, 12);
}

/** A binding's attributes besides its name, type, text and service (a dataset, an environment, ...). */
function restOf(binding: BindingJson): Record<string, unknown> {
  const { name: _name, type: _type, text: _text, service: _service, ...rest } = binding as Record<string, unknown>;
  return rest;
}

function settingsOf(script: ResourceJson): Record<string, string> {
  return Object.fromEntries(
    Object.keys(script)
      .filter((attribute) => !OWN_ATTRIBUTES.has(attribute))
      .sort()
      .map((attribute) => [attribute, digest(script[attribute])]),
  );
}

/** The subdomain resource that switches workers.dev for the script with JSON id `id`. */
function workersDevOf(json: StackJson, id: string, scriptName: string): WorkersDevState | undefined {
  const subdomain = resourcesOf(json, SUBDOMAIN_TYPE).find(([, r]) => {
    const target = r.script_name;
    return target === `\${${SCRIPT_TYPE}.${id}.script_name}` || target === scriptName;
  })?.[1];
  if (subdomain === undefined) return undefined;
  return { enabled: subdomain.enabled === true, previews: subdomain.previews_enabled === true };
}

/** The account subdomain synth was told (the `workers_dev_subdomain` variable's default), else a placeholder. */
function accountSubdomain(json: StackJson): string {
  const value = json.variable?.workers_dev_subdomain?.default;
  return typeof value === 'string' && value !== '' ? value : '<subdomain>';
}

/** What the summary needs from outside the JSON: the stack, its directory, and a way to measure a bundle. */
export interface WorkerContext {
  readonly stackName: string;
  readonly stackDir: string;
  readonly json: StackJson;
  /** the project of each global key number, when the stack names projects */
  readonly projectOfKey?: (key: number) => string | undefined;
  /** gzip size of a file, or undefined when it cannot be read */
  readonly gzipSize?: (file: string) => number | undefined;
}

function codeOf(script: ResourceJson, context: WorkerContext): CodeSummary {
  const file = stringAt(script, 'content_file');
  return {
    mainModule: stringAt(script, 'main_module'),
    sha256: stringAt(script, 'content_sha256'),
    file,
    gzipBytes: file === undefined ? undefined : context.gzipSize?.(resolve(context.stackDir, file)),
  };
}

function projectsOf(keys: readonly number[], context: WorkerContext): string[] | undefined {
  if (context.projectOfKey === undefined) return undefined;
  const labels = keys.map((k) => context.projectOfKey?.(k)).filter((l): l is string => l !== undefined);
  return labels.length === 0 ? undefined : [...new Set(labels)];
}

/** One worker of the stack, from its `cloudflare_workers_script` block with JSON id `id`. */
export function summarizeWorker(id: string, script: ResourceJson, context: WorkerContext): WorkerSummary {
  const { json } = context;
  const scriptName = stringAt(script, 'script_name') ?? id;
  const raw = bindingsOf(script);
  const bindings = raw.map((b) => bindingSummary(json, b));
  const keys = keyNumbersOf(raw);
  const workersDev = workersDevOf(json, id, scriptName);
  const placement = script.placement as { mode?: unknown } | undefined;
  return {
    address: `${SCRIPT_TYPE}.${id}`,
    scriptName,
    role: roleOf(context.stackName, raw),
    shardIndex: integerOrUndefined(plainText(raw, 'SHARD_INDEX')),
    workersDev,
    url: workersDev?.enabled ? `https://${scriptName}.${accountSubdomain(json)}.workers.dev` : undefined,
    bindings,
    envVars: bindings.filter((b) => b.type === 'secret' || b.type === 'plain_text').length,
    keys,
    projects: projectsOf(keys, context),
    shardAttempts: integerOrUndefined(plainText(raw, 'SHARD_ATTEMPTS')),
    code: codeOf(script, context),
    compatibilityDate: stringAt(script, 'compatibility_date'),
    smartPlacement: placement?.mode === 'smart',
    settings: settingsOf(script),
    bindingDigests: Object.fromEntries(
      raw.map((b) => [String(b.name), digest({ text: b.text, service: b.service, rest: restOf(b) })]),
    ),
  };
}

/** The labels of the whole pool in global key order, from a `KEY_PROJECTS` plain-text binding of any worker. */
export function keyProjectsBinding(json: StackJson): readonly string[] | undefined {
  for (const [, script] of resourcesOf(json, SCRIPT_TYPE)) {
    const text = plainText(bindingsOf(script), 'KEY_PROJECTS');
    if (text !== undefined && text.trim() !== '') return text.split(',').map((label) => label.trim());
  }
  return undefined;
}
