/**
 * Google's error bodies, worded as Google words them, and which behaviour answers a call with which.
 *
 * @module
 */
import type { FakeBehaviour } from './behaviours';
import { parseJsonObject, type Surface } from './call';
import { protoDuration, type Admission } from './rate-limit';

/** The inner `error` object of Google's error bodies. */
export interface GoogleErrorObject {
  code: number;
  message: string;
  status: string;
  details?: unknown[];
}

/** `retryDelay` in per-minute quota errors, as Google words it. */
export const FAKE_RETRY_DELAY = '17s';

/** The project number the fake's SERVICE_DISABLED and BILLING_DISABLED answers name. */
export const FAKE_PROJECT_NUMBER = '123456789012';

const QUOTA_MESSAGE =
  'You exceeded your current quota, please check your plan and billing details. For more information on this ' +
  'error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.';

const PER_MINUTE_QUOTA = 'GenerateRequestsPerMinutePerProjectPerModel-FreeTier';

const QUOTA_HELP = {
  '@type': 'type.googleapis.com/google.rpc.Help',
  links: [
    { description: 'Learn more about Gemini API quotas', url: 'https://ai.google.dev/gemini-api/docs/rate-limits' },
  ],
};

/** Google's 429 body: which quota tripped (`QuotaFailure`), where to read about it, and how long to wait. */
export function quotaExhausted(
  model: string,
  quotaId: string,
  quotaValue: string | undefined,
  retryDelay: string,
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
            // Google leaves it out of some 429s (google-gemini/gemini-cli#8437)
            ...(quotaValue !== undefined ? { quotaValue } : {}),
          },
        ],
      },
      QUOTA_HELP,
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
export interface CallShape {
  readonly surface: Surface;
  readonly method: string;
  readonly model: string;
  readonly apiKey: string;
  readonly body: string;
  readonly retryDelay: string;
}

function invalidKey(): GoogleErrorObject {
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
}

function suspendedKey({ apiKey }: CallShape): GoogleErrorObject {
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
}

function unauthenticated(): GoogleErrorObject {
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
}

function serviceDisabled(): GoogleErrorObject {
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

function billingDisabled(): GoogleErrorObject {
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

function echoUnknownFields(call: CallShape): GoogleErrorObject | undefined {
  const parsed = parseJsonObject(call.body);
  const unknown = parsed ? Object.keys(parsed).filter((name) => !KNOWN_FIELDS[call.surface].has(name)) : [];
  return unknown.length > 0 ? unknownFieldsError(unknown) : undefined;
}

/** The error each failing behaviour answers with; undefined lets the call through (to a success or a broken one). */
const ERROR_OF: Readonly<Partial<Record<FakeBehaviour, (call: CallShape) => GoogleErrorObject | undefined>>> = {
  'quota-minute': (call) => quotaExhausted(call.model, PER_MINUTE_QUOTA, '10', call.retryDelay),
  // real per-day bodies also carry a short RetryInfo; honouring it would hammer a key that is out until midnight
  'quota-day': (call) => quotaExhausted(call.model, 'GenerateRequestsPerDayPerProjectPerModel-FreeTier', '250', '43s'),
  'invalid-key': invalidKey,
  'leaked-key': () => ({
    code: 403,
    message: 'Your API key was reported as leaked. Please use another API key.',
    status: 'PERMISSION_DENIED',
  }),
  'suspended-key': suspendedKey,
  'denied-quoting-key': (call) =>
    call.method === 'GET'
      ? undefined
      : {
          code: 403,
          message: `Permission denied: Consumer 'api_key:${call.apiKey}' cannot access this resource, or it may not exist.`,
          status: 'PERMISSION_DENIED',
        },
  'internal-500': () => ({
    code: 500,
    message:
      'An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting',
    status: 'INTERNAL',
  }),
  'overloaded-503': () => ({
    code: 503,
    message: 'The model is overloaded. Please try again later.',
    status: 'UNAVAILABLE',
  }),
  'unauthenticated-401': unauthenticated,
  'service-disabled-403': serviceDisabled,
  'billing-disabled-403': billingDisabled,
  // a free-tier project asking for a model its tier does not include; the RetryInfo is as short as ever
  'quota-zero': ({ model }) =>
    quotaExhausted(
      model,
      PER_MINUTE_QUOTA,
      '0',
      '27s',
      `${QUOTA_MESSAGE}\n* Quota exceeded for metric: generativelanguage.googleapis.com/generate_content_free_tier_requests, limit: 0, model: ${model}`,
    ),
  'quota-bare-429': () => ({
    code: 429,
    message: 'Resource has been exhausted (e.g. check quota).',
    status: 'RESOURCE_EXHAUSTED',
  }),
  'location-400': () => ({
    code: 400,
    message: 'User location is not supported for the API use.',
    status: 'FAILED_PRECONDITION',
  }),
  'resource-denied-403': (call) =>
    call.method === 'GET'
      ? undefined
      : {
          code: 403,
          message: 'You do not have permission to access the File 2fk3n0bq8xyz or it may not exist.',
          status: 'PERMISSION_DENIED',
        },
  'echo-unknown-field': echoUnknownFields,
  'bad-request-400': () => ({
    code: 400,
    message: "Invalid value at 'contents[0].parts[0]': the fake was told to reject this request.",
    status: 'INVALID_ARGUMENT',
    details: [
      {
        '@type': 'type.googleapis.com/google.rpc.BadRequest',
        fieldViolations: [{ field: 'contents[0].parts[0]', description: 'the fake was told to reject this request' }],
      },
    ],
  }),
};

/** The error `b` answers `call` with, or undefined when the call goes on to the surface. */
export function googleError(b: FakeBehaviour, call: CallShape): GoogleErrorObject | undefined {
  return ERROR_OF[b]?.(call);
}

/**
 * The 429 for a call of `apiKey` (in `project`) that `admission` refuses, worded as Google's per-minute quota error
 * (its quota id says `PerProjectPerModel`: every key of the project shares the window), or undefined when admitted.
 */
export function admissionError(
  admission: Admission | undefined,
  project: string,
  apiKey: string,
  model: unknown,
): GoogleErrorObject | undefined {
  // `models/x` and `x` are one model, with one quota
  const name = typeof model === 'string' ? model.replace(/^models\//, '') : 'gemini-3.8-flash';
  const refusal = admission?.(project, name, apiKey);
  if (!refusal) return undefined;
  const value = refusal.limit === undefined ? undefined : String(refusal.limit);
  return quotaExhausted(name, PER_MINUTE_QUOTA, value, protoDuration(refusal.retryDelayMs));
}

/** Google's answer to a call that carries no API key at all. */
export const UNREGISTERED_CALLER: GoogleErrorObject = {
  code: 403,
  message:
    "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or " +
    'other form of API consumer identity to call this API.',
  status: 'PERMISSION_DENIED',
};
