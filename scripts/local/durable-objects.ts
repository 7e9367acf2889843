/**
 * Durable Objects in the emulated topology: a `durable_object_namespace` binding of a `cloudflare_workers_script`
 * becomes Miniflare's `durableObjects` entry, in workerd as on Cloudflare: its class lives in the worker `script_name`
 * names (this worker when absent), and one object of it answers a name from every worker that binds it.
 *
 * Cloudflare refuses a binding to a class no migration of its worker created (API error 10061), so the emulation does
 * too: the class must be in that worker's `migrations` (`new_sqlite_classes`, or the key-value `new_classes`), given
 * as an object or as the client limiter's expression (`constructs/client-limits.ts`), which on a fresh emulation, where
 * no script carries a tag yet, always declares the class. SQLite-backed classes get SQLite storage in workerd.
 *
 * @module
 */
import type { WorkerOptions } from 'miniflare';
import { parseLimiterMigration } from '../../constructs/client-limits';
import { TopologyError } from './topology-error';

type Json = Record<string, unknown>;

/** The binding type of a Durable Object namespace. */
export const DURABLE_OBJECT_TYPE = 'durable_object_namespace';
/** The attributes of such a binding the emulation understands. */
export const DURABLE_OBJECT_ATTRIBUTES: readonly string[] = [
  'name',
  'type',
  'class_name',
  'script_name',
  'environment',
];

/** What a binding names: the class, and the worker that holds it. */
export interface DurableObjectBinding {
  readonly className: string;
  /** the worker whose class it is */
  readonly scriptName: string;
}

/**
 * The worker whose bindings are read, and how the emulated topology reads a literal attribute and resolves a worker
 * reference (both throw a TopologyError).
 */
export interface DurableObjectContext {
  readonly scriptName: string;
  readonly literal: (where: string, value: unknown) => string;
  readonly resolveScript: (where: string, value: unknown) => string;
}

/** The class and worker of one binding of the worker `ctx` names. */
export function durableObjectBinding(ctx: DurableObjectContext, at: string, raw: Json): DurableObjectBinding {
  const className = ctx.literal(`${at}.class_name`, raw.class_name);
  if (raw.environment !== undefined && raw.environment !== null) {
    throw new TopologyError(`${at}.environment is not supported by the local emulation (one environment per worker)`);
  }
  const host = raw.script_name === undefined || raw.script_name === null ? undefined : raw.script_name;
  return { className, scriptName: host === undefined ? ctx.scriptName : ctx.resolveScript(`${at}.script_name`, host) };
}

/** The classes a script's migrations create, by storage. */
interface MigratedClasses {
  readonly sqlite: readonly string[];
  readonly keyValue: readonly string[];
}

const MIGRATION_ATTRIBUTES = new Set(['new_tag', 'old_tag', 'new_sqlite_classes', 'new_classes']);

function classList(ctx: DurableObjectContext, where: string, value: unknown): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new TopologyError(`${where} must be a list of class names`);
  return value.map((item, i) => ctx.literal(`${where}[${i}]`, item));
}

/** The classes `migrations` (the script attribute, as synthesized) creates. */
export function migratedClasses(ctx: DurableObjectContext, where: string, migrations: unknown): MigratedClasses {
  if (migrations === undefined || migrations === null) return { sqlite: [], keyValue: [] };
  if (typeof migrations === 'string') {
    const limiter = parseLimiterMigration(migrations);
    if (limiter === undefined) {
      throw new TopologyError(
        `${where} is the Terraform expression ${JSON.stringify(migrations)}, which cannot be emulated`,
      );
    }
    return { sqlite: limiter.newSqliteClasses, keyValue: [] };
  }
  if (typeof migrations !== 'object' || Array.isArray(migrations))
    throw new TopologyError(`${where} must be an object`);
  const fields = migrations as Json;
  for (const [attribute, value] of Object.entries(fields)) {
    if (!MIGRATION_ATTRIBUTES.has(attribute) && value !== null) {
      throw new TopologyError(`${where}.${attribute} is not supported by the local emulation`);
    }
  }
  return {
    sqlite: classList(ctx, `${where}.new_sqlite_classes`, fields.new_sqlite_classes),
    keyValue: classList(ctx, `${where}.new_classes`, fields.new_classes),
  };
}

type MiniflareDurableObjects = NonNullable<WorkerOptions['durableObjects']>;

/** One worker as {@link linkDurableObjects} sees it. */
export interface DurableObjectWorker {
  readonly scriptName: string;
  /** where its resource is, for messages: `cloudflare_workers_script.<id>` */
  readonly where: string;
  readonly migrations: MigratedClasses;
  /** binding name → class and worker */
  readonly bindings: Readonly<Record<string, DurableObjectBinding>>;
}

/**
 * Each worker's `durableObjects` option, by script name, once every binding's class is known to be created by a
 * migration of the worker that holds it.
 *
 * @throws TopologyError naming the binding whose class no migration creates
 */
function durableObjectOptions(workers: readonly DurableObjectWorker[]): Map<string, MiniflareDurableObjects> {
  const byName = new Map(workers.map((w) => [w.scriptName, w]));
  const linked = new Map<string, MiniflareDurableObjects>();
  for (const worker of workers) {
    const options: MiniflareDurableObjects = {};
    for (const [name, binding] of Object.entries(worker.bindings)) {
      const host = byName.get(binding.scriptName);
      const sqlite = host?.migrations.sqlite.includes(binding.className) === true;
      if (!sqlite && host?.migrations.keyValue.includes(binding.className) !== true) {
        throw new TopologyError(
          `${worker.where} binds ${name} to the Durable Object class ${binding.className} of ${binding.scriptName}, ` +
            'which no migration of that worker creates: Cloudflare refuses such a binding (error 10061)',
        );
      }
      options[name] = {
        className: binding.className,
        useSQLite: sqlite,
        ...(binding.scriptName === worker.scriptName ? {} : { scriptName: binding.scriptName }),
      };
    }
    linked.set(worker.scriptName, options);
  }
  return linked;
}

/**
 * The workers with their Durable Object bindings in their Miniflare options (workers without any keep theirs as they
 * were).
 *
 * @throws TopologyError naming the binding whose class no migration of its worker creates
 */
export function linkDurableObjects<W extends { readonly scriptName: string; readonly options: WorkerOptions }>(
  built: readonly { readonly worker: W; readonly durable: DurableObjectWorker }[],
): W[] {
  const options = durableObjectOptions(built.map((b) => b.durable));
  return built.map(({ worker }) => {
    const durableObjects = options.get(worker.scriptName) ?? {};
    if (Object.keys(durableObjects).length === 0) return worker;
    return { ...worker, options: { ...worker.options, durableObjects } };
  });
}
