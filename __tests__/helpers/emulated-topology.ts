/**
 * Small helpers for tests that run a synthesized topology (`scripts/local/emulated-topology.ts`) in workerd.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { synthEnv } from '../../scripts/local/cli';
import {
  backendScripts,
  buildTopology,
  type Topology,
  type TopologySecrets,
} from '../../scripts/local/emulated-topology';
import { runSynth } from '../../scripts/local/synth';
import { defined } from './guards';

/**
 * Synthesizes the app into a fresh temporary folder, as `npm start` does for `stack` (a `preview-<n>` stack also
 * writes prod), from a clean environment holding only `settings`: nothing of the test runner's environment, and no
 * `TF_VAR_*`, reaches synth. Returns the folder; the caller removes it.
 */
export async function synthesizeToTempDir(
  prefix: string,
  stack: string,
  settings: Readonly<Record<string, string>>,
): Promise<string> {
  const outDir = mkdtempSync(join(tmpdir(), prefix));
  const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir(), ...settings };
  await runSynth({ outDir, env: synthEnv(env, stack, undefined) });
  return outDir;
}

/**
 * The emulated topology of `stack` as synthesized into `outDir` (see {@link synthesizeToTempDir}), with `secrets` for
 * the Terraform variables and every worker's `GEMINI_BASE_URL` pointed at `upstream`.
 */
export function synthesizedTopology(
  outDir: string,
  stack: string,
  secrets: TopologySecrets,
  upstream: string,
): Topology {
  const stackDir = join(outDir, 'stacks', stack);
  const json = JSON.parse(readFileSync(join(stackDir, 'cdk.tf.json'), 'utf8')) as Record<string, unknown>;
  return buildTopology(json, { stackDir, secrets, plainTextOverrides: { GEMINI_BASE_URL: upstream } });
}

/** key value → index n of the BACKEND_SERVICE_<n> whose shard holds it (`apiKeys` as given to the topology). */
export function keyOwners(topology: Topology, apiKeys: readonly string[]): Map<string, number> {
  const byScript = new Map([...backendScripts(topology)].map(([n, script]) => [script, n]));
  const owners = new Map<string, number>();
  for (const worker of topology.workers) {
    const shard = byScript.get(worker.scriptName);
    if (shard === undefined) continue;
    for (const index of Object.values(worker.apiKeyIndexes))
      owners.set(defined(apiKeys[index], `api key ${index}`), shard);
  }
  return owners;
}

/** the same module (name and path) with other code, as if a bad build had been deployed to that shard */
export function replaceContents(
  modules: unknown,
  contents: string,
): { type: 'ESModule'; path: string; contents: string }[] {
  const [main] = modules as { path: string }[];
  return [{ type: 'ESModule', path: (main as { path: string }).path, contents }];
}
