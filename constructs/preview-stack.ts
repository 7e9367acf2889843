import type { Construct } from 'constructs';
import type { WorkerBundle } from '../scripts/build-workers';
import { GatewayStack, type GatewayStackProps } from './gateway-stack';
import { maxKeysPerWorker } from './limits';
import { previewScriptName } from './names';
import { SrcWorkerShard } from './src-worker-shard';
import * as rules from './validate';

export interface PreviewStackProps extends GatewayStackProps {
  /** The pull request this preview belongs to; part of the worker name. */
  readonly prNumber: number;

  /** The bundled src worker (`buildWorkerBundles().src`). */
  readonly bundle: WorkerBundle;
}

/**
 * A per-pull-request deployment: one public src worker holding every key as `KEY1..KEYN`, no orchestrator.
 *
 * One worker keeps a preview cheap and fast to create and destroy; the price is that it holds all keys, so the key
 * count is capped by one worker's env-var limit.
 *
 * @example
 * new PreviewStack(app, 'preview-7', { prNumber: 7, keyCount: 20, bundle: bundles.src, state });
 */
export class PreviewStack extends GatewayStack {
  public readonly worker: SrcWorkerShard;

  constructor(scope: Construct, id: string, props: PreviewStackProps) {
    super(scope, id, props);
    rules.assertValid([
      rules.integerInRange('prNumber', props.prNumber, 1, Number.MAX_SAFE_INTEGER),
      rules.integerInRange(
        'keyCount',
        props.keyCount,
        1,
        maxKeysPerWorker(this.plan),
        `the preview worker holds every key; ${rules.envVarLimitReason(this.plan)}`,
      ),
    ]);
    this.worker = new SrcWorkerShard(this, 'Worker', {
      accountId: this.inputs.accountId.stringValue,
      scriptName: previewScriptName(this.namePrefix, props.prNumber),
      bundle: props.bundle,
      apiKeys: this.inputs.apiKeys,
      firstKeyIndex: 0,
      keyCount: props.keyCount,
      pass: this.inputs.pass,
      publicOnWorkersDev: true,
      workersPlan: this.plan,
      geminiBaseUrl: props.geminiBaseUrl,
      upstreamTimeoutMs: props.upstreamTimeoutMs,
      logSamplingRate: props.logSamplingRate,
      compatibilityDate: props.compatibilityDate,
      smartPlacement: props.smartPlacement,
    });
    this.addPublicWorkerOutputs(this.worker.resources.script);
  }
}
