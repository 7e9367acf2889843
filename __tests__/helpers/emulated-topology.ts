/**
 * Small helpers for tests that run a synthesized topology (`scripts/local/emulated-topology.ts`) in workerd.
 */
import { backendScripts, type Topology } from '../../scripts/local/emulated-topology';
import { defined } from './guards';

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
