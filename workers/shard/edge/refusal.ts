/**
 * The worker's own refusals (status, code, message, headers) and how each surface's clients receive them, in the error
 * shape the surface declares: OpenAI's error object on the OpenAI-compatible and native routes (the gateway's
 * convention there), Anthropic's on the Anthropic routes. Status and headers are the same in every shape, so
 * `retry-after`, `x-should-retry` and `x-zen-pool` steer clients and the orchestrator alike whatever the surface.
 */
import { jsonError, openAIErrorType } from '../../shared/http';
import { POOL_EXHAUSTED, POOL_HEADER } from '../../shared/pool-refusal';
import { anthropicErrorResponse, anthropicFailure } from '../surfaces/anthropic/adapter';
import type { LineFacts, Outcome } from '../surfaces/contract';

/** A refusal: status, the worker's error code (logged; in the body on the OpenAI shape) and message, plus headers. */
export class Refusal {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly message: string,
    readonly headers: Record<string, string> = {},
  ) {}
}

/**
 * How each error shape renders a refusal, keyed by the name a surface declares (`../surfaces/registry.ts`): OpenAI's
 * error object, or Anthropic's with the request id in the body too (Anthropic's API names the request in its error
 * bodies, so a pasted error can be matched to the log line).
 */
const RENDERERS = {
  openai: (r: Refusal) => jsonError(r.status, r.message, openAIErrorType(r.status), r.code, r.headers),
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
