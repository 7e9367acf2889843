/**
 * `npm run keys:check`: before a deploy, asks Google about every key in `TF_VAR_api_keys` and prints what it says,
 * by key index only (`KEY3` is the 3rd key; no key is ever printed):
 * - each key's state, from one free call per key (`GET /v1beta/models?pageSize=1`): ok, invalid, suspended, service
 *   disabled, region refused, or other with Google's status codes;
 * - which keys share a Google project (Google counts quota per project), found through the Files API: a file
 *   uploaded with one key is visible to every key of its project and to no other (`./keys-check/projects.ts`); every
 *   file made is deleted, also on failure or Ctrl-C;
 * - a `KEY_PROJECTS=` line for the synth setting, and whether a declared `KEY_PROJECTS` contradicts what Google shows.
 *
 * Exit code 1 when the declared `KEY_PROJECTS` is malformed or contradicts Google, 2 on a usage error, else 0 (keys
 * that do not work are warnings: the gateway sets them aside by itself). In GitHub Actions the warnings and errors
 * are annotations and the report goes to the step summary. `GEMINI_BASE_URL` points it elsewhere (the fake Gemini).
 *
 * @module
 */
import { appendFileSync } from 'node:fs';
import { escapeCommandData } from './ci/collect-keys';
import { GOOGLE_BASE_URL, googleCalls } from './keys-check/google-calls';
import { findProjects, mapLimit, parseDeclared } from './keys-check/projects';
import { formatReport, type Report } from './keys-check/report';
import { CliError, parseApiKeys } from './local/cli';

/** Keys asked at once. */
const CONCURRENCY = 8;

export interface KeysCheckIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdout: (line: string) => void;
  readonly stderr: (line: string) => void;
  /** stops the run (Ctrl-C); the files already made are still deleted */
  readonly signal?: AbortSignal;
  readonly fetch?: typeof fetch;
}

/** The keys and the declared layout from the environment, or the usage error to print. */
function inputsOf(env: KeysCheckIo['env']): { keys: string[]; declared: ReturnType<typeof parseDeclared> | undefined } {
  const raw = env.TF_VAR_api_keys;
  if (raw === undefined || raw.trim() === '') {
    throw new CliError('TF_VAR_api_keys is not set: put the keys to check in it, as a JSON array of strings');
  }
  const keys = parseApiKeys(raw);
  const projects = env.KEY_PROJECTS;
  return {
    keys,
    declared: projects === undefined || projects === '' ? undefined : parseDeclared(projects, keys.length),
  };
}

/** The report on stdout; in GitHub Actions also annotations and the step summary. */
function publish(report: Report, io: KeysCheckIo): void {
  for (const line of report.lines) io.stdout(line);
  if (io.env.GITHUB_ACTIONS !== 'true') return;
  for (const w of report.warnings) io.stdout(`::warning title=keys:check::${escapeCommandData(w)}`);
  for (const e of report.errors) io.stdout(`::error title=keys:check::${escapeCommandData(e)}`);
  const summary = io.env.GITHUB_STEP_SUMMARY;
  if (summary) appendFileSync(summary, ['### keys:check', '', '```', ...report.lines, '```', ''].join('\n'));
}

/** Runs the check; resolves to the exit code. */
export async function keysCheck(io: KeysCheckIo): Promise<number> {
  let inputs: ReturnType<typeof inputsOf>;
  try {
    inputs = inputsOf(io.env);
  } catch (error) {
    if (!(error instanceof CliError)) throw error;
    io.stderr(`keys:check: ${error.message}`);
    return 2;
  }
  const { keys, declared } = inputs;
  const baseUrl = (io.env.GEMINI_BASE_URL || GOOGLE_BASE_URL).replace(/\/+$/, '');
  const signal = io.signal ?? new AbortController().signal;
  const calls = googleCalls({ baseUrl, keys, signal, ...(io.fetch ? { fetch: io.fetch } : {}) });
  const indexes = keys.map((_, i) => i);
  const states = await mapLimit(indexes, CONCURRENCY, (i) => calls.state(i));
  const working = indexes.filter((i) => states[i]?.kind === 'ok');
  const found = await findProjects(keys.length, working, calls.probe, CONCURRENCY);
  const report = formatReport({ baseUrl, states, ...found, declared });
  publish(report, io);
  return report.errors.length > 0 ? 1 : 0;
}

if (require.main === module) {
  const stop = new AbortController();
  const onSignal = (): void => {
    process.stderr.write('keys:check: stopping; deleting the files it made\n');
    stop.abort();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  keysCheck({
    env: process.env,
    stdout: (line) => process.stdout.write(`${line}\n`),
    stderr: (line) => process.stderr.write(`${line}\n`),
    signal: stop.signal,
  }).then(
    (code) => process.exit(code),
    (error: unknown) => {
      // the name only: a message could quote a request
      process.stderr.write(`keys:check: failed (${error instanceof Error ? error.name : 'error'})\n`);
      process.exit(stop.signal.aborted ? 130 : 1);
    },
  );
}
