/**
 * The worker's own refusals (status, code, message, headers) and how each surface's clients receive them, in the error
 * shape the surface declares: OpenAI's error object on the OpenAI-compatible routes, Google's on the native Gemini
 * routes (models, resources, Live), Anthropic's on the Anthropic routes. Status and headers are the same in every
 * shape, so `retry-after`, `x-should-retry` and `x-zen-pool` steer clients and the orchestrator alike whatever the
 * surface.
 */
import { jsonError, jsonResponse, openAIErrorType } from '../../shared/http';
import { POOL_EXHAUSTED, POOL_HEADER } from '../../shared/pool-refusal';
import { anthropicErrorResponse, anthropicFailure } from '../surfaces/anthropic/adapter';
import type { LineFacts, Outcome } from '../surfaces/contract';

/**
 * A refusal: status, the worker's error code (logged, and in the body: OpenAI's `code`, Google's ErrorInfo `reason`),
 * message and headers.
 */
export class Refusal {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly message: string,
    readonly headers: Record<string, string> = {},
  ) {}
}

/**
 * Google's canonical status name (`google.rpc.Code`) for each HTTP status the worker answers with: the mapping of
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

/** The `domain` of the ErrorInfo that carries the worker's own code, as Google's carry `googleapis.com`. */
export const ERROR_DOMAIN = 'zen-ai-router';

/**
 * Google's error object (`{"error":{"code","message","status","details"}}`), its details as Google writes them: an
 * ErrorInfo whose `reason` is the worker's code (`invalid_api_key`, as the log line has it), a RequestInfo with the
 * request id (`@google/genai` puts the whole body in its error's message, so a pasted error names the log line), and
 * a RetryInfo when the refusal says when to retry, which Gemini's clients read on a 429.
 */
function googleError(r: Refusal, requestId: string): Response {
  const details: Record<string, string>[] = [
    { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: r.code, domain: ERROR_DOMAIN },
    { '@type': 'type.googleapis.com/google.rpc.RequestInfo', requestId },
  ];
  const retryAfter = r.headers['retry-after'];
  if (retryAfter !== undefined && /^[0-9]+$/.test(retryAfter)) {
    details.push({ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: `${retryAfter}s` });
  }
  const body = { error: { code: r.status, message: r.message, status: googleStatus(r.status), details } };
  return jsonResponse(r.status, body, r.headers);
}

/**
 * How each error shape renders a refusal, keyed by the name a surface declares (`../surfaces/registry.ts`): OpenAI's
 * error object, Google's, or Anthropic's with the request id in the body too (Anthropic's API names the request in
 * its error bodies, so a pasted error can be matched to the log line).
 */
const RENDERERS = {
  openai: (r: Refusal) => jsonError(r.status, r.message, openAIErrorType(r.status), r.code, r.headers),
  google: googleError,
  anthropic: (r: Refusal, requestId: string) => {
    const failure = anthropicFailure(r.status, r.message);
    return anthropicErrorResponse({ ...failure, body: { ...failure.body, request_id: requestId } }, r.headers);
  },
} as const satisfies Readonly<Record<string, (r: Refusal, requestId: string) => Response>>;

/** The error body a surface's clients read. */
export type ErrorShape = keyof typeof RENDERERS;

/** Marks a refusal that spent no billable upstream work, so the orchestrator may try another shard's keys. */
export const POOL_REFUSAL = { [POOL_HEADER]: POOL_EXHAUSTED } as const;

export function refusalResponse(r: Refusal, shape: ErrorShape, requestId: string): Response {
  const render: (r: Refusal, requestId: string) => Response = RENDERERS[shape];
  return render(r, requestId);
}

export function refusalOutcome(
  r: Refusal,
  shape: ErrorShape,
  requestId: string,
  extra: Partial<LineFacts> = {},
): Outcome {
  return {
    response: refusalResponse(r, shape, requestId),
    line: { attempts: 0, ...extra, status: r.status, error: r.code },
  };
}

/** A binding is missing or malformed; `problem` names the binding, never its value. */
export function misconfigured(problem: string): Refusal {
  return new Refusal(500, 'server_misconfigured', `The worker is misconfigured: ${problem}.`);
}
