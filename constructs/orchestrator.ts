import { Construct } from 'constructs';
import type { WorkersScriptBindings } from '@cdktf/provider-cloudflare/lib/workers-script';
import type { WorkerBundle } from './worker-bundle';
import {
  DEFAULT_COMPATIBILITY_DATE,
  DEFAULT_SHARD_ATTEMPTS,
  DEFAULT_SHARD_TIMEOUT_MS,
  MAX_SHARD_ATTEMPTS,
  MAX_SHARD_KEY_COUNT,
  MAX_SHARD_TIMEOUT_MS,
  MIN_SHARD_TIMEOUT_MS,
  SHARD_ATTEMPTS_BINDING,
  SHARD_KEY_COUNTS_BINDING,
  SHARD_TIMEOUT_MS_BINDING,
  backendBindingName,
} from '../workers/shared/contract';
import { keyLayout } from '../workers/shared/key-layout';
import { layoutBindings, type ShardLayoutBindings } from './shard-worker';
import * as rules from './validate';
import { DEFAULT_LOG_SAMPLING_RATE, createWorkerScript, type WorkerScriptResources } from './worker-script';

/** A worker the orchestrator can route to, e.g. a {@link ShardWorker}. */
export interface IWorkerScriptRef {
  /** The script name; pass a Terraform reference so the target is created (and deleted) in the right order. */
  readonly scriptName: string;

  /** How many keys the worker holds: its weight in the orchestrator's draw (0 = never chosen). */
  readonly keyCount: number;
}

export interface OrchestratorProps {
  /** Cloudflare account that owns the worker (a string or a Terraform variable reference). */
  readonly accountId: string;

  /** Worker script name; also its workers.dev label, so at most 63 DNS characters. */
  readonly scriptName: string;

  /** The bundled orchestrator worker (`buildWorkerBundles().orchestrator`). */
  readonly bundle: WorkerBundle;

  /**
   * The shards, bound in this order as `BACKEND_SERVICE_0..N-1`; their key counts are bound in the same order as
   * `SHARD_KEY_COUNTS`, so each shard is drawn in proportion to its keys and every key gets the same share.
   */
  readonly backends: readonly IWorkerScriptRef[];

  /**
   * The pool's layout the shards were placed by (`keyLayout` of these labels and keys per shard), bound as the
   * plain-text `KEY_PROJECTS` and `KEYS_PER_SHARD` after the other bindings: the orchestrator then weighs each shard
   * by its share of the pool's quota (of its projects) instead of its key count. Shard i of the layout must be
   * `backends[i]`, holding as many keys.
   *
   * @default - none: every key is its own project, and a shard's weight is its key count
   */
  readonly layout?: ShardLayoutBindings;

  /**
   * How many shards one request may try, bound as `SHARD_ATTEMPTS`. Another shard is tried only when one refuses
   * from its own key pool (`x-zen-pool: exhausted`: every key cooling or gone, so nothing was billed); a shard that
   * throws, hangs or answers any other status is never retried. 1 = never re-route.
   *
   * @default 3 - re-routing a pool refusal costs no billed call, and three shards rarely all refuse at once
   */
  readonly shardAttempts?: number;

  /**
   * How long the orchestrator waits for a shard's response headers before answering 504 `shard_timeout`, in ms,
   * bound as `SHARD_TIMEOUT_MS`. Keep it above the shards' `upstreamTimeoutMs`, or a slow Gemini is reported as a
   * stuck shard instead of the shard's own, more specific 504.
   *
   * @default 310000 - above the shards' 300 s upstream deadline, so a slow Gemini surfaces as the shard's own 504
   */
  readonly shardTimeoutMs?: number;

  /**
   * Whether the orchestrator answers on `<scriptName>.<subdomain>.workers.dev`.
   *
   * @default true - it is the system's public entry point
   */
  readonly publicOnWorkersDev?: boolean;

  /**
   * Share of requests recorded in Workers Logs (0 < rate <= 1).
   *
   * @default 1 - every request, like the shards, so each shard log line has its orchestrator line
   */
  readonly logSamplingRate?: number;

  /**
   * Workers runtime compatibility date, `YYYY-MM-DD`, not in the future.
   *
   * @default '2026-04-20'
   */
  readonly compatibilityDate?: string;
}

/**
 * The public entry worker: forwards each request to one shard through a service binding, drawn at random in
 * proportion to the shard's key count.
 *
 * Service bindings reference the shards' script names as Terraform expressions, so Terraform creates shards before
 * the orchestrator and, when the shard count shrinks, updates the orchestrator before deleting a shard (Cloudflare
 * refuses to delete a script that is still bound).
 *
 * @example
 * new Orchestrator(stack, 'Orchestrator', {
 *   accountId: accountId.stringValue, scriptName: 'zen-ai-router-orchestrator', bundle: bundles.orchestrator,
 *   backends: shards,
 * });
 */
export class Orchestrator extends Construct {
  public readonly scriptName: string;
  public readonly resources: WorkerScriptResources;

  constructor(scope: Construct, id: string, props: OrchestratorProps) {
    super(scope, id);
    const shardAttempts = props.shardAttempts ?? DEFAULT_SHARD_ATTEMPTS;
    const keyCounts = props.backends.map((backend) => backend.keyCount);
    const shardTimeoutMs = props.shardTimeoutMs ?? DEFAULT_SHARD_TIMEOUT_MS;
    const logSamplingRate = props.logSamplingRate ?? DEFAULT_LOG_SAMPLING_RATE;
    const compatibilityDate = props.compatibilityDate ?? DEFAULT_COMPATIBILITY_DATE;
    rules.assertValid([
      rules.scriptName('scriptName', props.scriptName),
      rules.nonEmpty('accountId', props.accountId),
      rules.sha256Hex('bundle.sha256', props.bundle.sha256),
      props.backends.length > 0 ? undefined : `backends must hold at least one shard, got ${props.backends.length}`,
      ...keyCounts.map((count, i) => rules.integerInRange(`backends[${i}].keyCount`, count, 0, MAX_SHARD_KEY_COUNT)),
      props.backends.length === 0 || keyCounts.some((count) => count > 0)
        ? undefined
        : `backends must hold at least one shard with keys (keyCount above 0), got key counts ${keyCounts.join(', ')}`,
      layoutProblem(props.layout, keyCounts),
      rules.integerInRange('shardAttempts', shardAttempts, 1, MAX_SHARD_ATTEMPTS),
      rules.integerInRange('shardTimeoutMs', shardTimeoutMs, MIN_SHARD_TIMEOUT_MS, MAX_SHARD_TIMEOUT_MS),
      rules.samplingRate('logSamplingRate', logSamplingRate),
      rules.compatibilityDate('compatibilityDate', compatibilityDate),
    ]);

    const serviceBindings = props.backends.map(
      (backend, i): WorkersScriptBindings => ({
        name: backendBindingName(i),
        type: 'service',
        service: backend.scriptName,
        // Set explicitly because the API reports "production" for a binding sent without one, and provider 5.14 does
        // not mark this attribute as computed, so leaving it out would likely show a diff on every plan. That is an
        // inference from the schema: the reported bug (terraform-provider-cloudflare #7281) is in
        // cloudflare_worker_version, not in the cloudflare_workers_script used here.
        environment: 'production',
      }),
    );
    this.resources = createWorkerScript(this, {
      accountId: props.accountId,
      scriptName: props.scriptName,
      bundle: props.bundle,
      bindings: [
        ...serviceBindings,
        { name: SHARD_ATTEMPTS_BINDING, type: 'plain_text', text: String(shardAttempts) },
        { name: SHARD_TIMEOUT_MS_BINDING, type: 'plain_text', text: String(shardTimeoutMs) },
        { name: SHARD_KEY_COUNTS_BINDING, type: 'plain_text', text: keyCounts.join(',') },
        ...layoutBindings(props.layout),
      ],
      publicOnWorkersDev: props.publicOnWorkersDev ?? true,
      logSamplingRate,
      compatibilityDate,
    });
    this.scriptName = this.resources.script.scriptName;
  }
}

/** The layout, when given, must be the one the backends were placed by: as many shards, each with as many keys. */
function layoutProblem(layout: ShardLayoutBindings | undefined, keyCounts: readonly number[]): rules.RuleResult {
  if (layout === undefined) return undefined;
  const problem =
    rules.projectLabels('layout.keyProjects', layout.keyProjects) ??
    rules.positiveInteger('layout.keysPerShard', layout.keysPerShard);
  if (problem !== undefined) return problem;
  const placed = keyLayout(layout.keyProjects, layout.keyProjects.length, layout.keysPerShard).shards;
  const counts = placed.map((shard) => shard.keys.length);
  if (counts.join(',') === keyCounts.join(',')) return undefined;
  return `layout must place the keys as the backends hold them (key counts ${keyCounts.join(', ')}), got key counts ${counts.join(', ')}`;
}
