import {
  discoverBackends,
  parseShardAttempts,
  parseShardTimeoutMs,
  shardWeights,
  type Backend,
  type BoundBackend,
} from '../../../workers/orchestrator/backends';
import { DEFAULT_SHARD_ATTEMPTS, DEFAULT_SHARD_TIMEOUT_MS, MAX_SHARD_ATTEMPTS } from '../../../workers/shared/contract';
import { backend, bind, ok } from '../../helpers/stub-backends';

describe('discoverBackends', () => {
  it('returns every BACKEND_SERVICE_<n> fetcher in numeric order, skipping other bindings and non-fetchers', () => {
    const fetcher = (): Backend => ({ fetch: ok });
    const env = {
      BACKEND_SERVICE_10: fetcher(),
      BACKEND_SERVICE_2: fetcher(),
      BACKEND_SERVICE_0: fetcher(),
      BACKEND_SERVICE_1: 'not a fetcher',
      BACKEND_SERVICE_03: fetcher(),
      BACKEND_SERVICE_X: fetcher(),
      SHARD_ATTEMPTS: '1',
    };
    expect(discoverBackends(env).map((b) => b.index)).toEqual([0, 2, 10]);
  });

  it('finds nothing in an empty env', () => {
    expect(discoverBackends({})).toEqual([]);
  });
});

describe('settings', () => {
  it.each([
    [undefined, DEFAULT_SHARD_ATTEMPTS],
    ['1', 1],
    ['3', 3],
    [' 2 ', 2],
    ['0', DEFAULT_SHARD_ATTEMPTS],
    ['-2', DEFAULT_SHARD_ATTEMPTS],
    ['2.5', DEFAULT_SHARD_ATTEMPTS],
    ['abc', DEFAULT_SHARD_ATTEMPTS],
    ['99', MAX_SHARD_ATTEMPTS],
  ])('SHARD_ATTEMPTS %p means %p', (raw, expected) => {
    expect(parseShardAttempts(raw)).toBe(expected);
  });

  it('SHARD_TIMEOUT_MS falls back to the default when absent or malformed', () => {
    expect(parseShardTimeoutMs('250')).toBe(250);
    expect(parseShardTimeoutMs(undefined)).toBe(DEFAULT_SHARD_TIMEOUT_MS);
    expect(parseShardTimeoutMs('0')).toBe(DEFAULT_SHARD_TIMEOUT_MS);
  });
});

describe('shardWeights (SHARD_KEY_COUNTS)', () => {
  const three = bind(...[0, 1, 2].map(() => backend(ok)));

  it('gives each bound shard its key count, by binding number', () => {
    expect(shardWeights('8,8,4', three)).toEqual({ weights: [8, 8, 4] });
    expect(shardWeights(' 8 , 0 ,4', three)).toEqual({ weights: [8, 0, 4] });
    // a gap in the bindings keeps the entry of each bound number
    const gapped: BoundBackend[] = [
      { index: 0, backend: backend(ok) },
      { index: 2, backend: backend(ok) },
    ];
    expect(shardWeights('8,8,4', gapped)).toEqual({ weights: [8, 4] });
  });

  it.each([
    [undefined, 'missing'],
    ['', 'missing'],
    ['8,8', 'malformed'],
    ['8,8,4,4', 'malformed'],
    ['8,8,x', 'malformed'],
    ['8,-1,4', 'malformed'],
    ['8,1.5,4', 'malformed'],
    ['8;8;4', 'malformed'],
    ['0,0,0', 'malformed'],
    [8, 'malformed'],
  ])('%p falls back to uniform weights, saying why (%p)', (raw, fallback) => {
    expect(shardWeights(raw, three)).toEqual({ weights: [1, 1, 1], fallback });
  });
});
