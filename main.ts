/**
 * Composition root for `cdktf synth`: configuration in, stacks out. No resources are defined here.
 */
import { App } from 'cdktf';
import { DEMO_KEY_COUNT, loadConfig } from './config';
import { PreviewStack, ProdStack, ValidationError, type GatewayStackProps } from './constructs';
import { buildWorkerBundles } from './scripts/build-workers';

function main(): void {
  const config = loadConfig(process.env);
  if (config.keyCountIsDemo) {
    process.stderr.write(
      `notice: KEY_COUNT is not set; synthesizing for ${DEMO_KEY_COUNT} demo keys. Set KEY_COUNT to the length of ` +
        'TF_VAR_api_keys before deploying, or the plan fails its api_keys validation.\n',
    );
  }

  const bundles = buildWorkerBundles();
  const app = new App();
  const shared: GatewayStackProps = {
    keyCount: config.keyCount,
    state: config.state,
    workersPlan: config.workersPlan,
    namePrefix: config.namePrefix,
    accountId: config.accountId,
    geminiBaseUrl: config.geminiBaseUrl,
    upstreamTimeoutMs: config.upstreamTimeoutMs,
    logSamplingRate: config.logSamplingRate,
    compatibilityDate: config.compatibilityDate,
    workersDevSubdomain: config.workersDevSubdomain,
    smartPlacement: config.smartPlacement,
  };
  new ProdStack(app, 'prod', {
    ...shared,
    bundles,
    keysPerShard: config.keysPerShard,
    shardAttempts: config.shardAttempts,
    shardTimeoutMs: config.shardTimeoutMs,
  });
  if (config.prNumber !== undefined) {
    new PreviewStack(app, `preview-${config.prNumber}`, { ...shared, prNumber: config.prNumber, bundle: bundles.src });
  }
  app.synth();
}

try {
  main();
} catch (error) {
  // a configuration mistake needs its message, not a stack trace; anything else is a bug and keeps its trace.
  if (!(error instanceof ValidationError)) throw error;
  process.stderr.write(`configuration error: ${error.message}\n`);
  process.exitCode = 1;
}
