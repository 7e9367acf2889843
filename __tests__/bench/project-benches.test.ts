/**
 * The two benchmarks of issue 22 still run on the code as it is, in a few seconds each: the capacity benchmark's
 * in-process gateway on a simulated clock (the workers' modules under tsx, as `tsconfig.json` resolves them) and the
 * implicit-cache benchmark's workerd topology (the synthesized stack with its Analytics Engine stand-in). Their figures
 * are for `docs/benchmarks.md`; this only asserts what no run may break: the tables come out, and a conversation with
 * an id hits the cache as often as it can.
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';

const ROOT = resolve(__dirname, '..', '..');

jest.setTimeout(120_000);

function runBench(file: string, args: readonly string[]): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, ['--import', 'tsx', resolve(ROOT, 'bench', file), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

/** The cells of the markdown table rows of `stdout` whose first cell is `first`. */
function rows(stdout: string, first: string): string[][] {
  return stdout
    .split('\n')
    .filter((line) => line.startsWith(`| ${first} |`))
    .map((line) => line.split('|').map((cell) => cell.trim()));
}

describe('the project benchmarks', () => {
  it('capacity on a simulated clock: declared and per-key pools both serve what the ceiling allows', () => {
    const run = runBench('capacity.ts', [
      '--clock=virtual',
      '--keys=',
      '--copies=',
      '--seconds=2',
      '--loads=50',
      '--projects=2x2',
    ]);
    expect({ status: run.status, stderr: run.status === 0 ? '' : run.stderr }).toEqual({ status: 0, stderr: '' });
    const cells = rows(run.stdout, '50 %').filter((r) => r.length > 8);
    expect(cells.map((r) => r[2])).toEqual(['KEY_PROJECTS set (defaults)', 'no KEY_PROJECTS (per key, as before)']);
    // success equals the perfect scheduler's share for these arrivals
    for (const r of cells) expect(r[4]).toBe(r[5]);
  });

  it('implicit cache in workerd: turns with an id hit the cache as often as one project could serve them', () => {
    const run = runBench('implicit-cache.ts', ['--turns=2']);
    expect({ status: run.status, stderr: run.status === 0 ? '' : run.stderr }).toEqual({ status: 0, stderr: '' });
    const withIds = rows(run.stdout, 'ids as the clients send them (header and body)');
    expect(withIds.map((r) => r[5])).toEqual(['1.00']);
  });
});
