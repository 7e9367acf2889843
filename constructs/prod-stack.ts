import { TerraformOutput } from 'cdktf';
import { Construct } from 'constructs';
import type { WorkerBundles } from './worker-bundle';
import { GatewayStack, type GatewayStackProps } from './gateway-stack';
import { orchestratorScriptName, shardScriptName } from './names';
import { DEFAULT_MAX_WAIT_MS, DEFAULT_SHARD_TIMEOUT_MS, DEFAULT_UPSTREAM_TIMEOUT_MS } from '../workers/shared/contract';
import { Orchestrator } from './orchestrator';
import { boundOptionalBindings, type WorkersPlan } from './limits';
import { ShardWorker, shardSettingsOf, type ShardLayoutBindings } from './shard-worker';
import { shardLayoutOutput } from './shard-layout';
import { UsageAlert, type UsageAlertSettings } from './usage-alert';
import * as rules from './validate';
import { keyLayout, type KeyLayout } from '../workers/shared/key-layout';

export const DEFAULT_KEYS_PER_SHARD = 8;

export interface ProdStackProps extends GatewayStackProps {
  /** The bundled workers (`buildWorkerBundles()`). */
  readonly bundles: WorkerBundles;

  /**
   * Keys per shard worker; the last shard holds the remainder.
   *
   * @default 8
   */
  readonly keysPerShard?: number;

  /**
   * How many shards the orchestrator may try per request while shards refuse from their own key pool.
   *
   * @default 3
   */
  readonly shardAttempts?: number;

  /**
   * The orchestrator's deadline for a shard's response headers, in ms; must exceed `upstreamTimeoutMs + maxWaitMs`.
   *
   * @default 310000 - above the shards' default 300 s upstream deadline, so a slow Gemini surfaces as the shard's 504
   */
  readonly shardTimeoutMs?: number;

  /**
   * A Usage Based Billing notification on the account's Workers requests (needs `workersPlan: 'paid'`).
   *
   * @default - none
   */
  readonly usageAlert?: UsageAlertSettings;
}

/**
 * The production deployment: private shard workers placed by `keyLayout` and one public orchestrator that draws a
 * shard in proportion to its share of the pool's quota.
 *
 * Without `keyProjects` every key is its own project: N = ceil(keyCount / keysPerShard) shards, shard i holding keys
 * `i*k .. i*k+k-1` of `var.api_keys` as its `KEY1..KEYk`, so appending keys changes only the last shard (or adds one).
 * With `keyProjects`, a project's keys share a shard where they fit, shard i binds its layout keys in key order as
 * `KEY1..KEYk`, every worker is told the layout, and the `shard_layout` output shows it. Shards live under the
 * `Shards` namespace with their index as id: the index is part of the Terraform address, so renumbering would
 * recreate workers.
 *
 * @example
 * new ProdStack(app, 'prod', { keyCount: 20, bundles, state: { kind: 'local', dir: '/abs/state' } });
 */
export class ProdStack extends GatewayStack {
  public readonly shards: readonly ShardWorker[];
  public readonly orchestrator: Orchestrator;

  constructor(scope: Construct, id: string, props: ProdStackProps) {
    super(scope, id, props);
    const keysPerShard = props.keysPerShard ?? DEFAULT_KEYS_PER_SHARD;
    assertValidLayout(props, keysPerShard, this.plan);
    const accountId = this.inputs.accountId.stringValue;
    const layout = keyLayout(props.keyProjects, props.keyCount, keysPerShard);
    const told: ShardLayoutBindings | undefined =
      props.keyProjects === undefined ? undefined : { keyProjects: props.keyProjects, keysPerShard };
    this.shards = this.addShards(props, layout, told, accountId);
    this.orchestrator = new Orchestrator(this, 'Orchestrator', {
      layout: told,
      accountId,
      scriptName: orchestratorScriptName(this.namePrefix),
      bundle: props.bundles.orchestrator,
      backends: this.shards,
      publicOnWorkersDev: true,
      shardAttempts: props.shardAttempts,
      shardTimeoutMs: props.shardTimeoutMs,
      logSamplingRate: props.logSamplingRate,
      compatibilityDate: props.compatibilityDate,
    });
    this.addPublicWorkerOutputs(this.orchestrator.resources.script);
    if (told !== undefined) {
      new TerraformOutput(this, 'shard_layout', {
        value: shardLayoutOutput(layout, (i) => shardScriptName(this.namePrefix, i)),
        description: 'which key numbers (1-based, KEY13 = the 13th of api_keys) and projects each shard holds',
      });
    }
    if (props.usageAlert !== undefined)
      new UsageAlert(this, 'UsageAlert', {
        ...props.usageAlert,
        accountId,
        workersPlan: this.plan,
        namePrefix: this.namePrefix,
      });
  }

  /** The shards under `Shards/<i>`, shard i holding the keys of shard i of the layout. */
  private addShards(
    props: ProdStackProps,
    layout: KeyLayout,
    told: ShardLayoutBindings | undefined,
    accountId: string,
  ): ShardWorker[] {
    const namespace = new Construct(this, 'Shards');
    const settings = shardSettingsOf(props);
    // shard 0 hosts the client limiter's Durable Object class; the others bind its namespace
    let limiterHost: string | undefined;
    return layout.shards.map((placed, i) => {
      const keyIndexes = placed.keys.map((n) => n - 1);
      const shard = new ShardWorker(namespace, String(i), {
        ...settings,
        accountId,
        workersPlan: this.plan,
        scriptName: shardScriptName(this.namePrefix, i),
        bundle: props.bundles.shard,
        apiKeys: this.inputs.apiKeys,
        firstKeyIndex: keyIndexes[0] ?? 0,
        keyCount: keyIndexes.length,
        keyIndexes,
        layout: told,
        // the same i as the orchestrator's BACKEND_SERVICE_i for this shard (it binds `backends` in this order)
        shardIndex: i,
        pass: this.inputs.pass,
        clientTokens: this.inputs.clientTokens,
        publicOnWorkersDev: false,
        ...(limiterHost === undefined ? {} : { clientLimiterHost: limiterHost }),
      });
      limiterHost ??= shard.scriptName;
      return shard;
    });
  }
}

/** The checks that span props: keys per shard on the plan, workers per account, and the shard deadline. */
function assertValidLayout(props: ProdStackProps, keysPerShard: number, plan: WorkersPlan): void {
  const optionalBindings = boundOptionalBindings({ ...props, asShard: true });
  rules.assertValid([rules.keysPerWorker('keysPerShard', keysPerShard, plan, '', optionalBindings)]);
  rules.assertValid([
    rules.workersPerAccount(
      { keyCount: 'keyCount', keysPerShard: 'keysPerShard' },
      props.keyCount,
      keysPerShard,
      plan,
      false,
      '',
      props.keyProjects,
    ),
  ]);
  rules.assertValid([
    rules.shardTimeoutOutlastsShard(
      { shardTimeoutMs: 'shardTimeoutMs', upstreamTimeoutMs: 'upstreamTimeoutMs', maxWaitMs: 'maxWaitMs' },
      {
        shardTimeoutMs: props.shardTimeoutMs ?? DEFAULT_SHARD_TIMEOUT_MS,
        upstreamTimeoutMs: props.upstreamTimeoutMs ?? DEFAULT_UPSTREAM_TIMEOUT_MS,
        maxWaitMs: props.maxWaitMs ?? DEFAULT_MAX_WAIT_MS,
      },
      props.shardTimeoutMs,
    ),
  ]);
}
