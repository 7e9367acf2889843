/**
 * How a shard tells the orchestrator that it refused a request from its own key pool (every key cooling, out
 * for the day, removed, none configured, or every key this request tried was rate limited or rejected). Such a
 * refusal means no billable work was done: nothing was sent to Google, or Google only refused the keys. So another
 * shard, with other keys, may safely be tried.
 *
 * @module
 */
import { POOL_EXHAUSTED, POOL_HEADER } from './contract';

// the contract defines them; re-exported so a module that sets or tests a refusal needs one import
export { POOL_EXHAUSTED, POOL_HEADER };

/**
 * Request header the orchestrator sets, to {@link REROUTE_AVAILABLE}, on a send whose pool refusal it would pass to
 * another shard (one is left to try, and the body can be sent again), and removes from every other send, a client's
 * own included. Only then may a shard decline when its projects are presumed spent for the quota window
 * (`workers/shard/core/spent-projects.ts`) instead of trying one of them; without it, the shard tries them last.
 */
export const REROUTE_HEADER = 'x-zen-reroute';
export const REROUTE_AVAILABLE = 'available';

/** Whether `response` is a shard's pool refusal: a 429 or 503 carrying `x-zen-pool: exhausted`. */
export function isPoolRefusal(response: Pick<Response, 'status' | 'headers'>): boolean {
  return (response.status === 429 || response.status === 503) && response.headers.get(POOL_HEADER) === POOL_EXHAUSTED;
}
