/**
 * The emulation's stand-in for Workers Analytics Engine: a stack's `analytics_engine` binding becomes a Miniflare
 * wrapped binding whose module (`./in-memory-dataset.ts`, bundled here) keeps the data points in the worker's own
 * isolate, where the worker's status view reads them back. Miniflare's own dataset binding drops every point.
 *
 * @module
 */
import { resolve } from 'node:path';
import type { WorkerOptions } from 'miniflare';
import { bundleModuleText } from '../../bundler/worker-bundles';
import type { EmulatedWorker } from './emulated-topology';
import { TopologyError } from './topology-error';

/** The binding type of a dataset in `cloudflare_workers_script.bindings`. */
export const ANALYTICS_ENGINE_TYPE = 'analytics_engine';
/** The attributes such a binding may have. */
export const ANALYTICS_ENGINE_ATTRIBUTES: readonly string[] = ['name', 'type', 'dataset'];
/** The stand-in's worker, which holds the module the wrapped bindings run. */
export const STAND_IN_SCRIPT = 'zen-analytics-engine-stand-in';

type WrappedBinding = NonNullable<WorkerOptions['wrappedBindings']>[string];

/** The binding's type, once it has only the attributes the stand-in understands (see `bindingType`). */
export function checkedDatasetBinding(at: string, raw: Readonly<Record<string, unknown>>): string {
  for (const attribute of Object.keys(raw)) {
    if (!ANALYTICS_ENGINE_ATTRIBUTES.includes(attribute) && raw[attribute] !== null) {
      throw new TopologyError(
        `${at}.${attribute} is not supported for a ${ANALYTICS_ENGINE_TYPE} binding by the local emulation`,
      );
    }
  }
  return ANALYTICS_ENGINE_TYPE;
}

/**
 * The workers with their scripts' dataset bindings bound to the stand-in (Miniflare wrapped bindings). `literal` reads
 * an attribute as the emulation reads every literal (a Terraform expression fails).
 */
export function withDatasets(
  workers: readonly EmulatedWorker[],
  scripts: readonly (readonly [string, Readonly<Record<string, unknown>>])[],
  literal: (where: string, value: unknown) => string,
): EmulatedWorker[] {
  const bodies = new Map(scripts);
  return workers.map((worker) => {
    const list = bodies.get(worker.resourceId)?.bindings;
    const wrapped: Record<string, WrappedBinding> = {};
    (Array.isArray(list) ? list : []).forEach((raw: Readonly<Record<string, unknown>>, i) => {
      if (raw?.type !== ANALYTICS_ENGINE_TYPE) return;
      const at = `cloudflare_workers_script.${worker.resourceId}.bindings[${i}]`;
      wrapped[literal(`${at}.name`, raw.name)] = standInBinding(literal(`${at}.dataset`, raw.dataset));
    });
    if (Object.keys(wrapped).length === 0) return worker;
    return { ...worker, options: { ...worker.options, wrappedBindings: wrapped } };
  });
}

/** A dataset binding as the stand-in serves it. */
export function standInBinding(dataset: string): WrappedBinding {
  return { scriptName: STAND_IN_SCRIPT, bindings: { dataset } };
}

let bundled: string | undefined;

/** The stand-in's module: a function of the binding's settings that returns the dataset. */
function standInModule(): string {
  bundled ??= bundleModuleText(
    "import { InMemoryDataset } from './in-memory-dataset';\n" +
      'export default function dataset(env) { return new InMemoryDataset(env.dataset); }\n',
    __dirname,
  );
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
