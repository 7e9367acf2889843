/**
 * The Durable Object that keeps one limited client's request bucket (`./request-bucket.ts`) for every isolate of every
 * shard: the shards address it by the client's name (`idFromName`), so all of a client's requests meet in one object,
 * which Cloudflare runs in one place and one thread at a time. Thin on purpose: it reads the bucket's one number from
 * storage once, asks the pure functions with its own clock, and writes the new number back.
 *
 * The number is written on every change, not kept in memory alone: an object that receives nothing for a few seconds
 * may be hibernated and lose its memory, and a client that paused that long would find a full bucket. The class is a
 * SQLite-backed one (`new_sqlite_classes`), the kind Workers Free allows; it uses the key-value calls, which SQLite
 * storage serves.
 *
 * @module
 */
import { type ClientLimit, MAX_CLIENT_RPM } from '../../shared/contract';
import { jsonResponse } from '../../shared/http';
import { refundRequest, takeRequest } from './request-bucket';

/** Asks for one request; the answer is a {@link LimiterAnswer}. */
export const TAKE_PATH = '/take';
/** Gives one admitted request back; answers 204. */
export const REFUND_PATH = '/refund';

/** What the shard sends: the limit in force, so a changed `CLIENT_LIMITS` applies from the next request. */
export type LimiterCall = ClientLimit;

export type LimiterAnswer = { readonly admitted: true } | { readonly admitted: false; readonly retryAfterMs: number };

/** The storage calls this object makes (a Durable Object's `ctx.storage`, or a stand-in in unit tests). */
export interface BucketStorage {
  get<T>(key: string): Promise<T | undefined>;
  put<T>(key: string, value: T): Promise<void>;
}

/** The part of `DurableObjectState` this object uses. */
export interface LimiterState {
  readonly storage: BucketStorage;
}

const TAT_KEY = 'tat';

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= MAX_CLIENT_RPM;
}

/** The limit a call carries, or undefined when the body is not one. */
async function limitOf(request: Request): Promise<ClientLimit | undefined> {
  const body: unknown = await request.json().catch(() => undefined);
  if (body === null || typeof body !== 'object') return undefined;
  const { rpm, burst } = body as Record<string, unknown>;
  return isCount(rpm) && isCount(burst) ? { rpm, burst } : undefined;
}

/** One object per limited client; the class the `CLIENT_LIMITER` binding names. */
export class ClientRateLimiter {
  private tat: number | undefined;

  constructor(
    private readonly state: LimiterState,
    _env?: unknown,
  ) {}

  /** The bucket's number, read from storage on the object's first call after it started. */
  private async currentTat(): Promise<number> {
    if (this.tat === undefined) {
      const stored = await this.state.storage.get<number>(TAT_KEY);
      this.tat ??= typeof stored === 'number' && Number.isFinite(stored) ? stored : 0;
    }
    return this.tat;
  }

  private remember(tat: number): void {
    this.tat = tat;
    // not awaited: the runtime holds the response until the write is durable, and keeps the order of writes
    void this.state.storage.put(TAT_KEY, tat);
  }

  async fetch(request: Request): Promise<Response> {
    const path = new URL(request.url).pathname;
    const limit = request.method === 'POST' ? await limitOf(request) : undefined;
    if (limit === undefined || (path !== TAKE_PATH && path !== REFUND_PATH)) {
      return new Response(null, { status: 400 });
    }
    const tat = await this.currentTat();
    const now = Date.now();
    if (path === REFUND_PATH) {
      this.remember(refundRequest(tat, now, limit));
      return new Response(null, { status: 204 });
    }
    const decision = takeRequest(tat, now, limit);
    if (decision.admitted) this.remember(decision.tat);
    const answer: LimiterAnswer = decision.admitted
      ? { admitted: true }
      : { admitted: false, retryAfterMs: decision.retryAfterMs };
    return jsonResponse(200, answer);
  }
}
