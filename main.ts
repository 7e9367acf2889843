/**
 * Composition root for `cdktf synth`: configuration in, stacks out. No resources are defined here.
 */
import { App } from 'cdktf';
import { configNotices, loadConfig } from './config';
import { PreviewStack, ProdStack, ValidationError } from './constructs';
import { buildWorkerBundles } from './bundler/worker-bundles';

function main(): void {
  const config = loadConfig(process.env);
  for (const notice of configNotices(config)) process.stderr.write(`notice: ${notice}\n`);

  const bundles = buildWorkerBundles();
  const app = new App();
  new ProdStack(app, 'prod', { ...config.stack, ...config.prod, bundles });
  if (config.preview !== undefined) {
    new PreviewStack(app, `preview-${config.preview.prNumber}`, {
      ...config.stack,
      ...config.preview,
      bundle: bundles.shard,
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
