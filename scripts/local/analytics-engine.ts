/**
 * The emulation's stand-in for Workers Analytics Engine: a stack's `analytics_engine` binding becomes a Miniflare
 * wrapped binding whose module (`./in-memory-dataset.ts`, bundled here) keeps the data points in the worker's own
 * isolate, where the worker's status view reads them back. Miniflare's own dataset binding drops every point.
 *
 * @module
 */
import { buildSync } from 'esbuild';
import { resolve } from 'node:path';
import type { WorkerOptions } from 'miniflare';

/** The binding type of a dataset in `cloudflare_workers_script.bindings`. */
export const ANALYTICS_ENGINE_TYPE = 'analytics_engine';
/** The attributes such a binding may have. */
export const ANALYTICS_ENGINE_ATTRIBUTES: readonly string[] = ['name', 'type', 'dataset'];
/** The stand-in's worker, which holds the module the wrapped bindings run. */
export const STAND_IN_SCRIPT = 'zen-analytics-engine-stand-in';

type WrappedBinding = NonNullable<WorkerOptions['wrappedBindings']>[string];

/** A dataset binding as the stand-in serves it. */
export function standInBinding(dataset: string): WrappedBinding {
  return { scriptName: STAND_IN_SCRIPT, bindings: { dataset } };
}

let bundled: string | undefined;

/** The stand-in's module: a function of the binding's settings that returns the dataset. */
function standInModule(): string {
  bundled ??= (() => {
    const result = buildSync({
      stdin: {
        contents:
          "import { InMemoryDataset } from './in-memory-dataset';\n" +
          'export default function dataset(env) { return new InMemoryDataset(env.dataset); }\n',
        resolveDir: __dirname,
        loader: 'ts',
      },
      bundle: true,
      format: 'esm',
      platform: 'neutral',
      target: 'es2022',
      write: false,
      logLevel: 'silent',
    });
    const [file] = result.outputFiles;
    if (file === undefined) throw new Error('esbuild produced no stand-in module');
    return file.text;
  })();
  return bundled;
}

/** The stand-in's worker, for Miniflare's list (it serves no requests). */
export function standInWorker(): WorkerOptions {
  return {
    name: STAND_IN_SCRIPT,
    modules: [
      { type: 'ESModule', path: resolve(__dirname, 'analytics-engine-stand-in.mjs'), contents: standInModule() },
    ],
  };
}

/**
 * The workers the emulation adds to `workers` for Miniflare: the stand-in, when one of them binds a dataset to it.
 * Read from the workers' own options, so a topology a caller rebuilt from them (a test patching a worker) keeps it.
 */
export function supportWorkers(workers: readonly WorkerOptions[]): WorkerOptions[] {
  const standIn = (binding: unknown): boolean =>
    typeof binding === 'object' && (binding as { scriptName?: unknown } | null)?.scriptName === STAND_IN_SCRIPT;
  const bound = workers.some((w) => Object.values(w.wrappedBindings ?? {}).some(standIn));
  return bound ? [standInWorker()] : [];
}
