/**
 * A fake Gemini API on 127.0.0.1 for tests, local runs and benchmarks.
 *
 * It speaks the shapes Google's real endpoints use, including their failure modes, so the src worker's fix-ups and
 * key-pool logic are tested against what production sends rather than what we wish it sent:
 * - OpenAI-compatible surface under `/v1beta/openai/` (chat completions with SSE, tools carrying
 *   `extra_content.google.thought_signature`, embeddings as float arrays, models list/retrieve); its errors are a JSON
 *   ARRAY `[{"error":{...}}]`, as Google's compat endpoint really answers.
 * - Native surface under `/v1beta/models` (`:generateContent`, `:streamGenerateContent`, `:countTokens`,
 *   `:embedContent`, `:batchEmbedContents`); errors are `{"error":{...}}` with google.rpc details.
 *
 * Behaviour is chosen per API key (`setKeyBehaviour`) so one test can make one key of eight fail. Replies are
 * deterministic ({@link FAKE_REPLY_TEXT}, {@link fakeEmbeddingValues}) so tests can assert exact content and numbers.
 * The API key is never written into any response, except by the two opt-in behaviours that quote it the way some of
 * Google's messages do (`suspended-key`, `denied-quoting-key`), so a gateway's redaction can be proven end to end.
 * Behaviours about a requested resource (`resource-denied-403`, `denied-quoting-key`) answer only calls that carry
 * a request body; a model list or lookup with the same key succeeds, as it does at Google.
 *
 * Standalone: `tsx dev/fake-gemini.ts --port 8788 [--stream-chunks 5] [--chunk-delay-ms 50] [--behaviour ok]`.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { protoDuration, type Admission } from './fake-gemini-rate-limit';

export type FakeBehaviour =
  | 'ok'
  | 'quota-minute'
  | 'quota-day'
  | 'invalid-key'
  | 'leaked-key'
  | 'internal-500'
  | 'overloaded-503'
  | 'bad-request-400'
  | 'hang'
  | 'cut-stream'
  | 'malformed-json'
  /** 403 CONSUMER_SUSPENDED quoting the key, as Google words it: a key-level fault */
  | 'suspended-key'
  /** 403 PERMISSION_DENIED quoting the key without saying anything about the key: not a key-level fault */
  | 'denied-quoting-key'
  /** 401 UNAUTHENTICATED, as Google answers a credential it does not accept */
  | 'unauthenticated-401'
  /** 403 PERMISSION_DENIED, ErrorInfo SERVICE_DISABLED: the key's project has the Generative Language API off */
  | 'service-disabled-403'
  /** 403 PERMISSION_DENIED, ErrorInfo BILLING_DISABLED */
  | 'billing-disabled-403'
  /** 429 whose QuotaFailure has quotaValue "0" (and "limit: 0" in the message): no quota at all for the model */
  | 'quota-zero'
  /** 429 RESOURCE_EXHAUSTED "Resource has been exhausted (e.g. check quota)." with no details */
  | 'quota-bare-429'
  /** 400 FAILED_PRECONDITION "User location is not supported for the API use.", no details */
  | 'location-400'
  /** 403 PERMISSION_DENIED about another project's file, no details (calls with a body only) */
  | 'resource-denied-403'
  /** a redirect (`redirectStatus`, default 302) to `redirectTo` plus the request's path and query */
  | 'redirect'
  /** 400 INVALID_ARGUMENT quoting every unknown top-level field name of the request body, as Google does */
  | 'echo-unknown-field'
  /** the reply ends cleanly halfway: a stream mid-event (no blank line after it), a JSON body mid-value */
  | 'truncated-stream';

export const FAKE_BEHAVIOURS: readonly FakeBehaviour[] = [
  'ok',
  'quota-minute',
  'quota-day',
  'invalid-key',
  'leaked-key',
  'internal-500',
  'overloaded-503',
  'bad-request-400',
  'hang',
  'cut-stream',
  'malformed-json',
  'suspended-key',
  'denied-quoting-key',
  'unauthenticated-401',
  'service-disabled-403',
  'billing-disabled-403',
  'quota-zero',
  'quota-bare-429',
  'location-400',
  'resource-denied-403',
  'redirect',
  'echo-unknown-field',
  'truncated-stream',
];

export interface FakeGeminiOptions {
  /** TCP port; 0 picks a free one. @default 0 */
  port?: number;
  /** content chunks per streamed reply (before the finish chunk). @default 3 */
  streamChunks?: number;
  /** delay before each streamed chunk, in milliseconds. @default 0 */
  chunkDelayMs?: number;
  /** where the `redirect` behaviour points (the request's path and query are appended). @default 'https://redirect.invalid' */
  redirectTo?: string;
  /** the status the `redirect` behaviour answers. @default 302 */
  redirectStatus?: 301 | 302 | 303 | 307 | 308;
  /** `RetryInfo.retryDelay` of the `quota-minute` behaviour. @default {@link FAKE_RETRY_DELAY} */
  retryDelay?: string;
  /**
   * Asked once per call that its key's behaviour would serve; a refusal is answered as Google's per-minute quota 429
   * (e.g. a `WindowedRateLimit` of `dev/fake-gemini-rate-limit.ts`, for the capacity benchmark).
   * @default - every call is admitted
   */
  admission?: Admission;
  /**
   * Answers native `generateContent`, `streamGenerateContent` and `countTokens` calls before the fake, for any model:
   * a reply body (for a stream, an array of chunks, one SSE event each), a Google error as `{ error: {code, …} }`, or
   * undefined to leave the call to the fake. Key behaviours and `admission` still apply first.
   * @default - the fake's own replies only
   */
  nativeReply?: (model: string, action: string, body: Record<string, unknown>) => unknown;
}

export interface FakeGeminiCall {
  method: string;
  /** the raw request path, without the query string */
  path: string;
  /** the raw query string including `?`, or '' */
  search: string;
  /** lower-cased header names; repeated headers joined with ', ' */
  headers: Record<string, string>;
  /** from `Authorization: Bearer`, else `x-goog-api-key`, else `?key=` */
  apiKey: string | undefined;
  body: string;
}

export interface FakeGemini {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly calls: FakeGeminiCall[];
  setKeyBehaviour(key: string, b: FakeBehaviour | undefined): void;
  setDefaultBehaviour(b: FakeBehaviour): void;
  configure(o: Partial<FakeGeminiOptions>): void;
  /** clears calls, per-key behaviours, the default behaviour and stream and redirect settings */
  reset(): void;
  close(): Promise<void>;
}

/** The text of every successful reply; a streamed reply's chunks concatenate to it. */
export const FAKE_REPLY_TEXT = 'Hello from fake Gemini';
/** The model version the fake reports in native replies. */
export const FAKE_MODEL_VERSION = 'gemini-2.5-flash-fake-001';
/** The thought signature attached to every tool call; clients must send it back unchanged. */
export const FAKE_THOUGHT_SIGNATURE = 'ZmFrZS10aG91Z2h0LXNpZ25hdHVyZQ==';
/** `retryDelay` in per-minute quota errors, as Google words it. */
export const FAKE_RETRY_DELAY = '17s';
/** Models the fake knows; others get 404. The Gemini 3 ones are what the Anthropic routes map Claude models to. */
export const FAKE_MODELS: readonly string[] = [
  'gemini-2.5-flash',
  'gemini-2.5-pro',
  'gemini-embedding-001',
  'gemini-3.5-flash',
  'gemini-3.5-flash-lite',
  'gemini-3.8-flash',
];

const DEFAULT_STREAM_CHUNKS = 3;
const DEFAULT_EMBEDDING_DIMENSIONS = 4;

/**
 * The embedding of the `index`-th input. Every value is exactly representable as float32, so a base64 float32
 * round trip must reproduce these numbers exactly.
 */
export function fakeEmbeddingValues(index: number, dimensions: number = DEFAULT_EMBEDDING_DIMENSIONS): number[] {
  const base = [(index + 1) * 0.5, -0.25, 0.125, -(index + 1)];
  return Array.from({ length: dimensions }, (_, j) => base[j] ?? j / 8);
}

/** Splits {@link FAKE_REPLY_TEXT} into `n` pieces (some empty when n exceeds its length). */
export function fakeReplyPieces(n: number): string[] {
  const text = FAKE_REPLY_TEXT;
  return Array.from({ length: n }, (_, i) =>
    text.slice(Math.floor((i * text.length) / n), Math.floor(((i + 1) * text.length) / n)),
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Google error bodies

/** The inner `error` object of Google's error bodies. */
export interface GoogleErrorObject {
  code: number;
  message: string;
  status: string;
  details?: unknown[];
}

/** The project number the fake's SERVICE_DISABLED and BILLING_DISABLED answers name. */
export const FAKE_PROJECT_NUMBER = '123456789012';

const QUOTA_MESSAGE =
  'You exceeded your current quota, please check your plan and billing details. For more information on this ' +
  'error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.';

/** Google's 429 body: which quota tripped (`QuotaFailure`), where to read about it, and how long to wait. */
function quotaExhausted(
  model: string,
  quotaId: string,
  quotaValue: string,
  retryDelay: string,
  help: object,
  message = QUOTA_MESSAGE,
): GoogleErrorObject {
  return {
    code: 429,
    message,
    status: 'RESOURCE_EXHAUSTED',
    details: [
      {
        '@type': 'type.googleapis.com/google.rpc.QuotaFailure',
        violations: [
          {
            quotaMetric: 'generativelanguage.googleapis.com/generate_content_free_tier_requests',
            quotaId,
            quotaDimensions: { location: 'global', model },
            quotaValue,
          },
        ],
      },
      help,
      { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay },
    ],
  };
}

/**
 * Google's answer to a body with unknown field names: 400 INVALID_ARGUMENT quoting each name, in the message and in
 * a BadRequest field violation. The names are the client's own text, which is why a gateway must never read them.
 */
export function unknownFieldsError(names: readonly string[]): GoogleErrorObject {
  const lines = names.map(
    (name) => `Invalid JSON payload received. Unknown name ${JSON.stringify(name)}: Cannot find field.`,
  );
  return {
    code: 400,
    message: lines.join('\n'),
    status: 'INVALID_ARGUMENT',
    details: [
      {
        '@type': 'type.googleapis.com/google.rpc.BadRequest',
        fieldViolations: lines.map((description) => ({ description })),
      },
    ],
  };
}

/** Google's answer to a field value of the wrong type, quoting the value (as it does for enums and numbers). */
export function invalidValueError(field: string, value: string): GoogleErrorObject {
  const description = `Invalid value at '${field}' (TYPE_STRING), ${JSON.stringify(value)}`;
  return {
    code: 400,
    message: `Invalid JSON payload received. ${description}`,
    status: 'INVALID_ARGUMENT',
    details: [{ '@type': 'type.googleapis.com/google.rpc.BadRequest', fieldViolations: [{ field, description }] }],
  };
}

/** Top-level request fields Google knows, per surface (both spellings on the native one, as Google accepts). */
const KNOWN_FIELDS: Readonly<Record<Surface, ReadonlySet<string>>> = {
  native: new Set([
    'contents',
    'tools',
    'toolConfig',
    'tool_config',
    'safetySettings',
    'safety_settings',
    'systemInstruction',
    'system_instruction',
    'generationConfig',
    'generation_config',
    'cachedContent',
    'cached_content',
    'labels',
    'model',
    'content',
    'taskType',
    'task_type',
    'title',
    'outputDimensionality',
    'output_dimensionality',
    'requests',
    'generateContentRequest',
    'generate_content_request',
  ]),
  openai: new Set([
    'model',
    'messages',
    'stream',
    'stream_options',
    'tools',
    'tool_choice',
    'temperature',
    'top_p',
    'max_tokens',
    'max_completion_tokens',
    'n',
    'stop',
    'response_format',
    'reasoning_effort',
    'seed',
    'presence_penalty',
    'frequency_penalty',
    'extra_body',
    'user',
    'logprobs',
    'top_logprobs',
    'parallel_tool_calls',
    'input',
    'encoding_format',
    'dimensions',
    'metadata',
    'modalities',
    'audio',
    'prediction',
    'store',
    'service_tier',
    'web_search_options',
  ]),
};

/** What a call looked like, for the behaviours whose answer depends on it. */
interface CallShape {
  readonly surface: Surface;
  readonly method: string;
  readonly model: string;
  readonly apiKey: string;
  readonly body: string;
  readonly retryDelay: string;
}

function googleError(b: FakeBehaviour, call: CallShape): GoogleErrorObject | undefined {
  const { model, apiKey } = call;
  const help = {
    '@type': 'type.googleapis.com/google.rpc.Help',
    links: [
      { description: 'Learn more about Gemini API quotas', url: 'https://ai.google.dev/gemini-api/docs/rate-limits' },
    ],
  };
  switch (b) {
    case 'quota-minute':
      return quotaExhausted(model, 'GenerateRequestsPerMinutePerProjectPerModel-FreeTier', '10', call.retryDelay, help);
    case 'quota-day':
      // real per-day bodies also carry a short RetryInfo; honouring it would hammer a key that is out until midnight
      return quotaExhausted(model, 'GenerateRequestsPerDayPerProjectPerModel-FreeTier', '250', '43s', help);
    case 'invalid-key':
      return {
        code: 400,
        message: 'API key not valid. Please pass a valid API key.',
        status: 'INVALID_ARGUMENT',
        details: [
          {
            '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
            reason: 'API_KEY_INVALID',
            domain: 'googleapis.com',
            metadata: { service: 'generativelanguage.googleapis.com' },
          },
          {
            '@type': 'type.googleapis.com/google.rpc.LocalizedMessage',
            locale: 'en-US',
            message: 'API key not valid. Please pass a valid API key.',
          },
        ],
      };
    case 'leaked-key':
      return {
        code: 403,
        message: 'Your API key was reported as leaked. Please use another API key.',
        status: 'PERMISSION_DENIED',
      };
    case 'suspended-key':
      return {
        code: 403,
        message: `Permission denied: Consumer 'api_key:${apiKey}' has been suspended.`,
        status: 'PERMISSION_DENIED',
        details: [
          {
            '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
            reason: 'CONSUMER_SUSPENDED',
            domain: 'googleapis.com',
            metadata: { consumer: `api_key:${apiKey}`, service: 'generativelanguage.googleapis.com' },
          },
        ],
      };
    case 'denied-quoting-key':
      if (call.method === 'GET') return undefined;
      return {
        code: 403,
        message: `Permission denied: Consumer 'api_key:${apiKey}' cannot access this resource, or it may not exist.`,
        status: 'PERMISSION_DENIED',
      };
    case 'internal-500':
      return {
        code: 500,
        message:
          'An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting',
        status: 'INTERNAL',
      };
    case 'overloaded-503':
      return { code: 503, message: 'The model is overloaded. Please try again later.', status: 'UNAVAILABLE' };
    case 'unauthenticated-401':
      return {
        code: 401,
        message:
          'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid ' +
          'authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.',
        status: 'UNAUTHENTICATED',
        details: [
          {
            '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
            reason: 'ACCESS_TOKEN_TYPE_UNSUPPORTED',
            metadata: {
              service: 'generativelanguage.googleapis.com',
              method: 'google.ai.generativelanguage.v1beta.GenerativeService.GenerateContent',
            },
          },
        ],
      };
    case 'service-disabled-403': {
      const activationUrl = `https://console.developers.google.com/apis/api/generativelanguage.googleapis.com/overview?project=${FAKE_PROJECT_NUMBER}`;
      const message =
        `Generative Language API has not been used in project ${FAKE_PROJECT_NUMBER} before or it is disabled. Enable it by ` +
        `visiting ${activationUrl} then retry. If you enabled this API recently, wait a few minutes for the action to propagate ` +
        'to our systems and retry.';
      return {
        code: 403,
        message,
        status: 'PERMISSION_DENIED',
        details: [
          {
            '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
            reason: 'SERVICE_DISABLED',
            domain: 'googleapis.com',
            metadata: {
              consumer: `projects/${FAKE_PROJECT_NUMBER}`,
              service: 'generativelanguage.googleapis.com',
              serviceTitle: 'Generative Language API',
              containerInfo: FAKE_PROJECT_NUMBER,
              activationUrl,
            },
          },
          { '@type': 'type.googleapis.com/google.rpc.LocalizedMessage', locale: 'en-US', message },
          {
            '@type': 'type.googleapis.com/google.rpc.Help',
            links: [{ description: 'Google developers console API activation', url: activationUrl }],
          },
        ],
      };
    }
    case 'billing-disabled-403': {
      const billingUrl = `https://console.developers.google.com/billing/enable?project=${FAKE_PROJECT_NUMBER}`;
      return {
        code: 403,
        message:
          `This API method requires billing to be enabled. Please enable billing on project #${FAKE_PROJECT_NUMBER} by visiting ` +
          `${billingUrl} then retry. If you enabled billing recently, wait a few minutes for the action to propagate to our systems and retry.`,
        status: 'PERMISSION_DENIED',
        details: [
          {
            '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
            reason: 'BILLING_DISABLED',
            domain: 'googleapis.com',
            metadata: { consumer: `projects/${FAKE_PROJECT_NUMBER}`, service: 'generativelanguage.googleapis.com' },
          },
          {
            '@type': 'type.googleapis.com/google.rpc.Help',
            links: [{ description: 'Google developer console billing', url: billingUrl }],
          },
        ],
      };
    }
    case 'quota-zero':
      // a free-tier project asking for a model its tier does not include; the RetryInfo is as short as ever
      return quotaExhausted(
        model,
        'GenerateRequestsPerMinutePerProjectPerModel-FreeTier',
        '0',
        '27s',
        help,
        `${QUOTA_MESSAGE}\n* Quota exceeded for metric: generativelanguage.googleapis.com/generate_content_free_tier_requests, limit: 0, model: ${model}`,
      );
    case 'quota-bare-429':
      return { code: 429, message: 'Resource has been exhausted (e.g. check quota).', status: 'RESOURCE_EXHAUSTED' };
    case 'location-400':
      return { code: 400, message: 'User location is not supported for the API use.', status: 'FAILED_PRECONDITION' };
    case 'resource-denied-403':
      if (call.method === 'GET') return undefined;
      return {
        code: 403,
        message: 'You do not have permission to access the File 2fk3n0bq8xyz or it may not exist.',
        status: 'PERMISSION_DENIED',
      };
    case 'echo-unknown-field': {
      const parsed = parseJsonObject(call.body);
      const unknown = parsed ? Object.keys(parsed).filter((name) => !KNOWN_FIELDS[call.surface].has(name)) : [];
      return unknown.length > 0 ? unknownFieldsError(unknown) : undefined;
    }
    case 'bad-request-400':
      return {
        code: 400,
        message: "Invalid value at 'contents[0].parts[0]': the fake was told to reject this request.",
        status: 'INVALID_ARGUMENT',
        details: [
          {
            '@type': 'type.googleapis.com/google.rpc.BadRequest',
            fieldViolations: [
              { field: 'contents[0].parts[0]', description: 'the fake was told to reject this request' },
            ],
          },
        ],
      };
    default:
      return undefined;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// server

type Surface = 'openai' | 'native';

interface Settings {
  streamChunks: number;
  chunkDelayMs: number;
  redirectTo: string;
  redirectStatus: number;
  retryDelay: string;
}

interface Ctx {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  body: string;
  behaviour: FakeBehaviour;
  settings: Settings;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' });
  res.end(JSON.stringify(body));
}

function sendError(res: ServerResponse, surface: Surface, err: GoogleErrorObject): void {
  // Google's OpenAI-compatible endpoint wraps its error in an array; the native API does not
  sendJson(res, err.code, surface === 'openai' ? [{ error: err }] : { error: err });
}

/** The `redirect` behaviour: what a proxy or a hijacked host in front of Google might answer. */
function sendRedirect(res: ServerResponse, settings: Settings, rawUrl: string): void {
  res.writeHead(settings.redirectStatus, {
    location: `${settings.redirectTo.replace(/\/$/, '')}${rawUrl}`,
    'content-type': 'text/html; charset=UTF-8',
  });
  res.end('<html><body>Moved</body></html>');
}

function notFound(res: ServerResponse, surface: Surface, what: string): void {
  sendError(res, surface, { code: 404, message: what, status: 'NOT_FOUND' });
}

function parseJsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function apiKeyOf(req: IncomingMessage, url: URL): string | undefined {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice('Bearer '.length);
  const header = req.headers['x-goog-api-key'];
  if (typeof header === 'string') return header;
  return url.searchParams.get('key') ?? undefined;
}

function headerRecord(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

/**
 * Writes SSE events with the configured delay; `cut` destroys the socket halfway instead of finishing; `truncate`
 * ends the reply cleanly halfway, inside an event (half of it written, no blank line after it).
 */
async function writeSse(ctx: Ctx, events: string[], terminator: string, cut: boolean, truncate = false): Promise<void> {
  const { res, settings } = ctx;
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  res.flushHeaders();
  const cutAt = Math.max(1, Math.floor(events.length / 2));
  let flushed: Promise<void> = Promise.resolve();
  for (const [i, event] of events.entries()) {
    if (settings.chunkDelayMs > 0) await sleep(settings.chunkDelayMs);
    if (res.destroyed) return;
    if (cut && i === cutAt) {
      // let the first half reach the client before the connection drops, as a real mid-stream failure would
      await flushed;
      res.socket?.destroy();
      return;
    }
    if (truncate && i === cutAt) {
      res.end(`data: ${event.slice(0, Math.floor(event.length / 2))}`);
      return;
    }
    flushed = new Promise((resolve) => res.write(`data: ${event}${terminator}`, () => resolve()));
  }
  res.end();
}

/** A success body cut off after its first bytes, as a dropped connection looks to the client. */
function writeCutJson(res: ServerResponse, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(200, { 'content-type': 'application/json; charset=UTF-8' });
  res.write(text.slice(0, Math.floor(text.length / 2)), () => res.socket?.destroy());
}

/** A success body that ends cleanly halfway: the connection closes normally, the JSON is incomplete. */
function writeTruncatedJson(res: ServerResponse, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(200, { 'content-type': 'application/json; charset=UTF-8' });
  res.end(text.slice(0, Math.floor(text.length / 2)));
}

function sendMalformed(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'application/json; charset=UTF-8' });
  res.end('{"candidates": [{"content": {"parts": [{"text": "Hello from fa');
}

// --- OpenAI-compatible surface ---------------------------------------------------------------------------------

interface ToolCallMessage {
  role?: unknown;
  tool_calls?: Array<{ extra_content?: { google?: { thought_signature?: unknown } } }>;
}

async function handleOpenAI(ctx: Ctx, rest: string): Promise<void> {
  const { req, res } = ctx;
  if (rest === 'models' && req.method === 'GET') {
    sendJson(res, 200, {
      object: 'list',
      data: FAKE_MODELS.map((m) => ({ id: `models/${m}`, object: 'model', created: 0, owned_by: 'google' })),
    });
    return;
  }
  if (rest.startsWith('models/') && req.method === 'GET') {
    const id = rest.slice('models/'.length).replace(/^models\//, '');
    if (!FAKE_MODELS.includes(id)) return notFound(res, 'openai', `Model "${id}" not found.`);
    sendJson(res, 200, { id: `models/${id}`, object: 'model', created: 0, owned_by: 'google' });
    return;
  }
  if (req.method !== 'POST' || (rest !== 'chat/completions' && rest !== 'embeddings')) {
    return notFound(res, 'openai', `Unknown path /v1beta/openai/${rest}`);
  }
  const body = parseJsonObject(ctx.body);
  if (!body) {
    return sendError(res, 'openai', {
      code: 400,
      message: 'Invalid JSON payload received.',
      status: 'INVALID_ARGUMENT',
    });
  }
  const model = typeof body.model === 'string' ? body.model : '';
  if (!FAKE_MODELS.includes(model.replace(/^models\//, ''))) {
    return notFound(res, 'openai', `models/${model} is not found for API version v1beta, or is not supported.`);
  }
  if (rest === 'embeddings') return openAIEmbeddings(ctx, body, model);
  return openAIChat(ctx, body, model);
}

function openAIEmbeddings(ctx: Ctx, body: Record<string, unknown>, model: string): void {
  const { res } = ctx;
  // Google answers floats only; a client (or gateway) asking it for base64 is told so
  if (body.encoding_format !== undefined && body.encoding_format !== 'float') {
    sendError(res, 'openai', {
      code: 400,
      message: `Invalid value for encoding_format: ${String(body.encoding_format)}. Only "float" is supported.`,
      status: 'INVALID_ARGUMENT',
    });
    return;
  }
  const inputs = Array.isArray(body.input) ? body.input : [body.input];
  const dims = typeof body.dimensions === 'number' ? body.dimensions : DEFAULT_EMBEDDING_DIMENSIONS;
  const reply = {
    object: 'list',
    data: inputs.map((_, index) => ({ object: 'embedding', index, embedding: fakeEmbeddingValues(index, dims) })),
    model,
    usage: { prompt_tokens: inputs.length, total_tokens: inputs.length },
  };
  if (ctx.behaviour === 'malformed-json') sendMalformed(res);
  else if (ctx.behaviour === 'cut-stream') writeCutJson(res, reply);
  else if (ctx.behaviour === 'truncated-stream') writeTruncatedJson(res, reply);
  else sendJson(res, 200, reply);
}

async function openAIChat(ctx: Ctx, body: Record<string, unknown>, model: string): Promise<void> {
  const { res, settings } = ctx;
  const messages = Array.isArray(body.messages) ? (body.messages as ToolCallMessage[]) : [];
  // Gemini 3 rejects a replayed tool call whose thought signature was dropped; proves a gateway kept it intact
  for (const [i, m] of messages.entries()) {
    for (const call of m.role === 'assistant' ? (m.tool_calls ?? []) : []) {
      if (call.extra_content?.google?.thought_signature !== FAKE_THOUGHT_SIGNATURE) {
        return sendError(res, 'openai', {
          code: 400,
          message: `Function call is missing a thought_signature in functionCall parts. messages[${i}]`,
          status: 'INVALID_ARGUMENT',
        });
      }
    }
  }
  const id = 'chatcmpl-fake-0001';
  const created = 1_760_000_000;
  const last = messages.at(-1) as { role?: unknown; content?: unknown } | undefined;
  const tools = Array.isArray(body.tools) ? (body.tools as Array<{ function?: { name?: unknown } }>) : [];
  const wantsTool = tools.length > 0 && last?.role !== 'tool';
  const toolName = String(tools[0]?.function?.name ?? 'tool');
  const toolCall = {
    id: 'call_fake_0001',
    type: 'function',
    function: { name: toolName, arguments: '{"city":"Paris"}' },
    extra_content: { google: { thought_signature: FAKE_THOUGHT_SIGNATURE } },
  };
  const text = last?.role === 'tool' ? `${FAKE_REPLY_TEXT}: tool said ${String(last.content)}` : FAKE_REPLY_TEXT;
  const usage = { prompt_tokens: 5, completion_tokens: 4, total_tokens: 9 };

  if (body.stream === true) {
    const chunk = (delta: unknown, finish: string | null): string =>
      JSON.stringify({
        id,
        object: 'chat.completion.chunk',
        created,
        model,
        choices: [{ index: 0, delta, finish_reason: finish }],
      });
    const events: string[] = [];
    if (wantsTool) {
      events.push(chunk({ role: 'assistant', tool_calls: [{ index: 0, ...toolCall }] }, 'tool_calls'));
    } else {
      const pieces = last?.role === 'tool' ? [text] : fakeReplyPieces(settings.streamChunks);
      for (const [i, piece] of pieces.entries())
        events.push(chunk(i === 0 ? { role: 'assistant', content: piece } : { content: piece }, null));
      events.push(chunk({}, 'stop'));
    }
    const streamOptions = body.stream_options as { include_usage?: unknown } | undefined;
    if (streamOptions?.include_usage === true) {
      events.push(JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices: [], usage }));
    }
    if (ctx.behaviour === 'malformed-json') events.splice(1, 0, '{"id": "chatcmpl-fake-0001", "choices": [');
    events.push('[DONE]');
    return writeSse(ctx, events, '\n\n', ctx.behaviour === 'cut-stream', ctx.behaviour === 'truncated-stream');
  }

  const message = wantsTool
    ? { role: 'assistant', content: null, tool_calls: [toolCall] }
    : { role: 'assistant', content: text };
  const reply = {
    id,
    object: 'chat.completion',
    created,
    model,
    choices: [{ index: 0, message, finish_reason: wantsTool ? 'tool_calls' : 'stop' }],
    usage,
  };
  if (ctx.behaviour === 'malformed-json') return sendMalformed(res);
  if (ctx.behaviour === 'cut-stream') return writeCutJson(res, reply);
  if (ctx.behaviour === 'truncated-stream') return writeTruncatedJson(res, reply);
  sendJson(res, 200, reply);
}

// --- native surface --------------------------------------------------------------------------------------------

function nativeModel(name: string): Record<string, unknown> {
  return {
    name: `models/${name}`,
    version: '001',
    displayName: name,
    inputTokenLimit: 1_048_576,
    outputTokenLimit: 65_536,
    supportedGenerationMethods: name.includes('embedding')
      ? ['embedContent', 'batchEmbedContents']
      : ['generateContent', 'countTokens', 'streamGenerateContent'],
  };
}

function countWords(value: unknown): number {
  if (typeof value === 'string') return value.split(/\s+/).filter(Boolean).length;
  if (Array.isArray(value)) return value.reduce((n: number, v) => n + countWords(v), 0);
  if (value && typeof value === 'object') {
    return Object.entries(value).reduce(
      (n, [k, v]) => n + (k === 'text' || typeof v === 'object' ? countWords(v) : 0),
      0,
    );
  }
  return 0;
}

async function handleNative(ctx: Ctx, rest: string): Promise<void> {
  const { req, res, url, settings } = ctx;
  if (rest === 'models' && req.method === 'GET') {
    sendJson(res, 200, { models: FAKE_MODELS.map(nativeModel) });
    return;
  }
  const match = /^models\/([^/:]+)(?::([A-Za-z]+))?$/.exec(rest);
  if (!match) return notFound(res, 'native', `Unknown path /v1beta/${rest}`);
  const [, model = '', action] = match;
  if (!FAKE_MODELS.includes(model)) {
    return notFound(res, 'native', `models/${model} is not found for API version v1beta, or is not supported.`);
  }
  if (action === undefined) {
    if (req.method !== 'GET') return notFound(res, 'native', `Unknown method ${req.method ?? ''} on models/${model}`);
    sendJson(res, 200, nativeModel(model));
    return;
  }
  if (req.method !== 'POST') return notFound(res, 'native', `${action} requires POST`);
  const body = parseJsonObject(ctx.body);
  if (!body) {
    return sendError(res, 'native', {
      code: 400,
      message: 'Invalid JSON payload received.',
      status: 'INVALID_ARGUMENT',
    });
  }
  const usageMetadata = {
    promptTokenCount: countWords(body.contents),
    candidatesTokenCount: 4,
    totalTokenCount: countWords(body.contents) + 4,
  };
  const response = (text: string, finish: boolean): Record<string, unknown> => ({
    candidates: [
      { content: { parts: [{ text }], role: 'model' }, ...(finish ? { finishReason: 'STOP' } : {}), index: 0 },
    ],
    ...(finish ? { usageMetadata } : {}),
    modelVersion: FAKE_MODEL_VERSION,
    responseId: 'fake-response-0001',
  });

  let reply: unknown;
  switch (action) {
    case 'generateContent':
      reply = response(FAKE_REPLY_TEXT, true);
      break;
    case 'streamGenerateContent': {
      const pieces = fakeReplyPieces(settings.streamChunks);
      const events = pieces.map((piece, i) => JSON.stringify(response(piece, i === pieces.length - 1)));
      if (url.searchParams.get('alt') !== 'sse') {
        // without alt=sse Google streams one JSON array; tests only need its final shape
        reply = events.map((e) => JSON.parse(e) as unknown);
        break;
      }
      if (ctx.behaviour === 'malformed-json') events.splice(1, 0, '{"candidates": [');
      // Google separates native SSE events with CRLF pairs
      return writeSse(ctx, events, '\r\n\r\n', ctx.behaviour === 'cut-stream', ctx.behaviour === 'truncated-stream');
    }
    case 'countTokens':
      reply = { totalTokens: countWords(body.contents ?? body.generateContentRequest) };
      break;
    case 'embedContent': {
      const dims = typeof body.outputDimensionality === 'number' ? body.outputDimensionality : undefined;
      reply = { embedding: { values: fakeEmbeddingValues(0, dims) } };
      break;
    }
    case 'batchEmbedContents': {
      const requests = Array.isArray(body.requests) ? body.requests : [];
      reply = { embeddings: requests.map((_, i) => ({ values: fakeEmbeddingValues(i) })) };
      break;
    }
    default:
      return notFound(res, 'native', `Unknown action ${action}`);
  }
  if (ctx.behaviour === 'malformed-json') return sendMalformed(res);
  if (ctx.behaviour === 'cut-stream') return writeCutJson(res, reply);
  if (ctx.behaviour === 'truncated-stream') return writeTruncatedJson(res, reply);
  sendJson(res, 200, reply);
}

// --- admission: a quota enforced by the fake itself (dev/fake-gemini-rate-limit.ts) ----------------------------

/** The 429 for a call `admission` refuses, worded as Google's per-minute quota error, or undefined when admitted. */
function admissionError(
  admission: Admission | undefined,
  apiKey: string,
  model: unknown,
): GoogleErrorObject | undefined {
  const name = typeof model === 'string' ? model : 'gemini-2.5-flash';
  const refusal = admission?.(apiKey, name);
  if (!refusal) return undefined;
  const help = {
    '@type': 'type.googleapis.com/google.rpc.Help',
    links: [
      { description: 'Learn more about Gemini API quotas', url: 'https://ai.google.dev/gemini-api/docs/rate-limits' },
    ],
  };
  return quotaExhausted(
    name,
    'GenerateRequestsPerMinutePerProjectPerModel-FreeTier',
    String(refusal.limit),
    protoDuration(refusal.retryDelayMs),
    help,
  );
}

// --- entry -----------------------------------------------------------------------------------------------------

/** Starts the fake on 127.0.0.1. */
export async function startFakeGemini(o: FakeGeminiOptions = {}): Promise<FakeGemini> {
  const initial: Settings = {
    streamChunks: o.streamChunks ?? DEFAULT_STREAM_CHUNKS,
    chunkDelayMs: o.chunkDelayMs ?? 0,
    redirectTo: o.redirectTo ?? 'https://redirect.invalid',
    redirectStatus: o.redirectStatus ?? 302,
    retryDelay: o.retryDelay ?? FAKE_RETRY_DELAY,
  };
  let settings: Settings = { ...initial };
  let defaultBehaviour: FakeBehaviour = 'ok';
  const behaviours = new Map<string, FakeBehaviour>();
  const calls: FakeGeminiCall[] = [];

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const rawUrl = req.url ?? '/';
    const queryAt = rawUrl.indexOf('?');
    const url = new URL(rawUrl, 'http://127.0.0.1');
    const apiKey = apiKeyOf(req, url);
    calls.push({
      method: req.method ?? '',
      path: queryAt === -1 ? rawUrl : rawUrl.slice(0, queryAt),
      search: queryAt === -1 ? '' : rawUrl.slice(queryAt),
      headers: headerRecord(req),
      apiKey,
      body,
    });
    const surface: Surface = url.pathname.startsWith('/v1beta/openai/') ? 'openai' : 'native';
    if (!apiKey) {
      return sendError(res, surface, {
        code: 403,
        message:
          "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or " +
          'other form of API consumer identity to call this API.',
        status: 'PERMISSION_DENIED',
      });
    }
    const behaviour = behaviours.get(apiKey) ?? defaultBehaviour;
    if (behaviour === 'hang') return; // never answers; close() tears the socket down
    if (behaviour === 'redirect') return sendRedirect(res, settings, rawUrl);
    const model = /models\/([^/:]+)/.exec(url.pathname)?.[1] ?? parseJsonObject(body)?.model;
    const err = googleError(behaviour, {
      surface,
      method: req.method ?? '',
      model: typeof model === 'string' ? model : 'gemini-2.5-flash',
      apiKey,
      body,
      retryDelay: settings.retryDelay,
    });
    if (err) return sendError(res, surface, err);
    const refused = admissionError(o.admission, apiKey, model);
    if (refused) return sendError(res, surface, refused);

    const ctx: Ctx = { req, res, url, body, behaviour, settings };
    const [, hookModel = '', hookAction] =
      /^\/v1beta\/models\/([^/:]+):(generateContent|streamGenerateContent|countTokens)$/.exec(url.pathname) ?? [];
    const hooked = hookAction ? o.nativeReply?.(hookModel, hookAction, parseJsonObject(body) ?? {}) : undefined;
    if (hooked !== undefined) {
      const error = (hooked as { error?: GoogleErrorObject }).error;
      if (error) return sendError(res, 'native', error);
      if (hookAction !== 'streamGenerateContent') return sendJson(res, 200, hooked);
      const events = (hooked as unknown[]).map((chunk) => JSON.stringify(chunk));
      return writeSse(ctx, events, '\r\n\r\n', behaviour === 'cut-stream', behaviour === 'truncated-stream');
    }
    if (surface === 'openai') return handleOpenAI(ctx, url.pathname.slice('/v1beta/openai/'.length));
    if (url.pathname.startsWith('/v1beta/')) return handleNative(ctx, url.pathname.slice('/v1beta/'.length));
    return notFound(res, 'native', `Unknown path ${url.pathname}`);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { error: { code: 500, message: String(e), status: 'INTERNAL' } });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    setKeyBehaviour(key, b) {
      if (b === undefined) behaviours.delete(key);
      else behaviours.set(key, b);
    },
    setDefaultBehaviour(b) {
      defaultBehaviour = b;
    },
    configure(next) {
      settings = {
        streamChunks: next.streamChunks ?? settings.streamChunks,
        chunkDelayMs: next.chunkDelayMs ?? settings.chunkDelayMs,
        redirectTo: next.redirectTo ?? settings.redirectTo,
        redirectStatus: next.redirectStatus ?? settings.redirectStatus,
        retryDelay: next.retryDelay ?? settings.retryDelay,
      };
    },
    reset() {
      calls.length = 0;
      behaviours.clear();
      defaultBehaviour = 'ok';
      settings = { ...initial };
    },
    close() {
      return new Promise<void>((resolve, reject) => {
        server.close((e) => (e ? reject(e) : resolve()));
        // hung requests and keep-alive sockets would otherwise keep close() waiting forever
        server.closeAllConnections();
      });
    },
  };
}

function parseCli(argv: readonly string[]): FakeGeminiOptions & { behaviour: FakeBehaviour } {
  const opts: FakeGeminiOptions & { behaviour: FakeBehaviour } = { port: 8788, behaviour: 'ok' };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value = ''] = [argv[i], argv[i + 1]];
    const num = Number(value);
    switch (flag) {
      case '--port':
      case '--stream-chunks':
      case '--chunk-delay-ms':
        if (!Number.isInteger(num) || num < 0)
          throw new Error(`${flag} must be a non-negative integer, got "${value}"`);
        if (flag === '--port') opts.port = num;
        else if (flag === '--stream-chunks') opts.streamChunks = num;
        else opts.chunkDelayMs = num;
        break;
      case '--behaviour':
        if (!FAKE_BEHAVIOURS.includes(value as FakeBehaviour)) {
          throw new Error(`--behaviour must be one of ${FAKE_BEHAVIOURS.join(', ')}, got "${value}"`);
        }
        opts.behaviour = value as FakeBehaviour;
        break;
      default:
        throw new Error(`unknown flag "${String(flag)}"; use --port, --stream-chunks, --chunk-delay-ms, --behaviour`);
    }
  }
  return opts;
}

if (require.main === module) {
  const { behaviour, ...opts } = parseCli(process.argv.slice(2));
  void startFakeGemini(opts).then((fake) => {
    fake.setDefaultBehaviour(behaviour);
    process.stdout.write(`fake Gemini listening on ${fake.url} (default behaviour: ${behaviour})\n`);
    const stop = (): void => void fake.close().then(() => process.exit(0));
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
