/**
 * Benchmark 5: size of each worker bundle (minified, gzip) and its start-up time in workerd.
 *
 * Start-up is measured two ways: in workerd, the time from `new Miniflare` to the first answered request minus the
 * same for an empty worker (interleaved rounds, after a warm-up start, so workerd's own process start cancels out;
 * this is noisy, process start dominates it); and in V8 inside Node, the time to parse and evaluate the bundle's
 * global scope as a fresh ES module, which is what Cloudflare's 1 s start-up limit is about.
 */
import { Miniflare } from 'miniflare';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { bundleWorker, type WorkerName } from '../bundler/worker-bundles';
import { DEFAULT_COMPATIBILITY_DATE } from '../workers/shared/contract';
import { fmt, printTable, runBenchmark, summarize } from './stats';

const STARTS = Number(process.env.BENCH_STARTS ?? 7);
/** openai-gemini's translating worker bundled with esbuild --minify (figure given in issue 6). */
const OPENAI_GEMINI = { minified: 11.3 * 1024, gzip: 4.6 * 1024 };
const EMPTY_WORKER = 'export default { fetch() { return new Response("ok"); } };';

async function startupMs(script: string): Promise<number> {
  const started = performance.now();
  const mf = new Miniflare({
    modules: true,
    script,
    compatibilityDate: DEFAULT_COMPATIBILITY_DATE,
    bindings: { KEY1: 'bench-key', PASS: 'bench-pass', GEMINI_BASE_URL: 'http://127.0.0.1:9' },
    handleRuntimeStdio: (stdout: Readable, stderr: Readable) => {
      stdout.resume();
      stderr.resume();
    },
  });
  try {
    // any answer proves the module was parsed and its global scope ran
    await (await mf.dispatchFetch('http://bench.local/__startup')).arrayBuffer();
    return performance.now() - started;
  } finally {
    await mf.dispose();
  }
}

/** Median workerd start-up of each script, measured in interleaved rounds after one discarded warm-up start. */
async function workerdStartups(scripts: readonly string[]): Promise<number[]> {
  await startupMs(EMPTY_WORKER);
  const samples = scripts.map((): number[] => []);
  for (let round = 0; round < STARTS; round++) {
    for (const [i, script] of scripts.entries()) samples[i]?.push(await startupMs(script));
  }
  return samples.map((s) => summarize(s).p50);
}

/** Median time for V8 to parse and evaluate the module's global scope, each time as a new module. */
async function v8EvaluateMs(code: string): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'zen-bundle-bench-'));
  try {
    const samples: number[] = [];
    for (let i = 0; i < 50; i++) {
      const file = join(dir, `m${i}.mjs`);
      writeFileSync(file, code);
      const started = performance.now();
      await import(pathToFileURL(file).href);
      samples.push(performance.now() - started);
    }
    return summarize(samples).p50;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const names = ['shard', 'orchestrator'] as const satisfies readonly WorkerName[];
  const bundles = names.map((name) => ({ name, code: bundleWorker(name) }));
  const startups = await workerdStartups([EMPTY_WORKER, ...bundles.map((b) => b.code)]);
  const startupOf = (script: number): number => {
    const ms = startups[script];
    if (ms === undefined) throw new Error(`no workerd start-up time for script ${script} of ${startups.length}`);
    return ms;
  };
  const emptyMs = startupOf(0);
  const emptyV8 = await v8EvaluateMs(EMPTY_WORKER);
  const rows: (string | number)[][] = [];
  for (const [i, { name, code }] of bundles.entries()) {
    const minified = Buffer.byteLength(code);
    const gzip = gzipSync(code, { level: 9 }).byteLength;
    rows.push([
      name,
      fmt(minified / 1024, 1),
      fmt(gzip / 1024, 1),
      fmt(minified / OPENAI_GEMINI.minified),
      fmt(gzip / OPENAI_GEMINI.gzip),
      fmt(startupOf(i + 1) - emptyMs, 1),
      fmt(await v8EvaluateMs(code), 2),
    ]);
  }
  rows.push([
    'openai-gemini (reference)',
    fmt(OPENAI_GEMINI.minified / 1024, 1),
    fmt(OPENAI_GEMINI.gzip / 1024, 1),
    '1.00',
    '1.00',
    '-',
    '-',
  ]);
  process.stdout.write(
    `Worker bundles (esbuild --minify, gzip -9). workerd start-up: median of ${STARTS} interleaved cold starts minus an empty worker's ${fmt(emptyMs, 0)} ms; ` +
      `V8 evaluate: median of 50 fresh module loads (empty module: ${fmt(emptyV8, 2)} ms)\n\n`,
  );
  printTable(
    [
      'worker',
      'minified KiB',
      'gzip KiB',
      'x openai-gemini min',
      'x openai-gemini gzip',
      'workerd extra start-up ms',
      'V8 parse+evaluate ms',
    ],
    rows,
  );
}

runBenchmark(main);
