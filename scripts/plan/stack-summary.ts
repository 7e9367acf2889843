/**
 * What deploying one synthesized stack creates: its workers (see `worker-summary.ts`), routes, notification
 * policies, any other resource, its outputs, its state backend (bucket and key, never credentials) and the versions
 * it requires. Pure: the JSON in, a plain object out; measuring a bundle is injected.
 *
 * @module
 */
import { keyProjectsBinding, SCRIPT_TYPE, SUBDOMAIN_TYPE, summarizeWorker, type WorkerSummary } from './worker-summary';
import { type ResourceJson, type StackJson, type SynthesizedStack, resourcesOf, stringAt } from './stack-json';
import { scriptNameFor } from './worker-summary';

export const POLICY_TYPE = 'cloudflare_notification_policy';
const ROUTE_TYPE = 'cloudflare_workers_route';
const DOMAIN_TYPE = 'cloudflare_workers_custom_domain';
const SUMMARIZED_TYPES = new Set([SCRIPT_TYPE, SUBDOMAIN_TYPE, ROUTE_TYPE, DOMAIN_TYPE, POLICY_TYPE]);

/** A route or custom domain that sends traffic to a worker. */
export interface RouteSummary {
  readonly kind: 'route' | 'custom domain';
  /** the route pattern or the hostname */
  readonly pattern: string;
  readonly worker: string;
}

/** A `cloudflare_notification_policy`: what it watches and how many destinations it notifies, never their addresses. */
export interface PolicySummary {
  readonly address: string;
  readonly name: string;
  readonly alertType: string;
  readonly enabled: boolean;
  /** its filters (for a usage alert: `product` and `limit`) */
  readonly filters: Readonly<Record<string, readonly string[]>>;
  /** destinations by kind (`email`, `webhooks`, `pagerduty`): counts only */
  readonly destinations: Readonly<Record<string, number>>;
}

export interface OutputSummary {
  readonly name: string;
  readonly description?: string;
  /** the value when synth already knows it; otherwise `(computed at apply)`, or `(sensitive)` */
  readonly value: string;
}

export type BackendSummary =
  | {
      readonly kind: 's3';
      readonly bucket?: string;
      readonly key?: string;
      readonly region?: string;
      readonly endpoint?: string;
    }
  | { readonly kind: 'local'; readonly path?: string }
  | { readonly kind: string };

export interface StackSummary {
  readonly stack: string;
  readonly workers: readonly WorkerSummary[];
  readonly routes: readonly RouteSummary[];
  readonly policies: readonly PolicySummary[];
  /** addresses of resources of any other type, so nothing a deploy creates goes unmentioned */
  readonly otherResources: readonly string[];
  readonly outputs: readonly OutputSummary[];
  readonly backend: BackendSummary;
  /** `required_version` of Terraform and the Cloudflare provider's version constraint */
  readonly requires: { readonly terraform?: string; readonly cloudflareProvider?: string };
}

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

function policyOf(id: string, policy: ResourceJson): PolicySummary {
  const filters = (policy.filters ?? {}) as Record<string, unknown>;
  const mechanisms = (policy.mechanisms ?? {}) as Record<string, unknown>;
  return {
    address: `${POLICY_TYPE}.${id}`,
    name: stringAt(policy, 'name') ?? id,
    alertType: stringAt(policy, 'alert_type') ?? '?',
    enabled: policy.enabled !== false,
    filters: Object.fromEntries(Object.entries(filters).map(([k, v]) => [k, stringList(v)])),
    destinations: Object.fromEntries(
      Object.entries(mechanisms).map(([kind, list]) => [kind, Array.isArray(list) ? list.length : 0]),
    ),
  };
}

function routesOf(json: StackJson): RouteSummary[] {
  const routes = resourcesOf(json, ROUTE_TYPE).map(([, r]) => ({
    kind: 'route' as const,
    pattern: stringAt(r, 'pattern') ?? '?',
    worker: scriptNameFor(json, r.script) ?? '(computed at apply)',
  }));
  const domains = resourcesOf(json, DOMAIN_TYPE).map(([, r]) => ({
    kind: 'custom domain' as const,
    pattern: stringAt(r, 'hostname') ?? '?',
    worker: scriptNameFor(json, r.service) ?? '(computed at apply)',
  }));
  return [...routes, ...domains];
}

/** An output's value as synth knows it: a literal, or a worker's name; anything else is known only at apply. */
function outputValue(json: StackJson, value: unknown, sensitive: boolean): string {
  if (sensitive) return '(sensitive)';
  if (typeof value !== 'string') return JSON.stringify(value) ?? '(none)';
  return scriptNameFor(json, value) ?? '(computed at apply)';
}

function outputsOf(json: StackJson): OutputSummary[] {
  return Object.entries(json.output ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, output]) => ({
      name,
      description: typeof output.description === 'string' ? output.description : undefined,
      value: outputValue(json, output.value, output.sensitive === true),
    }));
}

/** Where the state lives: for S3 (R2) its bucket, key, region and endpoint only; credentials are never in it anyway. */
export function backendOf(json: StackJson): BackendSummary {
  const [kind, settings] = Object.entries(json.terraform?.backend ?? {})[0] ?? ['local', {}];
  if (kind === 's3') {
    const endpoints = settings.endpoints as { s3?: unknown } | undefined;
    return {
      kind,
      bucket: stringAt(settings, 'bucket'),
      key: stringAt(settings, 'key'),
      region: stringAt(settings, 'region'),
      endpoint: typeof endpoints?.s3 === 'string' ? endpoints.s3 : stringAt(settings, 'endpoint'),
    };
  }
  if (kind === 'local') return { kind, path: stringAt(settings, 'path') };
  return { kind };
}

function otherResourcesOf(json: StackJson): string[] {
  return Object.entries(json.resource ?? {})
    .filter(([type]) => !SUMMARIZED_TYPES.has(type))
    .flatMap(([type, resources]) => Object.keys(resources).map((id) => `${type}.${id}`))
    .sort();
}

function requiresOf(json: StackJson): StackSummary['requires'] {
  const version = json.terraform?.required_version;
  const cloudflare = json.terraform?.required_providers?.cloudflare?.version;
  return {
    terraform: typeof version === 'string' ? version : undefined,
    cloudflareProvider: typeof cloudflare === 'string' ? cloudflare : undefined,
  };
}

/**
 * The project of each global key, from the `shard_layout` output when synth wrote it as a literal, else from the
 * `KEY_PROJECTS` binding (the pool's labels in key order); undefined when the stack names no projects.
 */
export function projectOfKeyIn(json: StackJson): ((key: number) => string | undefined) | undefined {
  const fromLayout = layoutProjects(json.output?.shard_layout?.value);
  if (fromLayout.size > 0) return (key) => fromLayout.get(key);
  const labels = keyProjectsBinding(json);
  return labels === undefined ? undefined : (key) => labels[key - 1];
}

/**
 * Key numbers and their projects from a `shard_layout` value of any reasonable shape: (JSON text of) shards, each an
 * object holding a list of key numbers and a list of project labels of the same length, or a list of objects with a
 * key number and a label. Anything else yields nothing.
 */
export function layoutProjects(value: unknown): Map<number, string> {
  const found = new Map<number, string>();
  const visit = (node: unknown): void => {
    if (typeof node === 'string') {
      if (/^\s*[[{]/.test(node)) visit(parsedOrUndefined(node));
      return;
    }
    if (typeof node !== 'object' || node === null) return;
    if (!Array.isArray(node))
      for (const [key, label] of pairsIn(node as Record<string, unknown>)) found.set(key, label);
    for (const child of Object.values(node)) visit(child);
  };
  visit(value);
  return found;
}

/** JSON text parsed, or undefined when it is not JSON (a label or an expression: nothing to read). */
function parsedOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function pairsIn(entry: Record<string, unknown>): [number, string][] {
  const fields = Object.entries(entry);
  const keyField = fields.find(([name]) => /key/i.test(name))?.[1];
  const labelField = fields.find(([name]) => /project|label/i.test(name))?.[1];
  if (typeof keyField === 'number' && typeof labelField === 'string') return [[keyField, labelField]];
  const keys = Array.isArray(keyField) && keyField.every((k) => typeof k === 'number') ? (keyField as number[]) : [];
  const labels = stringList(labelField);
  return keys.length > 0 && keys.length === labels.length ? keys.map((k, i) => [k, labels[i] ?? '']) : [];
}

/** The whole summary of one stack; `gzipSize` measures a bundle file (omit it to leave sizes unknown). */
export function summarizeStack(stack: SynthesizedStack, gzipSize?: (file: string) => number | undefined): StackSummary {
  const { json } = stack;
  const context = {
    stackName: stack.name,
    stackDir: stack.dir,
    json,
    projectOfKey: projectOfKeyIn(json),
    gzipSize,
  };
  return {
    stack: stack.name,
    workers: resourcesOf(json, SCRIPT_TYPE)
      .map(([id, script]) => summarizeWorker(id, script, context))
      .sort(byRole),
    routes: routesOf(json),
    policies: resourcesOf(json, POLICY_TYPE).map(([id, policy]) => policyOf(id, policy)),
    otherResources: otherResourcesOf(json),
    outputs: outputsOf(json),
    backend: backendOf(json),
    requires: requiresOf(json),
  };
}

const ROLE_ORDER: Readonly<Record<string, number>> = { orchestrator: 0, preview: 1, worker: 2, shard: 3 };

/** The public worker first, then shards by index. */
function byRole(a: WorkerSummary, b: WorkerSummary): number {
  return (
    (ROLE_ORDER[a.role] ?? 9) - (ROLE_ORDER[b.role] ?? 9) ||
    (a.shardIndex ?? 0) - (b.shardIndex ?? 0) ||
    a.scriptName.localeCompare(b.scriptName)
  );
}
