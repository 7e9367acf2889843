/**
 * Errors on the Anthropic surface. Every error there, the gateway's own and Google's, is Anthropic's
 * `{"type":"error","error":{"type","message"}}` with Anthropic's type for the status, so the Anthropic SDKs raise
 * their usual error classes and Claude Code prints the message. Statuses are kept as the gateway answered them:
 * headers that steer clients and the orchestrator (`retry-after`, `x-should-retry`, `x-zen-pool`) depend on them.
 */
import { anthropicErrorType } from '../../../shared/error-shapes';
import { jsonResponse, type HeadersLike } from '../../../shared/http';
import { redact } from '../../core/redaction';
import { googleErrorOf } from '../../core/key-faults';
import type { AnthropicErrorBody, AnthropicFailure } from './anthropic-types';

export { anthropicErrorType };

/** An error answer with Anthropic's type for `status`. */
export function anthropicFailure(status: number, message: string): AnthropicFailure {
  return { ok: false, status, body: { type: 'error', error: { type: anthropicErrorType(status), message } } };
}

/** The JSON response for a failure; `headers` (e.g. `retry-after`) are added to it. */
export function anthropicErrorResponse(failure: AnthropicFailure, headers: HeadersLike = {}): Response {
  return jsonResponse(failure.status, failure.body, headers);
}

/** The SSE event that ends a stream with an error, as Anthropic's API sends it (`event: error`). */
export function anthropicErrorEvent(body: AnthropicErrorBody): string {
  return `event: error\ndata: ${JSON.stringify(body)}\n\n`;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** The `error.message` of an OpenAI-shaped body (what the gateway's own refusals are). */
function openAIMessageOf(body: unknown): string | undefined {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return undefined;
  const error = (body as { error?: unknown }).error;
  if (!error || typeof error !== 'object') return undefined;
  const message = (error as { message?: unknown }).message;
  return typeof message === 'string' ? message : undefined;
}

/**
 * Turns any error body the pipeline produces into Anthropic's shape: Google's (`{"error":{code,message,status}}`,
 * also inside an array) is named as Gemini's, the gateway's own OpenAI-shaped refusals keep their message. Secrets
 * are redacted from whatever text is passed on.
 */
export function anthropicFailureFromBody(status: number, text: string, secrets: readonly string[]): AnthropicFailure {
  const parsed = parseJson(text);
  const google = googleErrorOf(parsed);
  if (google?.message !== undefined && (google.status !== undefined || google.code !== undefined)) {
    const label = google.status ?? `HTTP ${google.code ?? status}`;
    return anthropicFailure(status, `Gemini ${label}: ${redact(google.message, secrets)}`);
  }
  const own = openAIMessageOf(parsed);
  if (own !== undefined) return anthropicFailure(status, redact(own, secrets));
  return anthropicFailure(status, `Gemini returned HTTP ${status} with a body that is not a Gemini error.`);
}

/**
 * Re-shapes an error response of the pipeline (the gateway's refusal or Google's error) for the Anthropic surface.
 * Status and headers are kept (`retry-after`, `x-should-retry`, `allow`, `x-zen-pool`, …); only the body and its
 * `content-type` change. `requestId` goes into the body's `request_id`, where Anthropic's clients look for it.
 */
export async function toAnthropicErrorResponse(
  response: Response,
  secrets: readonly string[],
  requestId?: string,
): Promise<Response> {
  const text = await response.text().catch(() => '');
  const failure = anthropicFailureFromBody(response.status, text, secrets);
  const headers = new Headers(response.headers);
  headers.delete('content-length');
  const body: AnthropicErrorBody = requestId === undefined ? failure.body : { ...failure.body, request_id: requestId };
  return jsonResponse(failure.status, body, headers);
}
