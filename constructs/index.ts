// workers
export { SHARD_SETTING_NAMES, ShardWorker, shardSettingsOf } from './shard-worker';
export type { ShardLayoutBindings, ShardSettings, ShardWorkerProps } from './shard-worker';
export { describeLayout, keyRanges, shardLayoutOutput } from './shard-layout';
export type { ShardLayoutEntry } from './shard-layout';
export { Orchestrator } from './orchestrator';
export type { OrchestratorProps, IWorkerScriptRef } from './orchestrator';
export { DEFAULT_LOG_SAMPLING_RATE } from './worker-script';
export type { WorkerBundle, WorkerBundles } from './worker-bundle';
// binding names, defaults and bounds the workers share, from the one contract both sides import
export {
  CLIENT_TOKENS_BINDING,
  DEFAULT_COMPATIBILITY_DATE,
  DEFAULT_GEMINI_BASE_URL,
  DEFAULT_MAX_WAIT_MS,
  DEFAULT_SHARD_ATTEMPTS,
  DEFAULT_SHARD_TIMEOUT_MS,
  DEFAULT_UPSTREAM_TIMEOUT_MS,
  MAX_MAX_WAIT_MS,
  MAX_SHARD_ATTEMPTS,
  MAX_SHARD_KEY_COUNT,
  MAX_SHARD_TIMEOUT_MS,
  MAX_UPSTREAM_TIMEOUT_MS,
  MIN_SHARD_TIMEOUT_MS,
  MIN_UPSTREAM_TIMEOUT_MS,
} from '../workers/shared/contract';

// stacks
export { ProdStack, DEFAULT_KEYS_PER_SHARD } from './prod-stack';
export type { ProdStackProps } from './prod-stack';
export { PreviewStack } from './preview-stack';
export type { PreviewStackProps } from './preview-stack';
export type { GatewayStackProps, GatewayInputs } from './gateway-stack';
export { addStateBackend, REQUIRED_TERRAFORM_VERSION } from './state-backend';
export { DEFAULT_ALERT_REQUESTS, UsageAlert, usageAlertFrom, usageAlertProblem } from './usage-alert';
export type { UsageAlertProps, UsageAlertSettings } from './usage-alert';
export type { StateConfig, LocalStateConfig, S3StateConfig } from './state-backend';

// limits, names and validation rules shared with config.ts
export {
  INVOCATIONS_PER_REQUEST,
  PLAN_LIMITS,
  WORKERS_PLANS,
  boundOptionalBindings,
  boundSurfaceBindings,
  maxKeysPerWorker,
  previewBoundKeyCount,
} from './limits';
export type {
  LayoutBindingName,
  PlanLimits,
  ShardWorkerBindingName,
  ShardWorkerSurfaceBindingName,
  WorkersPlan,
} from './limits';
export { DEFAULT_NAME_PREFIX, orchestratorScriptName, previewScriptName, shardCount, shardScriptName } from './names';
export { ValidationError } from './validate';
export {
  CLIENT_NAME_PATTERN,
  CLIENT_TOKEN_PATTERN,
  MAX_CLIENT_TOKENS_JSON_LENGTH,
  MIN_CLIENT_TOKEN_LENGTH,
  RESERVED_CLIENT_NAME,
  clientTokensProblem,
  declareClientTokens,
} from './client-tokens';
export {
  CLIENT_LIMITER_MIGRATION_TAG,
  hasClientLimits,
  limitedClients,
  parseLimiterMigration,
} from './client-limits';
export type { ClientLimitSetting, ClientLimitsSetting } from './client-limits';
