/**
 * The gateway's own refusals on the native routes, as Google shapes errors: `{"error":{"code","message","status",
 * "details"}}` with the gateway's code as the reason of an ErrorInfo (`workers/shard/edge/refusal.ts`).
 */
import { ERROR_DOMAIN } from '../../workers/shared/error-shapes';

/** A matcher for the gateway's refusal in Google's shape: HTTP `status`, the gateway's `reason`, and `message`. */
export function googleErrorBody(status: number, reason: string, message: unknown = expect.any(String)): unknown {
  return {
    error: {
      code: status,
      message,
      status: expect.stringMatching(/^[A-Z_]+$/),
      details: expect.arrayContaining([
        expect.objectContaining({ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason, domain: ERROR_DOMAIN }),
      ]),
    },
  };
}

/** The gateway's code in a Google-shaped body (its ErrorInfo's reason), or undefined when the body holds none. */
export function gatewayReason(body: unknown): unknown {
  const details = (body as { error?: { details?: unknown } } | undefined)?.error?.details;
  if (!Array.isArray(details)) return undefined;
  return (details as { domain?: unknown; reason?: unknown }[]).find((d) => d.domain === ERROR_DOMAIN)?.reason;
}
