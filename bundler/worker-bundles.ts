/**
 * Bundles the Cloudflare Workers under `workers/` into single ES modules.
 *
 * The output is deterministic (same sources, same bytes) so `content_sha256` only changes when the code does,
 * and Terraform only re-uploads a worker whose code changed.
 *
 * A library, not a script: `main.ts` calls {@link buildWorkerBundles} so `cdktf synth` never picks up a stale bundle,
 * and the tests and benchmarks bundle through {@link bundleWorker}. Run directly (`npm run build:workers`) it writes
 * `dist/workers/<name>.js`.
 */
import { buildSync, type BuildOptions } from 'esbuild';
import { createHash } from 'node:crypto';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { WorkerBundle, WorkerBundles } from '../constructs/worker-bundle';
import { statusPageAlias } from './status-page';

/** The workers under `workers/`, each bundled from its `index.ts`. */
export const WORKER_NAMES = ['shard', 'orchestrator'] as const satisfies readonly (keyof WorkerBundles)[];
export type WorkerName = (typeof WORKER_NAMES)[number];

const ROOT = resolve(__dirname, '..');

/** esbuild options shared by the deploy build, the tests and the benchmarks. */
export function bundleOptions(name: WorkerName, overrides: BuildOptions = {}): BuildOptions {
  return {
    entryPoints: [join(ROOT, 'workers', name, 'index.ts')],
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    minify: true,
    legalComments: 'none',
    charset: 'utf8',
    logLevel: 'silent',
    // both workers serve the status page, assembled and hashed here (`./status-page.ts`)
    alias: statusPageAlias(),
    ...overrides,
  };
}

/** Bundles one worker in memory. */
export function bundleWorker(name: WorkerName, overrides: BuildOptions = {}): string {
  const result = buildSync({ ...bundleOptions(name, overrides), write: false });
  const [file] = result.outputFiles ?? [];
  if (!file) throw new Error(`esbuild produced no output for worker "${name}"`);
  return file.text;
}

/**
 * Bundles an ES module given as TypeScript source text, its imports resolved from `resolveDir`, in memory and
 * unminified: a module a test or the local emulation hands to workerd beside the workers.
 */
export function bundleModuleText(contents: string, resolveDir: string): string {
  const result = buildSync({
    stdin: { contents, resolveDir, loader: 'ts' },
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  });
  const [file] = result.outputFiles;
  if (!file) throw new Error(`esbuild produced no output for a module in ${resolveDir}`);
  return file.text;
}

export function sha256Hex(content: string | Uint8Array): string {
  return createHash('sha256').update(content).digest('hex');
}

/** Bundles every worker into `outDir` and returns where each bundle is and its hash. */
export function buildWorkerBundles(outDir: string = join(ROOT, 'dist', 'workers')): WorkerBundles {
  mkdirSync(outDir, { recursive: true });
  const entries = WORKER_NAMES.map((name): [WorkerName, WorkerBundle] => {
    const code = bundleWorker(name);
    const mainModule = `${name}.js`;
    const path = join(outDir, mainModule);
    // parallel synths (test files, npm start beside a test run) share this directory: a reader must never see a
    // half-written bundle, so the bytes go to a private file first and replace the bundle in one rename
    const partial = `${path}.${process.pid}.partial`;
    writeFileSync(partial, code);
    renameSync(partial, path);
    return [name, { path, sha256: sha256Hex(code), mainModule }];
  });
  return Object.fromEntries(entries) as Record<WorkerName, WorkerBundle>;
}

if (require.main === module) {
  const bundles = buildWorkerBundles();
  for (const [name, bundle] of Object.entries(bundles)) {
    process.stdout.write(`${name}: ${bundle.path} sha256=${bundle.sha256}\n`);
  }
}
