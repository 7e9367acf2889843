/**
 * One stack of the deploy summary in words and tables: a paragraph saying what the deploy creates, the workers
 * (public or private, keys, projects, code), their bindings by name and type, routes, alerts, outputs and the state
 * backend.
 *
 * @module
 */
import type { BackendSummary, PolicySummary, StackSummary } from './stack-summary';
import { type Format, code, count, heading, ranges, size, table } from './text-format';
import type { BindingSummary, WorkerSummary } from './worker-summary';

const KEY_BINDING = /^KEY(\d+)$/;

/** Bindings with the run of `KEY<n>` secrets folded into one entry: `KEY1–KEY8 (secret ×8)`. */
export function bindingList(bindings: readonly BindingSummary[]): string {
  const keys = bindings.filter((b) => b.type === 'secret' && KEY_BINDING.test(b.name));
  const numbers = keys.map((b) => Number(KEY_BINDING.exec(b.name)?.[1]));
  const named = ranges(numbers)
    .split(', ')
    .map((run) => run.replace(/(\d+)/g, 'KEY$1'))
    .join(', ');
  const folded = keys.length > 1 ? [`${named} (secret ×${keys.length})`] : [];
  const rest = bindings
    .filter((b) => keys.length <= 1 || !keys.includes(b))
    .map((b) => (b.calls === undefined ? `${b.name} (${b.type})` : `${b.name} (${b.type} → ${b.calls})`));
  return [...folded, ...rest].join(', ');
}

function exposure(worker: WorkerSummary): string {
  if (worker.workersDev === undefined) return 'not declared';
  return worker.workersDev.enabled ? 'public' : 'private';
}

function describeWorker(worker: WorkerSummary, format: Format): string {
  const name = code(worker.scriptName, format);
  const keys = worker.keys.length === 0 ? '' : `, holding ${count(worker.keys.length, 'key')} (${ranges(worker.keys)})`;
  const where = worker.url === undefined ? 'reachable only through its bindings' : `on workers.dev at ${worker.url}`;
  return `the ${worker.workersDev?.enabled ? 'public' : 'private'} ${worker.role} ${name} (${where})${keys}`;
}

function backendWords(backend: BackendSummary, format: Format): string {
  if (backend.kind === 's3' && 'bucket' in backend)
    return `state in the S3-compatible bucket ${code(backend.bucket ?? '?', format)} at ${code(backend.key ?? '?', format)} (${backend.endpoint ?? 'default endpoint'})`;
  if (backend.kind === 'local' && 'path' in backend)
    return `local state in ${code(backend.path ?? '?', format)}: it stays on this machine`;
  return `state in a ${backend.kind} backend`;
}

/** The paragraph: what deploying the stack creates, in words. */
export function stackWords(stack: StackSummary, format: Format): string {
  const shards = stack.workers.filter((w) => w.role === 'shard');
  const others = stack.workers.filter((w) => w.role !== 'shard');
  const parts = others.map((w) => describeWorker(w, format));
  if (shards.length > 0) {
    const keys = shards.flatMap((w) => w.keys);
    const perShard = shards.map((w) => w.keys.length).join(', ');
    const visibility = shards.every((w) => w.workersDev?.enabled === false) ? 'private ' : '';
    parts.push(
      `${count(shards.length, `${visibility}shard`)} holding ${count(keys.length, 'key')} (${ranges(keys)}; ${perShard} per shard)`,
    );
  }
  const routes = stack.routes.length === 0 ? 'no routes or custom domains' : count(stack.routes.length, 'route');
  const alerts =
    stack.policies.length === 0
      ? ''
      : ` and ${count(stack.policies.length, 'notification policy', 'notification policies')}`;
  return (
    `Deploying ${code(stack.stack, format)} creates or updates ${count(stack.workers.length, 'worker')}: ` +
    `${parts.join('; ')}. It adds ${routes}${alerts}; ${backendWords(stack.backend, format)}.`
  );
}

function workerRows(stack: StackSummary): string[][] {
  return stack.workers.map((w) => [
    w.scriptName,
    w.shardIndex === undefined ? w.role : `${w.role} ${w.shardIndex}`,
    exposure(w),
    w.workersDev?.previews ? 'on' : 'off',
    w.keys.length === 0 ? '—' : `${ranges(w.keys)} (${w.keys.length})`,
    w.projects === undefined ? '—' : w.projects.join(', '),
    `${w.bindings.length} (${w.envVars} env vars)`,
    w.code.gzipBytes === undefined ? '?' : size(w.code.gzipBytes),
    w.code.sha256?.slice(0, 12) ?? '?',
  ]);
}

function policyRows(policies: readonly PolicySummary[]): string[][] {
  return policies.map((p) => [
    p.name,
    p.alertType,
    Object.entries(p.filters)
      .map(([k, v]) => `${k} = ${v.join(', ')}`)
      .join('; '),
    Object.entries(p.destinations)
      .map(([kind, n]) => `${kind} ×${n}`)
      .join(', '),
    p.enabled ? 'yes' : 'no',
  ]);
}

function requiresLine(stack: StackSummary, format: Format): string {
  const { terraform, cloudflareProvider } = stack.requires;
  return `Requires Terraform ${code(terraform ?? '?', format)} and the Cloudflare provider ${code(cloudflareProvider ?? '?', format)}.`;
}

/** The whole section of one stack. */
export function renderStack(stack: StackSummary, format: Format): string {
  const sections = [
    heading(`Stack ${stack.stack}`, 2, format),
    stackWords(stack, format),
    table(
      ['Worker', 'Role', 'workers.dev', 'Preview URLs', 'Keys', 'Projects', 'Bindings', 'Code (gzip)', 'Code SHA-256'],
      workerRows(stack),
      format,
    ),
    heading('Bindings (names and types; no value is shown)', 3, format),
    table(
      ['Worker', 'Bindings'],
      stack.workers.map((w) => [w.scriptName, bindingList(w.bindings)]),
      format,
    ),
  ];
  if (stack.routes.length > 0)
    sections.push(
      table(
        ['Kind', 'Pattern', 'Worker'],
        stack.routes.map((r) => [r.kind, r.pattern, r.worker]),
        format,
      ),
    );
  if (stack.policies.length > 0) {
    sections.push(heading('Notification policies', 3, format));
    sections.push(
      table(['Name', 'Alert type', 'Filters', 'Destinations', 'Enabled'], policyRows(stack.policies), format),
    );
  }
  if (stack.otherResources.length > 0) sections.push(`Other resources: ${stack.otherResources.join(', ')}.`);
  sections.push(heading('Outputs', 3, format));
  sections.push(
    table(
      ['Output', 'Value', 'Description'],
      stack.outputs.map((o) => [o.name, o.value, o.description ?? '']),
      format,
    ),
  );
  sections.push(requiresLine(stack, format));
  return sections.join('\n\n');
}
