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

/** Whether `response` is a shard's pool refusal: a 429 or 503 carrying `x-zen-pool: exhausted`. */
export function isPoolRefusal(response: Pick<Response, 'status' | 'headers'>): boolean {
  return (response.status === 429 || response.status === 503) && response.headers.get(POOL_HEADER) === POOL_EXHAUSTED;
}
