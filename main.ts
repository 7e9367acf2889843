/**
 * Composition root for `cdktf synth`: configuration in, stacks out. No resources are defined here.
 */
import { App } from 'cdktf';
import { configNotices, loadConfig } from './config';
import { PreviewStack, ProdStack, ValidationError, type GatewayStackProps } from './constructs';
import { buildWorkerBundles } from './bundler/worker-bundles';

function main(): void {
  const config = loadConfig(process.env);
  for (const notice of configNotices(config)) process.stderr.write(`notice: ${notice}\n`);

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
    maxWaitMs: config.maxWaitMs,
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
    new PreviewStack(app, `preview-${config.prNumber}`, {
      ...shared,
      prNumber: config.prNumber,
      bundle: bundles.src,
      keyLimit: config.previewKeyLimit,
    });
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
