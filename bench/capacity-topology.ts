/**
 * The capacity benchmark's workers: the prod stack exactly as `cdktf synth` writes it for a key count, turned into
 * workerd workers by `npm start`'s own modules, then varied only through bindings (and, for the baselines, the
 * shards' code or copies). So the same harness measures whatever the synthesized stack binds, with or without
 * `KEY_PROJECTS`.
 */
import type { WorkerOptions } from 'miniflare';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { CONFIG_VARIABLES } from '../config';
import { synthEnv } from '../scripts/local/cli';
import { runSynth } from '../scripts/local/synth';
import { supportWorkers } from '../scripts/local/analytics-engine';
import { backendScripts, buildTopology, type EmulatedWorker, type Topology } from '../scripts/local/emulated-topology';

/** The bench-only stand-in for the old worker's key handling: round robin, no failover, no cooldown. */
export const ROUND_ROBIN_WORKER = readFileSync(resolve(__dirname, 'capacity-round-robin-worker.js'), 'utf8');
/** The bench-only worker that spreads one shard's requests over its copies. */
const ISOLATE_SPREADER_WORKER = readFileSync(resolve(__dirname, 'capacity-isolate-spreader-worker.js'), 'utf8');

export interface SynthesizedProd {
  readonly topology: Topology;
  /** the values bound from `var.api_keys`, in order */
  readonly apiKeys: readonly string[];
  /** keys held by the shard bound as BACKEND_SERVICE_i, at position i */
  readonly shardKeyCounts: readonly number[];
  /** the positions in {@link apiKeys} (0-based) of the keys the shard bound as BACKEND_SERVICE_i holds, ascending */
  readonly shardKeys: readonly (readonly number[])[];
  /** the `KEY_PROJECTS` labels synth was given; undefined when it was not (every key its own project) */
  readonly keyProjects?: readonly string[];
  /** removes the synth output */
  dispose(): void;
}

/**
 * Runs `cdktf synth` for the prod stack with `keyCount` keys in shards of `keysPerShard` on the free plan, with
 * `keyProjects` as `KEY_PROJECTS` when given, every other setting at its default (any `KEY_COUNT`, `SHARD_ATTEMPTS`,
 * ... in this process's environment is ignored), and builds its topology with `upstreamUrl` as every shard's
 * `GEMINI_BASE_URL`.
 */
export async function synthesizeProd(
  keyCount: number,
  keysPerShard: number,
  upstreamUrl: string,
  pass: string,
  keyProjects?: readonly string[],
): Promise<SynthesizedProd> {
  const outDir = mkdtempSync(join(tmpdir(), 'zen-capacity-bench-'));
  try {
    const inherited = Object.fromEntries(
      Object.entries(process.env).filter(([name]) => !(CONFIG_VARIABLES as readonly string[]).includes(name)),
    );
    const env: Record<string, string> = {
      ...synthEnv(inherited, 'prod', keyCount, keyProjects),
      KEYS_PER_SHARD: String(keysPerShard),
      WORKERS_PLAN: 'free',
    };
    // no preview stack: it is not measured, and it must not limit the key counts this benchmark can synthesize
    delete env.PR_NUMBER;
    await runSynth({ outDir, env });
    const stackDir = join(outDir, 'stacks', 'prod');
    const stack = JSON.parse(readFileSync(join(stackDir, 'cdk.tf.json'), 'utf8')) as Record<string, unknown>;
    const apiKeys = Array.from({ length: keyCount }, (_, i) => `capacity-bench-key-${String(i + 1).padStart(3, '0')}`);
    const topology = buildTopology(stack, {
      stackDir,
      secrets: { apiKeys, pass },
      plainTextOverrides: { GEMINI_BASE_URL: upstreamUrl },
    });
    const byScript = new Map(topology.workers.map((w) => [w.scriptName, w]));
    const backends = backendScripts(topology);
    const shardKeys = Array.from({ length: backends.size }, (_, i) => {
      const worker = byScript.get(backends.get(i) ?? '');
      if (worker === undefined)
        throw new Error(
          `the orchestrator binds no BACKEND_SERVICE_${i}; the benchmark needs shards 0..${backends.size - 1}`,
        );
      return Object.values(worker.apiKeyIndexes).sort((a, b) => a - b);
    });
    return {
      topology,
      apiKeys,
      shardKeyCounts: shardKeys.map((keys) => keys.length),
      shardKeys,
      ...(keyProjects !== undefined ? { keyProjects } : {}),
      dispose: () => rmSync(outDir, { recursive: true, force: true }),
    };
  } catch (error) {
    rmSync(outDir, { recursive: true, force: true });
    throw error;
  }
}

/** How one configuration differs from the synthesized stack. */
export interface Variant {
  /**
   * Plain-text bindings set on the orchestrator, replacing or ADDING (unlike `plainTextOverrides`), so a binding the
   * stack does not declare yet can be measured.
   *
   * @default - none
   */
  readonly orchestratorBindings?: Readonly<Record<string, string>>;
  /**
   * Plain-text bindings set on every shard, replacing or adding.
   *
   * @default - none
   */
  readonly shardBindings?: Readonly<Record<string, string>>;
  /**
   * ES module that replaces every shard's code; the shard keeps its bindings.
   *
   * @default - the synthesized shard worker
   */
  readonly shardCode?: string;
  /**
   * Runs every shard as this many separate workers (separate memory, like isolates) behind a spreader that picks one
   * at random per request; 1 still adds the spreader, so 1 and n copies pay for the same hops.
   *
   * @default - no spreader: each shard is one worker
   */
  readonly copiesPerShard?: number;
}

function withBindings(options: WorkerOptions, extra: Readonly<Record<string, string>> | undefined): WorkerOptions {
  return extra === undefined ? options : { ...options, bindings: { ...options.bindings, ...extra } };
}

function withCode(options: WorkerOptions, code: string | undefined): WorkerOptions {
  if (code === undefined) return options;
  const modules = (options as { modules?: unknown }).modules;
  if (Array.isArray(modules)) {
    // same module name and path as the synthesized script, other contents
    const [main] = modules as { path: string }[];
    return {
      ...options,
      modules: [{ type: 'ESModule', path: (main as { path: string }).path, contents: code }],
    } as WorkerOptions;
  }
  return { ...options, modules: true, script: code } as WorkerOptions;
}

/** The workers of one configuration, the orchestrator first (Miniflare serves the first worker on its port). */
export function variantWorkers(topology: Topology, variant: Variant): WorkerOptions[] {
  const shardNames = new Set(backendScripts(topology).values());
  const isShard = (w: EmulatedWorker): boolean => shardNames.has(w.scriptName);
  const out: WorkerOptions[] = [];
  for (const worker of topology.workers) {
    if (worker === topology.publicWorker) {
      out.push(withBindings(worker.options, variant.orchestratorBindings));
      continue;
    }
    if (!isShard(worker)) {
      out.push(worker.options);
      continue;
    }
    const shard = withCode(withBindings(worker.options, variant.shardBindings), variant.shardCode);
    if (variant.copiesPerShard === undefined) {
      out.push(shard);
      continue;
    }
    const copies = Array.from(
      { length: variant.copiesPerShard },
      (_, c) => ({ ...shard, name: `${worker.scriptName}-copy-${c}` }) as WorkerOptions,
    );
    // the spreader takes the shard's name, so the orchestrator's BACKEND_SERVICE_<n> reaches it unchanged
    out.push({
      name: worker.scriptName,
      modules: true,
      script: ISOLATE_SPREADER_WORKER,
      compatibilityDate: shard.compatibilityDate,
      serviceBindings: Object.fromEntries(copies.map((copy, c) => [`COPY_${c}`, copy.name as string])),
    });
    out.push(...copies);
  }
  // the Analytics Engine stand-in the shards' usage binding writes to, as `npm start` adds it
  return [...out, ...supportWorkers(out)];
}
