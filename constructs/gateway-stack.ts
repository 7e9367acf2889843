import { TerraformOutput, TerraformStack, TerraformVariable } from 'cdktf';
import type { Construct } from 'constructs';
import { CloudflareProvider } from '@cdktf/provider-cloudflare/lib/provider';
import type { WorkersScript } from '@cdktf/provider-cloudflare/lib/workers-script';
import { declareClientTokens } from './client-tokens';
import { limitedClients } from './client-limits';
import { WORKERS_PLANS, type WorkersPlan } from './limits';
import type { ShardSettings } from './shard-worker';
import { DEFAULT_NAME_PREFIX } from './names';
import { addStateBackend, type StateConfig } from './state-backend';
import * as rules from './validate';
import { MIN_PASS_LENGTH } from '../workers/shared/contract';

/**
 * Props both deployments share. The {@link ShardSettings} (upstream, timeouts, model map, logging, compatibility date,
 * placement) are documented on `ShardWorkerProps` and passed unchanged to every shard worker; `logSamplingRate` and
 * `compatibilityDate` also to the orchestrator.
 */
export interface GatewayStackProps extends ShardSettings {
  /** How many API keys `TF_VAR_api_keys` must hold; the plan fails on any other count. */
  readonly keyCount: number;

  /**
   * The Google project of each key, one label per key in key order (`['a', 'a', 'b']`; labels as client names:
   * lowercase letters, digits, `_`, `-`). Google counts rate limits per project, so a project's keys are placed in one
   * shard where they fit, each shard is weighted by its share of the projects, and every worker is told the layout
   * (bound as `KEY_PROJECTS` and `KEYS_PER_SHARD`, two environment variables each).
   *
   * @default - none: every key is its own project, the keys are placed in order and nothing more is bound
   */
  readonly keyProjects?: readonly string[];

  /** Where Terraform keeps this stack's state (it holds the keys in plaintext). */
  readonly state: StateConfig;

  /**
   * Default of the `account_id` variable.
   *
   * @default - none: synth works, `terraform plan` fails until `TF_VAR_account_id` is set
   */
  readonly accountId?: string;

  /**
   * Which plan's limits to validate against.
   *
   * @default 'free'
   */
  readonly workersPlan?: WorkersPlan;

  /**
   * Prefix of every worker name.
   *
   * @default 'zen-ai-router'
   */
  readonly namePrefix?: string;

  /**
   * The account's workers.dev subdomain (the `<sub>` of `<name>.<sub>.workers.dev`), default of the
   * `workers_dev_subdomain` variable; provider 5.14 has no data source to read it.
   *
   * @default - none: the `public_worker_url` output is empty
   */
  readonly workersDevSubdomain?: string;
}

/** Terraform variables both deployments declare. Secret values only ever arrive through `TF_VAR_*`. */
export interface GatewayInputs {
  readonly apiKeys: TerraformVariable;
  readonly pass: TerraformVariable;
  /** named client tokens accepted alongside `pass` (`TF_VAR_client_tokens`, default none) */
  readonly clientTokens: TerraformVariable;
  readonly accountId: TerraformVariable;
  readonly workersDevSubdomain: TerraformVariable;
}

/** Provider, backend, variables and outputs shared by {@link ProdStack} and {@link PreviewStack}. */
export abstract class GatewayStack extends TerraformStack {
  protected readonly inputs: GatewayInputs;
  protected readonly plan: WorkersPlan;
  protected readonly namePrefix: string;

  protected constructor(scope: Construct, id: string, props: GatewayStackProps) {
    super(scope, id);
    this.plan = props.workersPlan ?? 'free';
    this.namePrefix = props.namePrefix ?? DEFAULT_NAME_PREFIX;
    rules.assertValid([
      rules.positiveInteger('keyCount', props.keyCount),
      rules.oneOf('workersPlan', this.plan, WORKERS_PLANS),
      rules.nonEmpty('namePrefix', this.namePrefix),
      props.workersDevSubdomain === undefined
        ? undefined
        : rules.dnsLabel('workersDevSubdomain', props.workersDevSubdomain),
      props.keyProjects === undefined ? undefined : rules.projectLabels('keyProjects', props.keyProjects),
      props.keyProjects === undefined
        ? undefined
        : rules.projectsPerKey({ keyProjects: 'keyProjects', keyCount: 'keyCount' }, props.keyProjects, props.keyCount),
    ]);

    // the API token comes from CLOUDFLARE_API_TOKEN in the environment, never from the synthesized JSON.
    new CloudflareProvider(this, 'cloudflare', {});
    addStateBackend(this, props.state);
    this.inputs = declareInputs(this, props);
  }

  /** Outputs for the worker users call: its name and, when the account subdomain is known, its URL. */
  protected addPublicWorkerOutputs(script: WorkersScript): void {
    new TerraformOutput(this, 'public_worker_name', {
      value: script.scriptName,
      description: 'the worker clients call',
    });
    const sub = this.inputs.workersDevSubdomain.fqn;
    const name = `${script.fqn}.script_name`;
    // a conditional, so an unset subdomain yields "" instead of a broken URL.
    new TerraformOutput(this, 'public_worker_url', {
      value: `\${${sub} == "" ? "" : "https://\${${name}}.\${${sub}}.workers.dev"}`,
      description: 'workers.dev URL of the public worker; empty until workers_dev_subdomain is set',
    });
  }
}

function declareInputs(stack: TerraformStack, props: GatewayStackProps): GatewayInputs {
  const keyCount = props.keyCount;
  const apiKeys = new TerraformVariable(stack, 'api_keys', {
    type: 'list(string)',
    sensitive: true,
    description: `the ${keyCount} Gemini API keys, from TF_VAR_api_keys (a JSON array)`,
    validation: [
      {
        condition: `\${length(var.api_keys) == ${keyCount}}`,
        errorMessage: `api_keys must hold exactly ${keyCount} keys (KEY_COUNT at synth): set TF_VAR_api_keys to a JSON array of ${keyCount} strings, or synth again with KEY_COUNT set to the number of keys.`,
      },
      {
        condition: '${alltrue([for k in var.api_keys : trimspace(k) != ""])}',
        errorMessage:
          'api_keys must not contain empty or blank strings: every element of TF_VAR_api_keys must be a Gemini API key.',
      },
    ],
  });
  const pass = new TerraformVariable(stack, 'pass', {
    type: 'string',
    sensitive: true,
    description: 'the password clients send as "Authorization: Bearer <pass>", from TF_VAR_pass',
    validation: [
      {
        condition: '${trimspace(var.pass) != ""}',
        errorMessage: 'pass must be a non-empty password: set TF_VAR_pass.',
      },
      {
        condition: `\${length(var.pass) >= ${MIN_PASS_LENGTH}}`,
        errorMessage: `pass must be at least ${MIN_PASS_LENGTH} characters: the gateway blanks the password out of every answer, so a short one would also blank out ordinary text; set TF_VAR_pass to a longer password.`,
      },
    ],
  });
  const clientTokens = declareClientTokens(stack, limitedClients(props.clientLimits));
  const accountId = new TerraformVariable(stack, 'account_id', {
    type: 'string',
    default: props.accountId ?? '',
    description: 'Cloudflare account id; defaults to CLOUDFLARE_ACCOUNT_ID at synth time',
    validation: [
      {
        condition: '${can(regex("^[0-9a-f]{32}$", var.account_id))}',
        errorMessage:
          'account_id must be a Cloudflare account id (32 hex characters): set CLOUDFLARE_ACCOUNT_ID before synth or TF_VAR_account_id before plan.',
      },
    ],
  });
  const workersDevSubdomain = new TerraformVariable(stack, 'workers_dev_subdomain', {
    type: 'string',
    default: props.workersDevSubdomain ?? '',
    description:
      'the account workers.dev subdomain, only used to print URLs; defaults to WORKERS_DEV_SUBDOMAIN at synth time',
  });
  return { apiKeys, pass, clientTokens, accountId, workersDevSubdomain };
}
