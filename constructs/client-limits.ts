/**
 * Per-client fair share in the deployment (ADR 0007): the `clientLimits` shard setting (`CLIENT_LIMITS` at synth, a
 * JSON object of client name to `{"rpm": n, "burst": n}`), bound on every shard worker as the plain-text
 * `CLIENT_LIMITS`, and the `ClientRateLimiter` Durable Object that counts each limited client's requests across
 * every isolate, bound as `CLIENT_LIMITER`. One worker hosts the class (the prod stack's shard 0, or the preview
 * worker): it declares the class's migration and binds its own namespace; the other shards bind the host's namespace
 * by its script name. Provider 5.14 has no binding type for the Workers rate-limiting API, and the class is SQLite
 * backed, the kind Workers Free allows.
 *
 * The migration is declared only while the host script does not carry its tag: provider 5.14 sends `migrations` from
 * the configuration on every update of the script, and Cloudflare refuses a migration whose `old_tag` is not the
 * script's current tag, so a migration left in place would fail the next deploy of that shard. A data source lists the
 * account's scripts at plan time and the expression drops the migration once the host carries the tag.
 *
 * @module
 */
import type { WorkersScriptBindings, WorkersScriptMigrations } from '@cdktf/provider-cloudflare/lib/workers-script';
import { DataCloudflareWorkersScripts } from '@cdktf/provider-cloudflare/lib/data-cloudflare-workers-scripts';
import { Token } from 'cdktf';
import type { Construct } from 'constructs';
import { CLIENT_LIMITER_BINDING, CLIENT_LIMITER_CLASS, CLIENT_LIMITS_BINDING } from '../workers/shared/contract';

/** One client's limit as the setting gives it: requests a minute and, optionally, how many at once (default `rpm`). */
export interface ClientLimitSetting {
  readonly rpm: number;
  readonly burst?: number;
}

/** Client name to limit, as `CLIENT_LIMITS` gives it; a client not named has no limit. */
export type ClientLimitsSetting = Readonly<Record<string, ClientLimitSetting>>;

/** The tag the host's migration sets; a new migration of the class would need a new tag. */
export const CLIENT_LIMITER_MIGRATION_TAG = 'zen-client-limiter-v1';

/** Whether the setting limits any client (an empty object limits none, so it binds nothing). */
export function hasClientLimits(limits: ClientLimitsSetting | undefined): limits is ClientLimitsSetting {
  return limits !== undefined && Object.keys(limits).length > 0;
}

/** The clients the setting limits, sorted; Terraform's `client_tokens` validation demands a token for each. */
export function limitedClients(limits: ClientLimitsSetting | undefined): readonly string[] {
  return hasClientLimits(limits) ? Object.keys(limits).sort() : [];
}

/**
 * The `migrations` of the host script: the class's creation while the host does not carry the tag, else none.
 * The emulated topology reads this expression back with {@link parseLimiterMigration}.
 */
function migrationExpression(scriptsFqn: string, hostScriptName: string): string {
  const applied = `contains([for s in ${scriptsFqn}.result : s.id if s.migration_tag == "${CLIENT_LIMITER_MIGRATION_TAG}"], "${hostScriptName}")`;
  return `\${${applied} ? null : { new_tag = "${CLIENT_LIMITER_MIGRATION_TAG}", new_sqlite_classes = ["${CLIENT_LIMITER_CLASS}"] }}`;
}

const MIGRATION_EXPRESSION =
  /^\$\{contains\(\[for s in data\.cloudflare_workers_scripts\.[A-Za-z0-9_-]+\.result : s\.id if s\.migration_tag == "([^"]+)"\], "([^"]+)"\) \? null : \{ new_tag = "([^"]+)", new_sqlite_classes = \["([^"]+)"\] \}\}$/;

/**
 * The migration a host's `migrations` expression declares on a script that does not carry the tag yet (as every
 * script of a fresh emulation), or undefined when `text` is no such expression.
 */
export function parseLimiterMigration(
  text: string,
): { readonly scriptName: string; readonly newTag: string; readonly newSqliteClasses: readonly string[] } | undefined {
  const match = MIGRATION_EXPRESSION.exec(text);
  if (match === null || match[1] !== match[3]) return undefined;
  const [, , scriptName, newTag, className] = match as unknown as [string, string, string, string, string];
  return { scriptName, newTag, newSqliteClasses: [className] };
}

/** The bindings and the migration a shard worker adds for the limits, in binding order. */
export interface ClientLimiterWiring {
  readonly bindings: WorkersScriptBindings[];
  readonly migrations?: WorkersScriptMigrations;
}

/**
 * What a shard worker binds for `limits`: nothing without limits; else `CLIENT_LIMITS` and the `CLIENT_LIMITER`
 * namespace, its own (with the migration) when it hosts the class, or the host's by script name.
 *
 * @param hostScriptName - the host shard's script name (a reference, so the host is deployed first); undefined when
 * `scope` is the host
 */
export function clientLimiterWiring(
  scope: Construct,
  props: { readonly accountId: string; readonly scriptName: string },
  limits: ClientLimitsSetting | undefined,
  hostScriptName: string | undefined,
): ClientLimiterWiring {
  if (!hasClientLimits(limits)) return { bindings: [] };
  const namespace: WorkersScriptBindings = {
    name: CLIENT_LIMITER_BINDING,
    type: 'durable_object_namespace',
    className: CLIENT_LIMITER_CLASS,
    ...(hostScriptName === undefined ? {} : { scriptName: hostScriptName }),
  };
  const bindings = [{ name: CLIENT_LIMITS_BINDING, type: 'plain_text', text: JSON.stringify(limits) }, namespace];
  if (hostScriptName !== undefined) return { bindings };
  const scripts = new DataCloudflareWorkersScripts(scope, 'ClientLimiterScripts', { accountId: props.accountId });
  const migrations = Token.asAny(migrationExpression(scripts.fqn, props.scriptName)) as WorkersScriptMigrations;
  return { bindings, migrations };
}
