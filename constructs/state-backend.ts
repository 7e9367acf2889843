import { LocalBackend, S3Backend, type TerraformBackend, type TerraformStack } from 'cdktf';
import { join } from 'node:path';

/** Where a stack keeps its Terraform state. */
export type StateConfig = LocalStateConfig | S3StateConfig;

export interface LocalStateConfig {
  readonly kind: 'local';
  /** Directory for `<stack>.tfstate`; absolute, because Terraform runs inside `cdktf.out/stacks/<stack>/`. */
  readonly dir: string;
}

/** An S3-compatible bucket, Cloudflare R2 by default. Credentials come only from `AWS_*` environment variables. */
export interface S3StateConfig {
  readonly kind: 's3';
  readonly bucket: string;
  /** e.g. `https://<account_id>.r2.cloudflarestorage.com` */
  readonly endpoint: string;
  /** The state object is `<keyPrefix>/<stack>.tfstate`. */
  readonly keyPrefix: string;
  /** R2 expects `auto`. */
  readonly region: string;
}

/** S3 lock files (`use_lockfile`) arrived experimental in Terraform 1.10 and are generally available from 1.11. */
export const REQUIRED_TERRAFORM_VERSION = '>= 1.11.0';

/** Attaches the state backend for `stack`, keyed by the stack's id so prod and each preview never share state. */
export function addStateBackend(stack: TerraformStack, state: StateConfig): TerraformBackend {
  const stackName = stack.node.id;
  stack.addOverride('terraform.required_version', REQUIRED_TERRAFORM_VERSION);
  if (state.kind === 'local') {
    return new LocalBackend(stack, { path: join(state.dir, `${stackName}.tfstate`) });
  }
  // Cloudflare's documented settings for R2: it is not AWS, so every AWS-specific check is skipped.
  const backend = new S3Backend(stack, {
    bucket: state.bucket,
    key: `${state.keyPrefix}/${stackName}.tfstate`,
    region: state.region,
    endpoints: { s3: state.endpoint },
    skipCredentialsValidation: true,
    skipMetadataApiCheck: true,
    skipRegionValidation: true,
    skipRequestingAccountId: true,
    skipS3Checksum: true,
    usePathStyle: true,
  });
  // cdktf 0.21's S3BackendConfig predates `use_lockfile`; R2 supports the conditional PUT it relies on.
  backend.addOverride('use_lockfile', true);
  return backend;
}
