/**
 * Turns a synthesized stack (`cdktf.out/stacks/<stack>/cdk.tf.json`) into the Miniflare workers that emulate it.
 *
 * Generic on purpose: it knows Terraform's JSON and the `cloudflare_workers_script` schema, not this app's
 * constructs, so a new binding or worker in the stack shows up locally without touching this file, and anything it
 * cannot emulate faithfully fails loudly with the resource and attribute instead of being dropped.
 *
 * @module
 */
import { terraformJsonEncode } from '../../constructs/client-tokens';
import { BACKEND_BINDING_PATTERN } from '../../workers/shared/contract';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import type { WorkerOptions } from 'miniflare';
import * as analytics from './analytics-engine';
import * as durable from './durable-objects';
import { TopologyError } from './topology-error';

export { TopologyError };

export const SCRIPT_TYPE = 'cloudflare_workers_script';
export const SUBDOMAIN_TYPE = 'cloudflare_workers_script_subdomain';

/** The values Terraform would read from `TF_VAR_api_keys`, `TF_VAR_pass` and `TF_VAR_client_tokens`. */
export interface TopologySecrets {
  readonly apiKeys: readonly string[];
  readonly pass: string;
  /**
   * Named client tokens (`var.client_tokens`).
   *
   * @default - none, the variable's default
   */
  readonly clientTokens?: Readonly<Record<string, string>>;
}

export interface TopologyOptions {
  /** absolute path of the stack directory; `content_file` is relative to it, as it is for Terraform */
  readonly stackDir: string;
  readonly secrets: TopologySecrets;
  /**
   * Values that replace `plain_text` bindings of the same name in every worker that has one, e.g. pointing
   * `GEMINI_BASE_URL` at a local fake. Only existing bindings are replaced: an override never adds a binding.
   *
   * @default - none
   */
  readonly plainTextOverrides?: Readonly<Record<string, string>>;
  /** @default - `fs.readFileSync` */
  readonly readFile?: (absolutePath: string) => Uint8Array;
}

/** One emulated worker, with what the CLI needs to describe it. */
export interface EmulatedWorker {
  /** the Terraform resource name (`cloudflare_workers_script.<resourceId>`) */
  readonly resourceId: string;
  readonly scriptName: string;
  /** true for the worker served on workers.dev, which gets the local port */
  readonly isPublic: boolean;
  /** binding name → index into `var.api_keys`, for every secret bound from the key list */
  readonly apiKeyIndexes: Readonly<Record<string, number>>;
  /** binding name → target script name, for every service binding */
  readonly services: Readonly<Record<string, string>>;
  readonly options: WorkerOptions;
}

export interface Topology {
  /** the public worker first (Miniflare serves its first worker on the port), then the others in stack order */
  readonly workers: readonly EmulatedWorker[];
  readonly publicWorker: EmulatedWorker;
}

type Json = Record<string, unknown>;

const KEY_REFERENCE = /^\$\{var\.api_keys\[(0|[1-9][0-9]*)\]\}$/;
const PASS_REFERENCE = /^\$\{var\.pass\}$/;
/** the whole client token map, as the shard worker construct binds it */
const CLIENT_TOKENS_REFERENCE = '${jsonencode(var.client_tokens)}';
const SCRIPT_NAME_REFERENCE = /^\$\{cloudflare_workers_script\.([A-Za-z0-9_-]+)\.script_name\}$/;
/** an interpolation or directive that is not escaped as `$${` / `%%{` */
const UNESCAPED_TEMPLATE = /(^|[^$%])[$%]\{/;

/** Attributes that change only how Cloudflare stores, bills or observes a script, not what it does on a request. */
const IGNORED_SCRIPT_ATTRIBUTES = new Set([
  '//',
  'account_id',
  'observability',
  'logpush',
  'placement',
  'usage_model',
  'limits',
  'keep_bindings',
  'depends_on',
  'lifecycle',
  'provider',
  'count',
  'for_each',
]);
const EMULATED_SCRIPT_ATTRIBUTES = new Set([
  'script_name',
  'content',
  'content_file',
  'content_sha256',
  'main_module',
  'compatibility_date',
  'compatibility_flags',
  'bindings',
  'migrations',
]);
const BINDING_ATTRIBUTES: Readonly<Record<string, readonly string[]>> = {
  secret_text: ['name', 'type', 'text'],
  plain_text: ['name', 'type', 'text'],
  service: ['name', 'type', 'service', 'environment'],
};

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function resourcesOf(stack: Json, type: string): [string, Json][] {
  const resources = isObject(stack.resource) ? stack.resource : {};
  const ofType = resources[type];
  return isObject(ofType) ? Object.entries(ofType).map(([id, body]) => [id, isObject(body) ? body : {}]) : [];
}

function literalString(where: string, value: unknown): string {
  if (typeof value !== 'string') throw new TopologyError(`${where} must be a string, got ${JSON.stringify(value)}`);
  if (UNESCAPED_TEMPLATE.test(value)) {
    throw new TopologyError(`${where} is the Terraform expression ${JSON.stringify(value)}, which cannot be emulated`);
  }
  return value.replaceAll('$${', '${').replaceAll('%%{', '%{');
}

/**
 * Every `var.api_keys[i]` the stack reads, as the list length Terraform needs (highest index + 1); 0 when none.
 * Used to make demo keys for a stack synthesized with any key count.
 */
export function requiredApiKeyCount(stack: Json): number {
  let count = 0;
  for (const [, script] of resourcesOf(stack, SCRIPT_TYPE)) {
    for (const binding of Array.isArray(script.bindings) ? script.bindings : []) {
      const match = isObject(binding) && typeof binding.text === 'string' ? KEY_REFERENCE.exec(binding.text) : null;
      if (match) count = Math.max(count, Number(match[1]) + 1);
    }
  }
  return count;
}

interface ScriptContext {
  readonly where: string;
  readonly scriptNames: ReadonlyMap<string, string>;
  readonly options: TopologyOptions;
}

function resolveText(
  ctx: ScriptContext,
  where: string,
  text: unknown,
  apiKeyIndexes: Record<string, number>,
  name: string,
): string {
  if (typeof text === 'string') {
    const key = KEY_REFERENCE.exec(text);
    if (key) {
      const index = Number(key[1]);
      const value = ctx.options.secrets.apiKeys[index];
      if (value === undefined) {
        throw new TopologyError(
          `${where} reads var.api_keys[${index}], but TF_VAR_api_keys holds ${ctx.options.secrets.apiKeys.length} keys`,
        );
      }
      apiKeyIndexes[name] = index;
      return value;
    }
    if (PASS_REFERENCE.test(text)) return ctx.options.secrets.pass;
    if (text === CLIENT_TOKENS_REFERENCE) return terraformJsonEncode(ctx.options.secrets.clientTokens ?? {});
  }
  return literalString(where, text);
}

function resolveService(ctx: ScriptContext, where: string, service: unknown): string {
  if (typeof service === 'string') {
    const referenced = SCRIPT_NAME_REFERENCE.exec(service)?.[1];
    if (referenced !== undefined) {
      const target = ctx.scriptNames.get(referenced);
      if (target === undefined) {
        throw new TopologyError(`${where} references ${SCRIPT_TYPE}.${referenced}, which is not in this stack`);
      }
      return target;
    }
  }
  const literal = literalString(where, service);
  if (![...ctx.scriptNames.values()].includes(literal)) {
    throw new TopologyError(
      `${where} names the worker "${literal}", which is not in this stack and cannot be emulated`,
    );
  }
  return literal;
}

/** Every attribute of the script is one the emulation either applies or knows to be irrelevant to a request. */
function checkScriptAttributes(where: string, script: Json): void {
  for (const attribute of Object.keys(script)) {
    if (!IGNORED_SCRIPT_ATTRIBUTES.has(attribute) && !EMULATED_SCRIPT_ATTRIBUTES.has(attribute)) {
      throw new TopologyError(`${where}.${attribute} is not supported by the local emulation`);
    }
  }
}

interface ScriptCode {
  readonly code: Uint8Array;
  /** where the code lives (or would, for inline `content`), so workerd's errors point somewhere meaningful */
  readonly modulePath: string;
}

/** The script's code from `content_file` or `content`, checked against `content_sha256` when the stack pins it. */
function readScriptCode(ctx: ScriptContext, resourceId: string, script: Json): ScriptCode {
  const { where, options } = ctx;
  let code: Uint8Array;
  let modulePath: string;
  if (script.content_file !== undefined) {
    const file = literalString(`${where}.content_file`, script.content_file);
    modulePath = isAbsolute(file) ? file : resolve(options.stackDir, file);
    try {
      code = (options.readFile ?? readFileSync)(modulePath);
    } catch (error) {
      throw new TopologyError(`${where}.content_file: cannot read ${modulePath} (${(error as Error).message})`);
    }
  } else if (script.content !== undefined) {
    code = new TextEncoder().encode(literalString(`${where}.content`, script.content));
    modulePath = resolve(options.stackDir, `${resourceId}.js`);
  } else {
    throw new TopologyError(`${where} has neither content_file nor content`);
  }
  if (script.content_sha256 !== undefined) {
    const expected = literalString(`${where}.content_sha256`, script.content_sha256);
    const actual = createHash('sha256').update(code).digest('hex');
    if (actual !== expected) {
      throw new TopologyError(
        `${where}.content_sha256 is ${expected} but the bundle's SHA-256 is ${actual}: synth again`,
      );
    }
  }
  return { code, modulePath };
}

/** The runtime behaviour the script asks workerd for. */
function compatibilityOf(where: string, script: Json): Pick<WorkerOptions, 'compatibilityDate' | 'compatibilityFlags'> {
  if (script.compatibility_date === undefined) {
    throw new TopologyError(`${where}.compatibility_date is missing; workerd needs one to pick runtime behaviour`);
  }
  const compatibilityDate = literalString(`${where}.compatibility_date`, script.compatibility_date);
  const flags = script.compatibility_flags ?? [];
  if (!Array.isArray(flags)) throw new TopologyError(`${where}.compatibility_flags must be a list of strings`);
  const compatibilityFlags = flags.map((flag, i) => literalString(`${where}.compatibility_flags[${i}]`, flag));
  return { compatibilityDate, compatibilityFlags };
}

interface ResolvedBindings {
  /** name → value, for text bindings (secret or plain) */
  readonly bindings: Record<string, string>;
  /** name → target script name, for service bindings */
  readonly serviceBindings: Record<string, string>;
  /** name → class and the worker holding it, for Durable Object namespace bindings */
  readonly durableObjects: Record<string, durable.DurableObjectBinding>;
  readonly apiKeyIndexes: Record<string, number>;
}

/** The binding's type, once it is known to be one the emulation supports with only attributes it understands. */
function bindingType(at: string, raw: Json): string {
  const type = literalString(`${at}.type`, raw.type);
  if (type === analytics.ANALYTICS_ENGINE_TYPE) return analytics.checkedDatasetBinding(at, raw);
  const allowed = type === durable.DURABLE_OBJECT_TYPE ? durable.DURABLE_OBJECT_ATTRIBUTES : BINDING_ATTRIBUTES[type];
  if (allowed === undefined) {
    throw new TopologyError(
      `${at}.type is "${type}", which the local emulation does not support (supported: ${Object.keys(BINDING_ATTRIBUTES).join(', ')}); ${durable.DURABLE_OBJECT_TYPE} is supported too, and so is ${analytics.ANALYTICS_ENGINE_TYPE}`,
    );
  }
  for (const attribute of Object.keys(raw)) {
    if (!allowed.includes(attribute) && raw[attribute] !== null) {
      throw new TopologyError(`${at}.${attribute} is not supported for a ${type} binding by the local emulation`);
    }
  }
  return type;
}

/** Each binding with its value as Terraform would send it, overrides applied to `plain_text` ones. */
function resolveBindings(ctx: ScriptContext, script: Json, objects: durable.DurableObjectContext): ResolvedBindings {
  const { where, options } = ctx;
  const resolved: ResolvedBindings = { bindings: {}, serviceBindings: {}, durableObjects: {}, apiKeyIndexes: {} };
  const { bindings, serviceBindings, durableObjects } = resolved;
  const list = script.bindings ?? [];
  if (!Array.isArray(list)) throw new TopologyError(`${where}.bindings must be a list`);
  list.forEach((raw, i) => {
    const at = `${where}.bindings[${i}]`;
    if (!isObject(raw)) throw new TopologyError(`${at} must be an object`);
    const type = bindingType(at, raw);
    if (type === analytics.ANALYTICS_ENGINE_TYPE) return; // `analytics.withDatasets` binds it
    const name = literalString(`${at}.name`, raw.name);
    if (name in bindings || name in serviceBindings || name in durableObjects)
      throw new TopologyError(`${at}.name "${name}" is bound twice`);
    const override = options.plainTextOverrides?.[name];
    if (type === durable.DURABLE_OBJECT_TYPE) {
      durableObjects[name] = durable.durableObjectBinding(objects, at, raw);
    } else if (type === 'service') {
      serviceBindings[name] = resolveService(ctx, `${at}.service`, raw.service);
    } else if (type === 'plain_text' && override !== undefined) {
      bindings[name] = override;
    } else {
      bindings[name] = resolveText(ctx, `${at}.text`, raw.text, resolved.apiKeyIndexes, name);
    }
  });
  return resolved;
}

/** A worker, and what linking its Durable Object bindings across the stack needs. */
type BuiltWorker = { readonly worker: EmulatedWorker; readonly durable: durable.DurableObjectWorker };

function buildWorker(ctx: ScriptContext, resourceId: string, script: Json, isPublic: boolean): BuiltWorker {
  const { where, options } = ctx;
  checkScriptAttributes(where, script);
  const scriptName = literalString(`${where}.script_name`, script.script_name);
  const { code, modulePath } = readScriptCode(ctx, resourceId, script);
  const compatibility = compatibilityOf(where, script);
  const resolveScript = (at: string, v: unknown): string => resolveService(ctx, at, v);
  const objects = { scriptName, literal: literalString, resolveScript };
  const { bindings, serviceBindings, durableObjects, apiKeyIndexes } = resolveBindings(ctx, script, objects);
  const migrations = durable.migratedClasses(objects, `${where}.migrations`, script.migrations);

  const mainModule =
    script.main_module === undefined ? undefined : literalString(`${where}.main_module`, script.main_module);
  const contents = new TextDecoder().decode(code);
  const workerOptions: WorkerOptions = {
    name: scriptName,
    ...compatibility,
    bindings,
    serviceBindings,
    ...(mainModule === undefined
      ? { script: contents, scriptPath: modulePath }
      : // the module is named after main_module, as Cloudflare names the uploaded part
        {
          modulesRoot: options.stackDir,
          modules: [{ type: 'ESModule', path: resolve(options.stackDir, mainModule), contents }],
        }),
  };
  return {
    worker: { resourceId, scriptName, isPublic, apiKeyIndexes, services: serviceBindings, options: workerOptions },
    durable: { scriptName, where, migrations, bindings: durableObjects },
  };
}

/**
 * Builds the emulated topology of one stack.
 *
 * @throws TopologyError naming the resource and attribute for anything it cannot emulate
 */
export function buildTopology(stack: Json, options: TopologyOptions): Topology {
  const scripts = resourcesOf(stack, SCRIPT_TYPE);
  if (scripts.length === 0) throw new TopologyError(`the stack declares no ${SCRIPT_TYPE}`);
  const scriptNames = new Map(
    scripts.map(([id, body]) => [id, literalString(`${SCRIPT_TYPE}.${id}.script_name`, body.script_name)]),
  );

  const publicIds = new Set<string>();
  for (const [id, subdomain] of resourcesOf(stack, SUBDOMAIN_TYPE)) {
    if (subdomain.enabled !== true) continue;
    const where = `${SUBDOMAIN_TYPE}.${id}.script_name`;
    const reference =
      typeof subdomain.script_name === 'string' ? SCRIPT_NAME_REFERENCE.exec(subdomain.script_name) : null;
    const target = reference
      ? reference[1]
      : [...scriptNames].find(([, name]) => name === literalString(where, subdomain.script_name))?.[0];
    if (target === undefined || !scriptNames.has(target)) {
      throw new TopologyError(`${where} does not name a ${SCRIPT_TYPE} of this stack`);
    }
    publicIds.add(target);
  }
  if (publicIds.size !== 1) {
    throw new TopologyError(
      `expected exactly one ${SUBDOMAIN_TYPE} with enabled = true to pick the worker served locally, found ${publicIds.size}`,
    );
  }

  const built = scripts.map(([id, body]) =>
    buildWorker({ where: `${SCRIPT_TYPE}.${id}`, scriptNames, options }, id, body, publicIds.has(id)),
  );
  const workers = analytics.withDatasets(durable.linkDurableObjects(built), scripts, literalString);
  const publicWorker = workers.find((w) => w.isPublic) as EmulatedWorker;
  return { workers: [publicWorker, ...workers.filter((w) => !w.isPublic)], publicWorker };
}

/** `BACKEND_SERVICE_<n>` → script name for the public worker, so an orchestrator's `shard` can be named. */
export function backendScripts(topology: Topology): ReadonlyMap<number, string> {
  const out = new Map<number, string>();
  for (const [name, target] of Object.entries(topology.publicWorker.services)) {
    const match = BACKEND_BINDING_PATTERN.exec(name);
    if (match) out.set(Number(match[1]), target);
  }
  return out;
}
