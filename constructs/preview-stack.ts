import { TerraformOutput } from 'cdktf';
import type { Construct } from 'constructs';
import type { WorkerBundle } from './worker-bundle';
import { GatewayStack, type GatewayStackProps } from './gateway-stack';
import { boundOptionalBindings, previewBoundKeyCount } from './limits';
import { previewScriptName } from './names';
import { ShardWorker, shardSettingsOf } from './shard-worker';
import * as rules from './validate';

export interface PreviewStackProps extends GatewayStackProps {
  /** The pull request this preview belongs to; part of the worker name. */
  readonly prNumber: number;

  /** The bundled shard worker (`buildWorkerBundles().shard`). */
  readonly bundle: WorkerBundle;

  /**
   * Most keys the preview worker binds (a positive integer); it binds the first ones of `var.api_keys`.
   *
   * @default - as many as one worker can hold on the plan (59 free, 123 paid, one fewer with `anthropicModelMap`), or
   * every key when there are fewer
   */
  readonly keyLimit?: number;
}

/**
 * A per-pull-request deployment: one public shard worker holding the first keys as `KEY1..KEYn`, no orchestrator.
 *
 * One worker keeps a preview cheap and fast to create and destroy; the price is that it holds at most one worker's
 * worth of keys: n = min(keyCount, keyLimit, the plan's keys per worker). `var.api_keys` must still hold all
 * `keyCount` keys, so prod and preview read the same `TF_VAR_api_keys`; the `bound_key_count` output says how many
 * the preview holds. With `keyProjects`, the worker is told the projects of the keys it holds (its layout is itself).
 *
 * @example
 * new PreviewStack(app, 'preview-7', { prNumber: 7, keyCount: 20, bundle: bundles.shard, state });
 */
export class PreviewStack extends GatewayStack {
  public readonly worker: ShardWorker;
  /** How many keys the preview worker binds. */
  public readonly boundKeyCount: number;

  constructor(scope: Construct, id: string, props: PreviewStackProps) {
    super(scope, id, props);
    rules.assertValid([
      rules.positiveInteger('prNumber', props.prNumber),
      props.keyLimit === undefined ? undefined : rules.positiveInteger('keyLimit', props.keyLimit),
    ]);
    const optionalBindings = boundOptionalBindings({ ...props, asShard: false });
    this.boundKeyCount = previewBoundKeyCount(props.keyCount, this.plan, props.keyLimit, optionalBindings);
    this.worker = new ShardWorker(this, 'Worker', {
      ...shardSettingsOf(props),
      accountId: this.inputs.accountId.stringValue,
      workersPlan: this.plan,
      scriptName: previewScriptName(this.namePrefix, props.prNumber),
      bundle: props.bundle,
      apiKeys: this.inputs.apiKeys,
      firstKeyIndex: 0,
      keyCount: this.boundKeyCount,
      // its layout is this one worker: the projects of the keys it holds
      layout:
        props.keyProjects === undefined
          ? undefined
          : { keyProjects: props.keyProjects.slice(0, this.boundKeyCount), keysPerShard: this.boundKeyCount },
      pass: this.inputs.pass,
      clientTokens: this.inputs.clientTokens,
      publicOnWorkersDev: true,
    });
    this.addPublicWorkerOutputs(this.worker.resources.script);
    new TerraformOutput(this, 'bound_key_count', {
      value: this.boundKeyCount,
      description: `how many keys the preview worker holds: the first ones of the ${props.keyCount} in api_keys`,
    });
  }
}
