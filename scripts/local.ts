/**
 * `npm start`: synthesizes the app and runs the chosen stack in workerd, exactly as Terraform would deploy it.
 * All decisions live in `scripts/local/*`; this file does the I/O and the process lifecycle.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { scriptedCalls, startFakeGemini, type FakeGemini } from '../dev/fake-gemini';
import {
  type CliArgs,
  CliError,
  type RequestLineContext,
  banner,
  formatOther,
  formatRequest,
  parseApiKeys,
  parseArgs,
  requestLineContext,
  resolveSecrets,
  synthEnv,
} from './local/cli';
import { demoQuota, fakeProjects, keyProjectsFor, projectSummary } from './local/key-projects';
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

/** Synthesizes the app (unless `--skip-synth`) and reads the chosen stack's Terraform JSON. */
async function loadStack(
  args: CliArgs,
  env: NodeJS.ProcessEnv,
  realKeyCount: number | undefined,
  keyProjects: readonly string[] | undefined,
): Promise<{ stack: Record<string, unknown>; stackDir: string }> {
  const outDir = join(PROJECT_ROOT, 'cdktf.out');
  if (!args.skipSynth) {
    process.stdout.write(`synthesizing (main.ts, as cdktf synth runs it; stack ${args.stack})...\n`);
    const synth = await runSynth({ outDir, env: synthEnv(env, args.stack, realKeyCount, keyProjects) });
    for (const line of synth.annotations) process.stdout.write(`${line}\n`);
  }
  const stackDir = join(outDir, 'stacks', args.stack);
  try {
    const stack = JSON.parse(readFileSync(join(stackDir, 'cdk.tf.json'), 'utf8')) as Record<string, unknown>;
    return { stack, stackDir };
  } catch (error) {
    throw new CliError(
      `cannot read ${join(stackDir, 'cdk.tf.json')} (${(error as Error).message}); run without --skip-synth`,
    );
  }
}

interface Upstream {
  readonly url: string;
  /** the fake Gemini started for demo keys, to close at exit */
  readonly fake?: FakeGemini;
  /** `plain_text` binding overrides that point the shards at `url` */
  readonly overrides: Record<string, string>;
}

/**
 * Where the shards send Gemini calls: for demo keys a fake on loopback that counts per project (`projects`: key →
 * label, the layout synth was given), else `GEMINI_BASE_URL` or Google.
 */
async function startUpstream(
  demo: boolean,
  env: NodeJS.ProcessEnv,
  projects: Readonly<Record<string, string>>,
): Promise<Upstream> {
  if (demo) {
    const admission = demoQuota(env.DEMO_QUOTA);
    // scripted calls: a prompt line `CALL <function> <JSON>` makes the fake call that function, as agents need
    const fake = await startFakeGemini({
      port: 0,
      chunkDelayMs: 40,
      projects,
      nativeReply: scriptedCalls,
      ...(admission ? { admission } : {}),
    });
    return { url: fake.url, fake, overrides: { GEMINI_BASE_URL: fake.url } };
  }
  const url = env.GEMINI_BASE_URL || REAL_GEMINI;
  return { url, overrides: env.GEMINI_BASE_URL ? { GEMINI_BASE_URL: url } : {} };
}

/** `npm start`'s own reads of `GET /zen/status`, keeping the latest view for the exit. */
interface StatusViews {
  /** the view now, formatted, or a line saying why there is none */
  fetch(url: string): Promise<string>;
  /** fetches (and so keeps) a fresh view once requests have paused for a moment */
  refreshSoon(url: string): void;
  /** the last view fetched, stops any pending refresh */
  stop(): string | undefined;
}

/**
 * The status view printed at exit is the last one kept: by then workerd may already have had the terminal's Ctrl-C,
 * so it is refreshed shortly after each burst of requests rather than fetched while stopping.
 */
function statusViews(pass: string, lineContext: RequestLineContext): StatusViews {
  let kept: string | undefined;
  let refresh: NodeJS.Timeout | undefined;
  let seq = 0;
  const fetchView = async (url: string): Promise<string> => {
    try {
      const res = await fetch(`${url}/zen/status`, {
        headers: { authorization: `Bearer ${pass}`, 'x-request-id': `${OWN_STATUS_ID}${++seq}` },
        signal: AbortSignal.timeout(10_000),
      });
      const text = await res.text();
      if (res.status !== 200) return `key status: GET /zen/status answered ${res.status}`;
      kept = formatStatusView(JSON.parse(text), lineContext);
      return kept;
    } catch (error) {
      return `key status: GET /zen/status failed (${(error as Error).message})`;
    }
  };
  return {
    fetch: fetchView,
    refreshSoon: (url) => {
      clearTimeout(refresh);
      refresh = setTimeout(() => void fetchView(url), STATUS_REFRESH_MS).unref();
    },
    stop: () => {
      clearTimeout(refresh);
      return kept;
    },
  };
}

/** Prints each request as it completes; a status view is refreshed after each burst once `publicUrl()` is known. */
function printedRequestLog(
  lineContext: RequestLineContext,
  views: StatusViews,
  publicUrl: () => string | undefined,
): RequestLog {
  return new RequestLog({
    orchestrated: lineContext.shards.size > 0,
    graceMs: 2000,
    onRequest: (summary) => {
      if (summary.requestId.startsWith(OWN_STATUS_ID)) return;
      process.stdout.write(`${formatRequest(summary, lineContext)}\n`);
      const url = publicUrl();
      if (url !== undefined) views.refreshSoon(url);
    },
    onOther: ({ text }) => process.stdout.write(`${formatOther(text)}\n`),
  });
}

/**
 * Reads `s` + Enter from stdin, and on SIGINT/SIGTERM prints the last requests and the kept status view, then shuts
 * everything down.
 */
function handleInput(
  running: RunningTopology,
  upstream: Upstream,
  requestLog: RequestLog,
  views: StatusViews,
  flusher: NodeJS.Timeout,
): void {
  // s + Enter: the status view now. A line-based read, so it works the same in a terminal and through a pipe.
  const input = createInterface({ input: process.stdin, terminal: false });
  input.on('line', (line) => {
    if (line.trim().toLowerCase() === 's')
      void views.fetch(running.url).then((view) => process.stdout.write(`${view}\n`));
  });

  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    clearInterval(flusher);
    const keptView = views.stop();
    input.close();
    requestLog.flush(Number.POSITIVE_INFINITY);
    if (keptView !== undefined) process.stdout.write(`\n${keptView}\n`);
    process.stdout.write('\nstopped\n');
    // Miniflare's own signal hook runs right after this one: it kills workerd synchronously and exits the process.
    // Disposing here as well keeps the shutdown clean should that hook ever stop exiting.
    void Promise.allSettled([running.dispose(), upstream.fake?.close()]).then(() => process.exit(0));
  };
  // prepended so the last requests are printed before Miniflare's hook ends the process
  process.prependListener('SIGINT', stop);
  process.prependListener('SIGTERM', stop);
}

async function main(): Promise<void> {
  const env = process.env;
  const args = parseArgs(process.argv.slice(2), env);
  const realKeys = env.TF_VAR_api_keys ? parseApiKeys(env.TF_VAR_api_keys) : undefined;
  const keyProjects = keyProjectsFor(env, realKeys?.length);
  const { stack, stackDir } = await loadStack(args, env, realKeys?.length, keyProjects);

  const secrets = resolveSecrets(env, requiredApiKeyCount(stack), () => randomBytes(9).toString('base64url'));
  const upstream = await startUpstream(secrets.demo, env, fakeProjects(secrets.apiKeys, keyProjects));
  const topology = buildTopology(stack, { stackDir, secrets, plainTextOverrides: upstream.overrides });

  const lineContext = requestLineContext(topology);
  const views = statusViews(secrets.pass, lineContext);
  let publicUrl: string | undefined;
  const requestLog = printedRequestLog(lineContext, views, () => publicUrl);
  let running: RunningTopology;
  try {
    running = await startTopology({
      topology,
      port: args.port,
      onLog: (message) => requestLog.accept(message, Date.now()),
    });
  } catch (error) {
    await upstream.fake?.close();
    throw error;
  }
  const flusher = setInterval(() => requestLog.flush(Date.now()), 500);
  publicUrl = running.url;
  await views.fetch(running.url);

  process.stdout.write(
    `${banner({
      stack: args.stack,
      url: running.url,
      secrets,
      upstream: upstream.url,
      workers: topology.workers.map((w) => w.scriptName),
      projects: projectSummary(secrets.apiKeys.length, keyProjects),
    })}\n`,
  );
  handleInput(running, upstream, requestLog, views, flusher);
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
