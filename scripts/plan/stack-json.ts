/**
 * The parts of a synthesized `cdk.tf.json` the deploy summary reads, and where synth leaves them
 * (`<out>/stacks/<stack>/cdk.tf.json`). Everything here is read as untrusted JSON: a field of another shape is treated
 * as absent, never as an error, so an older or newer stack still gets a summary.
 *
 * @module
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** One entry of a worker's `bindings`. Values (`text`) are read only for what the summary derives from them. */
export interface BindingJson {
  readonly name?: unknown;
  readonly type?: unknown;
  readonly text?: unknown;
  readonly service?: unknown;
}

/** A `resource.<type>.<id>` block: provider attributes by their Terraform names. */
export type ResourceJson = Readonly<Record<string, unknown>>;

export interface OutputJson {
  readonly value?: unknown;
  readonly description?: unknown;
  readonly sensitive?: unknown;
}

export interface StackJson {
  readonly '//'?: { readonly metadata?: { readonly stackName?: unknown } };
  readonly resource?: Readonly<Record<string, Readonly<Record<string, ResourceJson>>>>;
  readonly output?: Readonly<Record<string, OutputJson>>;
  readonly variable?: Readonly<Record<string, { readonly default?: unknown; readonly sensitive?: unknown }>>;
  readonly terraform?: {
    readonly backend?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
    readonly required_version?: unknown;
    readonly required_providers?: Readonly<Record<string, { readonly version?: unknown; readonly source?: unknown }>>;
  };
}

/** A stack as synth wrote it: its name, its directory (where `content_file` paths start) and its JSON. */
export interface SynthesizedStack {
  readonly name: string;
  readonly dir: string;
  readonly json: StackJson;
}

/** The stack name cdktf records in the file itself, so a copy kept under any name still says which stack it was. */
export function stackNameOf(json: StackJson): string | undefined {
  const name = json['//']?.metadata?.stackName;
  return typeof name === 'string' ? name : undefined;
}

/** The resources of one Terraform type, keyed by their id in the JSON (the construct's unique id). */
export function resourcesOf(json: StackJson, type: string): readonly (readonly [string, ResourceJson])[] {
  return Object.entries(json.resource?.[type] ?? {});
}

/** A string attribute, or undefined when absent or of another type. */
export function stringAt(resource: ResourceJson, attribute: string): string | undefined {
  const value = resource[attribute];
  return typeof value === 'string' ? value : undefined;
}

/** Reads a `cdk.tf.json`; throws with the path when it is missing or not JSON. */
export function readStackFile(file: string): StackJson {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new Error(`cannot read ${file}: ${(error as Error).message}`);
  }
  try {
    return JSON.parse(text) as StackJson;
  } catch (error) {
    throw new Error(`${file} is not JSON: ${(error as Error).message}`);
  }
}

/** Every stack under `<outDir>/stacks/`, in name order; empty when synth has not run. */
export function readSynthesizedStacks(outDir: string): SynthesizedStack[] {
  const stacksDir = join(outDir, 'stacks');
  if (!existsSync(stacksDir)) return [];
  return readdirSync(stacksDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(stacksDir, entry.name, 'cdk.tf.json')))
    .map((entry) => entry.name)
    .sort()
    .map((name) => {
      const dir = join(stacksDir, name);
      return { name, dir, json: readStackFile(join(dir, 'cdk.tf.json')) };
    });
}
