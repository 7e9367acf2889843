/**
 * Refuses to let a preview run (deploy or destroy) with prod's credentials: the preview jobs run a pull request's
 * code with the `preview` environment's secrets, so those must reach neither prod's Terraform state (every key and
 * the password, in plaintext) nor prod's Cloudflare token. The check compares identifiers, never secrets:
 *
 * - the state bucket's name (`STATE_BUCKET` as the preview job sees it, vs the declared `PROD_STATE_BUCKET`);
 * - the R2 access key id, vs the declared `PROD_R2_ACCESS_KEY_ID` (the non-secret half of an R2 token pair: it names
 *   the token and travels in clear in every signed S3 request, `Credential=<id>/...`; signing needs the secret half,
 *   which is never compared or printed);
 * - the Cloudflare API token's id, which Cloudflare's verify endpoint returns for the token (user-owned tokens at
 *   `/user/tokens/verify`, account-owned ones at `/accounts/<id>/tokens/verify`), vs the declared
 *   `PROD_CLOUDFLARE_TOKEN_ID`. The token is sent to the Cloudflare API only, never printed.
 *
 * The two PROD_ id variables may list several ids (prod's deploy and drift tokens), and a preview id matching any prod
 * id of either kind is refused: an R2 access key id is the id of its Cloudflare token.
 *
 *   tsx scripts/ci/preview-isolation.ts
 *
 * Env: STATE_BUCKET, R2_ACCESS_KEY_ID, CLOUDFLARE_API_TOKEN, CLOUDFLARE_ACCOUNT_ID (the preview's); PROD_STATE_BUCKET,
 * PROD_R2_ACCESS_KEY_ID, PROD_CLOUDFLARE_TOKEN_ID (required) and PROD_CLOUDFLARE_ACCOUNT_ID (optional), prod's
 * declared identifiers; optional GITHUB_STEP_SUMMARY. CLOUDFLARE_API_BASE_URL may point at a loopback test server.
 *
 * It fails closed: a missing declaration, a token Cloudflare does not identify, or an API that does not answer all
 * refuse the run, each with a `::error` naming what to set. This guards against a preview environment configured with
 * prod's credentials; a pull request can edit the workflow itself, so the boundary is what the preview environment
 * holds, which docs/security.md describes.
 */
import { appendFileSync } from 'node:fs';
import { escapeCommandData } from './collect-keys';

export const CLOUDFLARE_API = 'https://api.cloudflare.com/client/v4';
export const DEFAULT_VERIFY_TIMEOUT_MS = 15_000;
const SETUP_DOC = 'docs/deploy.md, "Previews apart from prod"';

/** The identifiers the check compares, as the preview job sees them (trimmed; empty means unset). */
export interface IsolationInputs {
  readonly previewBucket: string;
  readonly previewR2KeyId: string;
  readonly accountId: string;
  readonly prodBucket: string;
  /** the access key ids of prod's R2 tokens (the deploy's and the drift check's) */
  readonly prodR2KeyIds: readonly string[];
  /** the ids of prod's Cloudflare tokens (the deploy's and the drift check's) */
  readonly prodTokenIds: readonly string[];
  readonly prodAccountId: string;
}

export interface Problem {
  readonly title: string;
  readonly message: string;
}

/** What Cloudflare says about the preview's token: its id and status, or why it could not tell. */
export type TokenIdentity =
  | { readonly ok: true; readonly id: string; readonly status: string }
  | { readonly ok: false; readonly problem: Problem };

/** Cloudflare token ids are 32 hexadecimal characters; a token itself is 40 characters of another alphabet. */
const TOKEN_ID = /^[0-9a-f]{32}$/i;
/** An access key id: letters and digits, short. R2's secret half is 64 hexadecimal characters, so it never passes. */
const ACCESS_KEY_ID = /^[A-Za-z0-9]{16,40}$/;
const ACCOUNT_ID = /^[0-9a-f]{32}$/i;

/** Reads the environment; a PROD_ list variable may hold several ids, separated by commas or blanks. */
export function inputsFrom(env: NodeJS.ProcessEnv): IsolationInputs {
  const read = (name: string): string => (env[name] ?? '').trim();
  const list = (name: string): string[] =>
    read(name)
      .split(/[\s,]+/)
      .filter(Boolean);
  return {
    previewBucket: read('STATE_BUCKET'),
    previewR2KeyId: read('R2_ACCESS_KEY_ID'),
    accountId: read('CLOUDFLARE_ACCOUNT_ID'),
    prodBucket: read('PROD_STATE_BUCKET'),
    prodR2KeyIds: list('PROD_R2_ACCESS_KEY_ID'),
    prodTokenIds: list('PROD_CLOUDFLARE_TOKEN_ID'),
    prodAccountId: read('PROD_CLOUDFLARE_ACCOUNT_ID'),
  };
}

const same = (a: string, b: string): boolean => a !== '' && a.toLowerCase() === b.toLowerCase();
/** Whether `id` is one of prod's token ids or R2 access key ids (an R2 access key id is its token's id). */
const isProdId = (id: string, inputs: IsolationInputs): boolean =>
  [...inputs.prodTokenIds, ...inputs.prodR2KeyIds].some((prod) => same(id, prod));

/** Prod's declarations: present, and identifiers rather than pasted secrets (variables are readable by everyone). */
function declarationProblems(inputs: IsolationInputs): Problem[] {
  const missing = (
    [
      ['PROD_STATE_BUCKET', inputs.prodBucket],
      ['PROD_R2_ACCESS_KEY_ID', inputs.prodR2KeyIds.join('')],
      ['PROD_CLOUDFLARE_TOKEN_ID', inputs.prodTokenIds.join('')],
    ] as const
  ).filter(([, value]) => value === '');
  const problems: Problem[] = [];
  if (missing.length > 0)
    problems.push({
      title: 'prod identifiers not declared',
      message:
        `Set the repository variable(s) ${missing.map(([name]) => name).join(', ')} to prod's values, so this job can ` +
        `prove the preview environment does not hold prod's credentials (${SETUP_DOC}).`,
    });
  const pasted =
    'If it holds a secret, roll that credential now: repository variables are readable by anyone who can read the ' +
    'repository.';
  if (!inputs.prodTokenIds.every((id) => TOKEN_ID.test(id)))
    problems.push({
      title: 'PROD_CLOUDFLARE_TOKEN_ID is not a list of token ids',
      message: `PROD_CLOUDFLARE_TOKEN_ID must hold the 32-hex ids of prod's tokens, not the tokens. ${pasted}`,
    });
  if (!inputs.prodR2KeyIds.every((id) => ACCESS_KEY_ID.test(id)))
    problems.push({
      title: 'PROD_R2_ACCESS_KEY_ID is not a list of access key ids',
      message: `PROD_R2_ACCESS_KEY_ID must hold the Access Key IDs of prod's R2 tokens, not a Secret Access Key. ${pasted}`,
    });
  return problems;
}

/** The checks that need no network: declarations, the bucket and the R2 access key id. */
export function configurationProblems(inputs: IsolationInputs): Problem[] {
  const problems = declarationProblems(inputs);
  if (inputs.previewBucket === '')
    problems.push({
      title: 'no preview state bucket',
      message: `Set the STATE_BUCKET variable of the preview environment to the previews' own bucket (${SETUP_DOC}).`,
    });
  if (same(inputs.previewBucket, inputs.prodBucket))
    problems.push({
      title: "prod's state bucket",
      message:
        "The preview's STATE_BUCKET is prod's state bucket (PROD_STATE_BUCKET), which holds every prod key in " +
        `plaintext. Create a bucket for previews and set it as the preview environment's STATE_BUCKET (${SETUP_DOC}).`,
    });
  if (inputs.previewR2KeyId === '')
    problems.push({
      title: 'no preview R2 token',
      message: `Set the preview environment's R2_ACCESS_KEY_ID and R2_SECRET_ACCESS_KEY secrets (${SETUP_DOC}).`,
    });
  if (isProdId(inputs.previewR2KeyId, inputs))
    problems.push({
      title: "prod's R2 token",
      message:
        "The preview environment's R2_ACCESS_KEY_ID is one of prod's (listed in PROD_R2_ACCESS_KEY_ID or " +
        'PROD_CLOUDFLARE_TOKEN_ID). ' +
        'Create an R2 API token scoped to the preview bucket only and store its pair as the preview ' +
        `environment's R2_ACCESS_KEY_ID and R2_SECRET_ACCESS_KEY (${SETUP_DOC}).`,
    });
  return problems;
}

/** The checks on the token Cloudflare identified. */
export function tokenProblems(identity: TokenIdentity, inputs: IsolationInputs): Problem[] {
  if (!identity.ok) return [identity.problem];
  const problems: Problem[] = [];
  if (isProdId(identity.id, inputs))
    problems.push({
      title: "prod's Cloudflare token",
      message:
        "The preview environment's CLOUDFLARE_API_TOKEN is one of prod's tokens (its id is listed in " +
        'PROD_CLOUDFLARE_TOKEN_ID or PROD_R2_ACCESS_KEY_ID): a pull request could use it on prod. Create a separate token for ' +
        `previews and store it as the preview environment's CLOUDFLARE_API_TOKEN (${SETUP_DOC}).`,
    });
  if (identity.status !== 'active')
    problems.push({
      title: 'preview token not active',
      message: `Cloudflare says the preview environment's CLOUDFLARE_API_TOKEN is ${identity.status}: replace it.`,
    });
  return problems;
}

/** A plain line about the account the preview deploys to; a warning when it is prod's. */
export function accountNote(inputs: IsolationInputs): string {
  if (inputs.prodAccountId === '')
    return 'account: not compared (declare PROD_CLOUDFLARE_ACCOUNT_ID to have a shared account pointed out)';
  if (!same(inputs.accountId, inputs.prodAccountId)) return "account: previews deploy to an account other than prod's";
  return (
    "::warning title=Preview shares prod's Cloudflare account::Previews deploy to prod's account. Creating a worker " +
    "needs Workers rights over the whole account, so the preview token can still change prod's workers; a separate " +
    'account for previews closes that (docs/security.md, "Preview blast radius").'
  );
}

export interface VerifyOptions {
  /** @default {@link CLOUDFLARE_API} */
  readonly baseUrl?: string;
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** @default {@link DEFAULT_VERIFY_TIMEOUT_MS} */
  readonly timeoutMs?: number;
}

type VerifyAnswer =
  | { readonly kind: 'identified'; readonly id: string; readonly status: string }
  | { readonly kind: 'refused'; readonly status: number }
  | { readonly kind: 'unreachable'; readonly detail: string };

/** One verify call; never throws, never returns anything Cloudflare wrote but the id, the status and HTTP codes. */
async function verifyAt(url: string, token: string, options: VerifyOptions): Promise<VerifyAnswer> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_VERIFY_TIMEOUT_MS;
  let res: Response;
  try {
    res = await (options.fetch ?? fetch)(url, {
      headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
      // a redirect could carry the token elsewhere; the API never redirects
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    const err = error as { name?: unknown; cause?: { code?: unknown } };
    if (err.name === 'TimeoutError') return { kind: 'unreachable', detail: `no answer within ${timeoutMs / 1000} s` };
    const code = typeof err.cause?.code === 'string' && /^[A-Z_]+$/.test(err.cause.code) ? err.cause.code : 'error';
    return { kind: 'unreachable', detail: `no answer (${code})` };
  }
  const body = (await res.json().catch(() => undefined)) as { result?: { id?: unknown; status?: unknown } } | undefined;
  const { id, status } = body?.result ?? {};
  if (res.status === 200 && typeof id === 'string' && TOKEN_ID.test(id))
    return { kind: 'identified', id, status: typeof status === 'string' ? status : 'of unknown status' };
  if (res.status >= 400 && res.status < 500) return { kind: 'refused', status: res.status };
  return { kind: 'unreachable', detail: `answered ${res.status} without a token id` };
}

/**
 * Asks Cloudflare which token this is: the user-token endpoint first, then (a user endpoint's 4xx is what an
 * account-owned token gets) the account-token endpoint of `accountId`.
 */
export async function identifyToken(
  token: string,
  accountId: string,
  options: VerifyOptions = {},
): Promise<TokenIdentity> {
  const fail = (message: string): TokenIdentity => ({
    ok: false,
    problem: { title: 'preview token unknown', message },
  });
  if (token.trim() === '')
    return fail(
      `The preview environment has no CLOUDFLARE_API_TOKEN secret: set the previews' own token (${SETUP_DOC}).`,
    );
  const base = (options.baseUrl ?? CLOUDFLARE_API).replace(/\/$/, '');
  const retry = "A preview runs only once its token is known not to be prod's: re-run the job.";
  const user = await verifyAt(`${base}/user/tokens/verify`, token, options);
  if (user.kind === 'identified') return { ok: true, id: user.id, status: user.status };
  if (user.kind === 'unreachable')
    return fail(
      `Could not identify the preview's CLOUDFLARE_API_TOKEN: the Cloudflare API gave ${user.detail}. ${retry}`,
    );
  if (!ACCOUNT_ID.test(accountId))
    return fail(
      `Cloudflare did not verify the preview's CLOUDFLARE_API_TOKEN as a user token (${user.status}), and ` +
        'CLOUDFLARE_ACCOUNT_ID is not set to check it as an account token.',
    );
  const account = await verifyAt(`${base}/accounts/${accountId}/tokens/verify`, token, options);
  if (account.kind === 'identified') return { ok: true, id: account.id, status: account.status };
  if (account.kind === 'unreachable')
    return fail(
      `Could not identify the preview's CLOUDFLARE_API_TOKEN: the Cloudflare API gave ${account.detail}. ${retry}`,
    );
  return fail(
    `Cloudflare verified the preview's CLOUDFLARE_API_TOKEN neither as a user token (${user.status}) nor as a token ` +
      `of account CLOUDFLARE_ACCOUNT_ID (${account.status}): set a valid token for previews (${SETUP_DOC}).`,
  );
}

/** The API base URL: Cloudflare's, or a loopback test server; the token goes nowhere else. */
export function apiBaseFrom(env: NodeJS.ProcessEnv): string {
  const override = env.CLOUDFLARE_API_BASE_URL;
  if (override === undefined || override === '') return CLOUDFLARE_API;
  if (!/^http:\/\/(127\.0\.0\.1|localhost|\[::1\]):\d+(\/|$)/.test(override))
    throw new Error('CLOUDFLARE_API_BASE_URL may only name a loopback test server (http://127.0.0.1:<port>)');
  return override;
}

interface Io {
  readonly fetch?: typeof fetch;
  readonly timeoutMs?: number;
  readonly stdout: (line: string) => void;
}

/** CLI; resolves to the exit code. */
export async function main(env: NodeJS.ProcessEnv, io: Io): Promise<number> {
  const inputs = inputsFrom(env);
  const problems = configurationProblems(inputs);
  // without a declared prod token id there is nothing to compare the token with: no need to send it anywhere
  if (inputs.prodTokenIds.length > 0) {
    const options = { baseUrl: apiBaseFrom(env), fetch: io.fetch, timeoutMs: io.timeoutMs };
    const identity = await identifyToken(env.CLOUDFLARE_API_TOKEN ?? '', inputs.accountId, options);
    problems.push(...tokenProblems(identity, inputs));
  }
  for (const p of problems) io.stdout(`::error title=Preview refused (${p.title})::${escapeCommandData(p.message)}`);
  if (problems.length > 0) {
    if (env.GITHUB_STEP_SUMMARY)
      appendFileSync(
        env.GITHUB_STEP_SUMMARY,
        ["### Preview refused: its credentials may be prod's", '', ...problems.map((p) => `- ${p.message}`), ''].join(
          '\n',
        ),
      );
    return 1;
  }
  io.stdout("state bucket, R2 access key id and Cloudflare token id all differ from prod's");
  io.stdout(accountNote(inputs));
  return 0;
}

if (require.main === module) {
  main(process.env, { stdout: (line) => process.stdout.write(`${line}\n`) }).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stdout.write(
        `::error title=Preview isolation::${escapeCommandData(err instanceof Error ? err.message : 'unexpected failure')}\n`,
      );
      process.exit(1);
    },
  );
}
