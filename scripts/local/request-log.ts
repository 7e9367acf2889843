/**
 * Turns the workers' JSON log lines into one line per request for `npm start`.
 *
 * In the prod topology a request produces two lines: the orchestrator's (which shard, status, time) and the shard's
 * (which key, route). They share `requestId` but arrive in either order, so they are joined here; a request whose
 * shard wrote nothing (it threw) is printed from the orchestrator's line alone once a grace period has passed.
 *
 * @module
 */

/** One finished request as printed. */
export interface RequestSummary {
  readonly requestId: string;
  readonly status: number;
  readonly ms: number;
  /** n of `BACKEND_SERVICE_<n>`; absent for a worker served directly (preview) */
  readonly shard?: number;
  /** the shard's 1-based `KEY<n>` that served the request */
  readonly keyIndex?: number;
  readonly route?: string;
  /** the path received, on a request no route took (the shard's line has it escaped and capped) */
  readonly path?: string;
  readonly model?: string;
  /** the credential's name: `pass`, or a client token's */
  readonly client?: string;
  readonly error?: string;
  /** status view through the orchestrator: shards asked, and of those, shards that answered with their view */
  readonly queried?: number;
  readonly answered?: number;
}

/** Any line that is not a request: key events, uncaught exceptions, plain console output. */
export interface OtherLine {
  readonly text: string;
}

export interface RequestLogOptions {
  /** whether requests pass an orchestrator, whose line must be joined with the shard's */
  readonly orchestrated: boolean;
  /** how long to wait for the second line of a pair, in ms */
  readonly graceMs: number;
  readonly onRequest: (summary: RequestSummary) => void;
  readonly onOther: (line: OtherLine) => void;
}

type Fields = Record<string, unknown>;

/** The route name both workers log for `GET /zen/status`. */
const STATUS_ROUTE = 'zen.status';
/** The route name of `GET /zen`, the status page, which the orchestrator answers itself. */
const PAGE_ROUTE = 'zen.page';

interface Pending {
  readonly at: number;
  readonly orchestrator?: Fields;
  readonly shard?: Fields;
}

const num = (value: unknown): number | undefined => (typeof value === 'number' ? value : undefined);
const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

function summarize(requestId: string, orchestrator: Fields | undefined, shard: Fields | undefined): RequestSummary {
  const outer = orchestrator ?? shard ?? {};
  const summary: Record<string, unknown> = {
    requestId,
    status: num(outer.status) ?? 0,
    ms: num(outer.ms) ?? 0,
    shard: num(orchestrator?.shard),
    keyIndex: num(shard?.keyIndex),
    route: str(shard?.route) ?? str(orchestrator?.route),
    path: str(shard?.path),
    model: str(shard?.model),
    client: str(shard?.client),
    error: str(orchestrator?.error) ?? str(shard?.error),
    queried: num(orchestrator?.queried),
    answered: num(orchestrator?.answered),
  };
  return Object.fromEntries(Object.entries(summary).filter(([, v]) => v !== undefined)) as unknown as RequestSummary;
}

export class RequestLog {
  private readonly pending = new Map<string, Pending>();

  constructor(private readonly options: RequestLogOptions) {}

  /** Feeds one console line from any worker; `now` is in ms. */
  accept(message: string, now: number): void {
    let fields: Fields | undefined;
    try {
      const parsed: unknown = JSON.parse(message);
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) fields = parsed as Fields;
    } catch {
      fields = undefined;
    }
    const requestId = str(fields?.requestId);
    const event = str(fields?.event);
    if (fields === undefined || requestId === undefined || (event !== 'request' && event !== 'orchestrator_request')) {
      this.options.onOther({ text: message });
      return;
    }
    if (!this.options.orchestrated) {
      this.options.onRequest(summarize(requestId, undefined, fields));
      return;
    }
    // the status view asks every shard under one request id: the orchestrator's line stands for all of them
    if (fields.route === STATUS_ROUTE) {
      if (event === 'orchestrator_request') this.options.onRequest(summarize(requestId, fields, undefined));
      return;
    }
    const seen = this.pending.get(requestId) ?? { at: now };
    const next: Pending =
      event === 'orchestrator_request' ? { ...seen, orchestrator: fields } : { ...seen, shard: fields };
    // an orchestrator that answered by itself (no shard, the shard threw, or the status page) will get no shard line
    const alone =
      next.orchestrator !== undefined && (next.orchestrator.error !== undefined || fields.route === PAGE_ROUTE);
    const complete = (next.orchestrator && next.shard) || alone;
    if (complete) {
      this.pending.delete(requestId);
      this.options.onRequest(summarize(requestId, next.orchestrator, next.shard));
    } else {
      this.pending.set(requestId, next);
    }
  }

  /** Prints every half-joined request older than the grace period. */
  flush(now: number): void {
    for (const [requestId, entry] of this.pending) {
      if (now - entry.at < this.options.graceMs) continue;
      this.pending.delete(requestId);
      this.options.onRequest(summarize(requestId, entry.orchestrator, entry.shard));
    }
  }
}
