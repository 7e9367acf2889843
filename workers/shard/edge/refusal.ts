/**
 * The worker's own refusals (status, code, message, headers) and how each surface's clients receive them, in the error
 * shape the surface declares: OpenAI's error object on the OpenAI-compatible routes, Google's on the native Gemini
 * routes (models, resources, Live), Anthropic's on the Anthropic routes. Status and headers are the same in every
 * shape, so `retry-after`, `x-should-retry` and `x-zen-pool` steer clients and the orchestrator alike whatever the
 * surface.
 */
import { type ErrorShape, shapedError } from '../../shared/error-shapes';
import { POOL_EXHAUSTED, POOL_HEADER } from '../../shared/pool-refusal';
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

export type { ErrorShape } from '../../shared/error-shapes';

/** Marks a refusal that spent no billable upstream work, so the orchestrator may try another shard's keys. */
export const POOL_REFUSAL = { [POOL_HEADER]: POOL_EXHAUSTED } as const;

export function refusalResponse(r: Refusal, shape: ErrorShape, requestId: string): Response {
  return shapedError(r, shape, requestId);
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
