/**
 * `npm start`: synthesizes the app and runs the chosen stack in workerd, exactly as Terraform would deploy it.
 * All decisions live in `scripts/local/*`; this file does the I/O and the process lifecycle.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { startFakeGemini, type FakeGemini } from '../dev/fake-gemini';
import {
  CliError,
  banner,
  formatOther,
  formatRequest,
  parseApiKeys,
  parseArgs,
  requestLineContext,
  resolveSecrets,
  synthEnv,
} from './local/cli';
import { RequestLog } from './local/request-log';
import { PortInUseError, startTopology, type RunningTopology } from './local/start';
import { formatStatusView } from './local/status-view';
import { PROJECT_ROOT, SynthError, runSynth } from './local/synth';
import { TopologyError, buildTopology, requiredApiKeyCount } from './local/emulated-topology';

const REAL_GEMINI = 'https://generativelanguage.googleapis.com';
/** request ids of the status views `npm start` fetches itself; their log lines are not printed */
const OWN_STATUS_ID = 'npm-start-status-';
/** how long after the last request the kept status view is refreshed, so the view printed at exit is recent */
const STATUS_REFRESH_MS = 1000;

async function main(): Promise<void> {
  const env = process.env;
  const args = parseArgs(process.argv.slice(2), env);
  const outDir = join(PROJECT_ROOT, 'cdktf.out');
  const realKeys = env.TF_VAR_api_keys ? parseApiKeys(env.TF_VAR_api_keys) : undefined;

  if (!args.skipSynth) {
    process.stdout.write(`synthesizing (main.ts, as cdktf synth runs it; stack ${args.stack})...\n`);
    const synth = await runSynth({ outDir, env: synthEnv(env, args.stack, realKeys?.length) });
    for (const line of synth.annotations) process.stdout.write(`${line}\n`);
  }
  const stackDir = join(outDir, 'stacks', args.stack);
  let stack: Record<string, unknown>;
  try {
    stack = JSON.parse(readFileSync(join(stackDir, 'cdk.tf.json'), 'utf8')) as Record<string, unknown>;
  } catch (error) {
    throw new CliError(
      `cannot read ${join(stackDir, 'cdk.tf.json')} (${(error as Error).message}); run without --skip-synth`,
    );
  }

  const secrets = resolveSecrets(env, requiredApiKeyCount(stack), () => randomBytes(9).toString('base64url'));
  let fake: FakeGemini | undefined;
  let upstream: string;
  if (secrets.demo) {
    fake = await startFakeGemini({ port: 0, chunkDelayMs: 40 });
    upstream = fake.url;
  } else {
    upstream = env.GEMINI_BASE_URL || REAL_GEMINI;
  }
  const overrides: Record<string, string> = secrets.demo || env.GEMINI_BASE_URL ? { GEMINI_BASE_URL: upstream } : {};
  const topology = buildTopology(stack, { stackDir, secrets, plainTextOverrides: overrides });

  const lineContext = requestLineContext(topology);
  // the status view printed at exit is the last one kept: by then workerd may already have had the terminal's Ctrl-C,
  // so it is refreshed shortly after each burst of requests rather than fetched while stopping
  let keptView: string | undefined;
  let refresh: NodeJS.Timeout | undefined;
  let statusSeq = 0;
  const fetchView = async (url: string): Promise<string> => {
    try {
      const res = await fetch(`${url}/zen/status`, {
        headers: { authorization: `Bearer ${secrets.pass}`, 'x-request-id': `${OWN_STATUS_ID}${++statusSeq}` },
        signal: AbortSignal.timeout(10_000),
      });
      const text = await res.text();
      if (res.status !== 200) return `key status: GET /zen/status answered ${res.status}`;
      keptView = formatStatusView(JSON.parse(text), lineContext);
      return keptView;
    } catch (error) {
      return `key status: GET /zen/status failed (${(error as Error).message})`;
    }
  };
  let publicUrl: string | undefined;
  const requestLog = new RequestLog({
    orchestrated: lineContext.shards.size > 0,
    graceMs: 2000,
    onRequest: (summary) => {
      if (summary.requestId.startsWith(OWN_STATUS_ID)) return;
      process.stdout.write(`${formatRequest(summary, lineContext)}\n`);
      clearTimeout(refresh);
      const url = publicUrl;
      if (url !== undefined) refresh = setTimeout(() => void fetchView(url), STATUS_REFRESH_MS).unref();
    },
    onOther: ({ text }) => process.stdout.write(`${formatOther(text)}\n`),
  });
  let running: RunningTopology;
  try {
    running = await startTopology({
      topology,
      port: args.port,
      onLog: (message) => requestLog.accept(message, Date.now()),
    });
  } catch (error) {
    await fake?.close();
    throw error;
  }
  const flusher = setInterval(() => requestLog.flush(Date.now()), 500);
  publicUrl = running.url;
  await fetchView(running.url);

  process.stdout.write(
    `${banner({ stack: args.stack, url: running.url, secrets, upstream, workers: topology.workers.map((w) => w.scriptName) })}\n`,
  );

  // s + Enter: the status view now. A line-based read, so it works the same in a terminal and through a pipe.
  const input = createInterface({ input: process.stdin, terminal: false });
  input.on('line', (line) => {
    if (line.trim().toLowerCase() === 's')
      void fetchView(running.url).then((view) => process.stdout.write(`${view}\n`));
  });

  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    clearInterval(flusher);
    clearTimeout(refresh);
    input.close();
    requestLog.flush(Number.POSITIVE_INFINITY);
    if (keptView !== undefined) process.stdout.write(`\n${keptView}\n`);
    process.stdout.write('\nstopped\n');
    // Miniflare's own signal hook runs right after this one: it kills workerd synchronously and exits the process.
    // Disposing here as well keeps the shutdown clean should that hook ever stop exiting.
    void Promise.allSettled([running.dispose(), fake?.close()]).then(() => process.exit(0));
  };
  // prepended so the last requests are printed before Miniflare's hook ends the process
  process.prependListener('SIGINT', stop);
  process.prependListener('SIGTERM', stop);
}

main().catch((error: unknown) => {
  if (
    error instanceof CliError ||
    error instanceof TopologyError ||
    error instanceof PortInUseError ||
    error instanceof SynthError
  ) {
    process.stderr.write(`error: ${error.message}\n`);
  } else {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  }
  process.exit(1);
});
