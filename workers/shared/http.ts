/**
 * Response helpers shared by both workers. Every error a client sees is an OpenAI-shaped JSON object so
 * the `openai` SDK (and tools built on it) can surface `error.message` instead of a parse failure.
 */

/** Anything `new Headers()` accepts; spelled this way because `HeadersInit` is not a global in Node's types. */
export type HeadersLike = ConstructorParameters<typeof Headers>[0];

/** OpenAI's error object: `{"error":{"message","type","code"}}`. */
export interface OpenAIErrorBody {
  readonly error: {
    readonly message: string;
    readonly type: string;
    readonly code: string | null;
  };
}

/**
 * OpenAI's error `type` for an HTTP status, one mapping for the workers' own refusals and Google's errors alike, so
 * SDKs classify every error the way they do OpenAI's (the `openai` SDK picks its error class by status).
 */
export function openAIErrorType(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 429) return 'rate_limit_error';
  return status >= 500 ? 'server_error' : 'invalid_request_error';
}

export function errorBody(message: string, type: string, code: string | null = null): OpenAIErrorBody {
  return { error: { message, type, code } };
}

/** A JSON response with the given status; extra headers are merged over `content-type`. */
export function jsonResponse(status: number, body: unknown, headers: HeadersLike = {}): Response {
  const merged = new Headers(headers);
  merged.set('content-type', 'application/json; charset=utf-8');
  return new Response(JSON.stringify(body), { status, headers: merged });
}

/** An OpenAI-shaped JSON error response. */
export function jsonError(
  status: number,
  message: string,
  type: string,
  code: string | null = null,
  headers: HeadersLike = {},
): Response {
  return jsonResponse(status, errorBody(message, type, code), headers);
}
