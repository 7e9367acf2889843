/**
 * The gateway's own errors in the shape each kind of client parses: OpenAI's error object, Google's (`google.rpc`
 * Status with an ErrorInfo naming the gateway's code), or Anthropic's. The shard renders its refusals with these in
 * the shape its surface declares; the orchestrator, which has no surface registry, picks the shape from the path
 * (`errorShapeOfPath`), so a native client's 502 is still Google's error object. Status and headers are the same in
 * every shape, so `retry-after` and `x-zen-pool` steer clients and the orchestrator alike.
 */
import { jsonError, jsonResponse, openAIErrorType } from './http';

/** The error body a client reads. */
export type ErrorShape = 'openai' | 'google' | 'anthropic';

/** What the gateway refuses with: status, its own error code (logged, and in the body), message and headers. */
export interface GatewayError {
  readonly status: number;
  readonly code: string;
  readonly message: string;
  readonly headers: Readonly<Record<string, string>>;
}

/**
 * Google's canonical status name (`google.rpc.Code`) for each HTTP status the gateway answers with: the mapping of
 * Google's API design guide, and for the statuses it has no row for, the code Google uses for the same condition (a
 * body too large is `INVALID_ARGUMENT` on Gemini, a resource gone `NOT_FOUND`).
 */
const GOOGLE_STATUS: Readonly<Record<number, string>> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  405: 'UNIMPLEMENTED',
  409: 'ABORTED',
  410: 'NOT_FOUND',
  413: 'INVALID_ARGUMENT',
  414: 'INVALID_ARGUMENT',
  416: 'OUT_OF_RANGE',
  426: 'FAILED_PRECONDITION',
  429: 'RESOURCE_EXHAUSTED',
  499: 'CANCELLED',
  500: 'INTERNAL',
  501: 'UNIMPLEMENTED',
  502: 'UNAVAILABLE',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

/** Google's status name for an HTTP status. */
export function googleStatus(status: number): string {
  return GOOGLE_STATUS[status] ?? (status >= 500 ? 'INTERNAL' : 'FAILED_PRECONDITION');
}

/** The `domain` of the ErrorInfo that carries the gateway's own code, as Google's carry `googleapis.com`. */
export const ERROR_DOMAIN = 'zen-ai-router';

/** Anthropic's error types (its documented table). */
export type AnthropicErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'billing_error'
  | 'permission_error'
  | 'not_found_error'
  | 'request_too_large'
  | 'rate_limit_error'
  | 'timeout_error'
  | 'api_error'
  | 'overloaded_error';

const ANTHROPIC_TYPES: Readonly<Record<number, AnthropicErrorType>> = {
  401: 'authentication_error',
  402: 'billing_error',
  403: 'permission_error',
  404: 'not_found_error',
  408: 'timeout_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  503: 'overloaded_error',
  504: 'timeout_error',
  529: 'overloaded_error',
};

/** Anthropic's error type for an HTTP status (503 is "overloaded", as 529 is there). */
export function anthropicErrorType(status: number): AnthropicErrorType {
  return ANTHROPIC_TYPES[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error');
}

/**
 * Google's error object, its details as Google writes them: an ErrorInfo whose `reason` is the gateway's code, a
 * RequestInfo with the request id (`@google/genai` puts the whole body in its error's message, so a pasted error names
 * the log line), and a RetryInfo when the error says when to retry, which Gemini's clients read on a 429.
 */
function googleError(e: GatewayError, requestId: string): Response {
  const details: Record<string, string>[] = [
    { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: e.code, domain: ERROR_DOMAIN },
    { '@type': 'type.googleapis.com/google.rpc.RequestInfo', requestId },
  ];
  const retryAfter = e.headers['retry-after'];
  if (retryAfter !== undefined && /^[0-9]+$/.test(retryAfter)) {
    details.push({ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: `${retryAfter}s` });
  }
  const body = { error: { code: e.status, message: e.message, status: googleStatus(e.status), details } };
  return jsonResponse(e.status, body, e.headers);
}

/**
 * `e` in `shape`. Anthropic's body carries the request id too, as Anthropic's API names the request in its error
 * bodies, so a pasted error can be matched to the log line.
 */
export function shapedError(e: GatewayError, shape: ErrorShape, requestId: string): Response {
  switch (shape) {
    case 'google':
      return googleError(e, requestId);
    case 'anthropic': {
      const body = { type: 'error', error: { type: anthropicErrorType(e.status), message: e.message } };
      return jsonResponse(e.status, { ...body, request_id: requestId }, e.headers);
    }
    case 'openai':
      return jsonError(e.status, e.message, openAIErrorType(e.status), e.code, e.headers);
  }
}

// Google's native API (`/v1beta`, `/v1alpha`), its upload and download hosts' paths, and the Live API's socket
const NATIVE_PATH = /^\/(?:upload\/|download\/)?v1(?:beta|alpha)\/|^\/ws\//;

/**
 * The shape a client on `pathname` parses, for errors answered before a shard's surface is known: Anthropic's on its
 * Messages routes, Google's on the native ones, OpenAI's everywhere else (`/v1/...` and the gateway's own routes).
 */
export function errorShapeOfPath(pathname: string): ErrorShape {
  if (pathname === '/v1/messages' || pathname.startsWith('/v1/messages/')) return 'anthropic';
  return NATIVE_PATH.test(pathname) ? 'google' : 'openai';
}

/** Where an error goes: the URL it answers (its path says the shape), the request id, and the answer's headers. */
export interface ErrorReply {
  readonly url: URL;
  readonly requestId: string;
  readonly headers: Readonly<Record<string, string>>;
}

/** The gateway's error `code` with `status` and `message`, as `reply`'s client reads it. */
export function replyError(reply: ErrorReply, status: number, code: string, message: string): Response {
  const shape = errorShapeOfPath(reply.url.pathname);
  return shapedError({ status, code, message, headers: reply.headers }, shape, reply.requestId);
}
