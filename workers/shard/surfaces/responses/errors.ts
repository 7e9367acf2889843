/**
 * Errors on the Responses surface, in OpenAI's shape (`{"error":{"message","type","param","code"}}`) with the type
 * the status implies (`openAIErrorType`), so the `openai` SDK raises its usual classes and Codex prints the message.
 * Google's errors are passed on the way the OpenAI-compatible routes pass them (`../openai/errors.ts`); a stream that
 * has begun ends instead in a `response.failed` event carrying the error.
 */
import { type HeadersLike, jsonResponse, openAIErrorType } from '../../../shared/http';
import { toOpenAIError } from '../openai/errors';
import type { ResponsesFailure } from './responses-types';

export function responsesFailure(status: number, code: string, message: string, param?: string): ResponsesFailure {
  return { ok: false, status, code, message, ...(param !== undefined ? { param } : {}) };
}

/** A request the surface cannot translate (a 400 naming the field, as `Invalid` carries it: `input[2].type: …`). */
export function invalidRequest(message: string): ResponsesFailure {
  const param = /^([A-Za-z_][\w.[\]]*): /.exec(message)?.[1];
  return responsesFailure(400, 'invalid_request', message, param);
}

/** The JSON error response for a failure, with the request id where OpenAI's clients look for one. */
export function failureResponse(failure: ResponsesFailure, headers: HeadersLike = {}): Response {
  return jsonResponse(
    failure.status,
    {
      error: {
        message: failure.message,
        type: openAIErrorType(failure.status),
        param: failure.param ?? null,
        code: failure.code,
      },
    },
    headers,
  );
}

/** Google's error answer (or the gateway's own OpenAI-shaped one) as a failure, secrets redacted. */
export function failureFromBody(status: number, text: string, secrets: readonly string[]): ResponsesFailure {
  const { error } = toOpenAIError(status, text, secrets);
  return responsesFailure(status, error.code ?? 'upstream_error', error.message);
}

/**
 * The `error.code` of a response that failed mid-stream: OpenAI's codes for what clients act on (Codex retries a
 * `server_error` and stops on others), the gateway's own otherwise.
 */
export function streamErrorCode(status: number): string {
  if (status === 429) return 'rate_limit_exceeded';
  return status >= 500 ? 'server_error' : 'invalid_prompt';
}
