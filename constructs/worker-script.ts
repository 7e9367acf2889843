/**
 * The part every worker of this app shares: one ES-module `cloudflare_workers_script` uploaded from a bundle file,
 * Workers Logs on, and an explicit workers.dev switch.
 */
import { AssetType, TerraformAsset, TerraformStack } from 'cdktf';
import { Construct } from 'constructs';
import {
  WorkersScript,
  type WorkersScriptBindings,
  type WorkersScriptMigrations,
} from '@cdktf/provider-cloudflare/lib/workers-script';
import { WorkersScriptSubdomain } from '@cdktf/provider-cloudflare/lib/workers-script-subdomain';
import type { WorkerBundle } from './worker-bundle';

/**
 * Every request is logged by default: this gateway's value is explaining failures (which key, which status), one
 * failed request must be findable, and a small gateway stays well inside the included Workers Logs volume. Lower it
 * for high traffic.
 */
export const DEFAULT_LOG_SAMPLING_RATE = 1;

export interface WorkerScriptOptions {
  readonly accountId: string;
  readonly scriptName: string;
  readonly bundle: WorkerBundle;
  readonly bindings: readonly WorkersScriptBindings[];
  readonly publicOnWorkersDev: boolean;
  readonly logSamplingRate: number;
  readonly compatibilityDate: string;
  /**
   * `placement = { mode = "smart" }` when true; no placement block otherwise.
   *
   * @default false
   */
  readonly smartPlacement?: boolean;
  /**
   * Durable Object migrations to apply with the upload (an object, or a Terraform expression yielding one or null).
   *
   * @default - none
   */
  readonly migrations?: WorkersScriptMigrations;
}

export interface WorkerScriptResources {
  readonly script: WorkersScript;
  readonly subdomain: WorkersScriptSubdomain;
}

/** Adds `Resource` (the script) and `Subdomain` under `scope`. */
export function createWorkerScript(scope: Construct, options: WorkerScriptOptions): WorkerScriptResources {
  const script = new WorkersScript(scope, 'Resource', {
    accountId: options.accountId,
    scriptName: options.scriptName,
    // content_file keeps the code out of cdk.tf.json and out of state; the provider re-hashes the file at plan time.
    contentFile: bundleAsset(scope, options.bundle).path,
    contentSha256: options.bundle.sha256,
    mainModule: options.bundle.mainModule,
    compatibilityDate: options.compatibilityDate,
    bindings: [...options.bindings],
    // One knob, written at both levels. Provider 5.14 declares logs.head_sampling_rate optional but not computed, while
    // Read copies the API's value (which defaults to 1) into state: left unset, every plan would show it going from 1
    // to null and the nightly drift check would never be clean. Cloudflare documents the logs rate as "the sampling
    // rate for logs" and the top-level one as the rate "for observability" without saying how they combine, so both
    // carry the same value (at the default of 1 no reading changes anything).
    observability: {
      enabled: true,
      headSamplingRate: options.logSamplingRate,
      logs: { enabled: true, invocationLogs: true, headSamplingRate: options.logSamplingRate },
    },
    // "smart" is the only mode provider 5.14 knows. Omitted rather than null when off, so configurations that never
    // asked for placement keep the plan they had.
    ...(options.smartPlacement ? { placement: { mode: 'smart' } } : {}),
    ...(options.migrations === undefined ? {} : { migrations: options.migrations }),
  });
  // declared even when private: the workers.dev default for API-created scripts is not documented reliably.
  const subdomain = new WorkersScriptSubdomain(scope, 'Subdomain', {
    accountId: options.accountId,
    scriptName: script.scriptName,
    enabled: options.publicOnWorkersDev,
    previewsEnabled: false,
  });
  return { script, subdomain };
}

/**
 * One asset per bundle per stack: N shards share the same file instead of N copies under `cdktf.out`.
 * The asset's `path` is relative to the stack's Terraform directory, which is where `content_file` is resolved.
 */
function bundleAsset(scope: Construct, bundle: WorkerBundle): TerraformAsset {
  const stack = TerraformStack.of(scope);
  const bundles =
    (stack.node.tryFindChild('WorkerBundles') as Construct | undefined) ?? new Construct(stack, 'WorkerBundles');
  const id = `${bundle.mainModule.replace(/\.m?js$/, '')}-${bundle.sha256.slice(0, 12)}`;
  const existing = bundles.node.tryFindChild(id);
  if (existing instanceof TerraformAsset) return existing;
  return new TerraformAsset(bundles, id, { path: bundle.path, type: AssetType.FILE });
}
