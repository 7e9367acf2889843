import { INVOCATIONS_PER_REQUEST, PLAN_LIMITS } from '../../constructs';
import { SHARD_CALLS_PER_REQUEST, checkLimits } from '../../scripts/plan/limits-check';
import { summarizeStack } from '../../scripts/plan/stack-summary';
import { MAX_ATTEMPTS } from '../../workers/shard/core/upstream';
import { previewJson, prodJson, synthesized, twoKiB } from './plan-fixtures';

const prod = summarizeStack(synthesized('prod', prodJson()), twoKiB);
const preview = summarizeStack(synthesized('preview-7', previewJson()), twoKiB);
const byLimit = (checks: ReturnType<typeof checkLimits>) => checks.map((c) => [c.limit, c.where, c.value, c.max, c.ok]);

test('the plan limits of constructs/limits.ts: Cloudflare limits page figures', () => {
  expect(PLAN_LIMITS.free).toEqual({
    envVarsPerWorker: 64,
    workersPerAccount: 100,
    subrequestsPerRequest: 50,
    workerSizeBytes: 3 * 1024 * 1024,
  });
  expect(PLAN_LIMITS.paid).toMatchObject({ subrequestsPerRequest: 10_000, workerSizeBytes: 10 * 1024 * 1024 });
  expect(INVOCATIONS_PER_REQUEST).toBe(32);
  expect(SHARD_CALLS_PER_REQUEST).toBe(2 * MAX_ATTEMPTS);
});

test('prod and the preview on the free plan: every check, with the fullest worker and the worst request chain', () => {
  expect(byLimit(checkLimits([prod, preview], 'free'))).toEqual([
    ['environment variables per worker (secret + plain text)', 'zen-ai-router-worker-preview-7', 25, 64, true],
    ['workers per account', 'prod + preview-7', 5, 100, true],
    // 3 shard attempts, each a service call plus 3 key attempts and 3 probes
    ['subrequests per client request', 'zen-ai-router-orchestrator', 21, 50, true],
    ['worker invocations per client request', 'zen-ai-router-orchestrator', 4, 32, true],
    ['subrequests per client request', 'zen-ai-router-worker-preview-7', 6, 50, true],
    ['worker invocations per client request', 'zen-ai-router-worker-preview-7', 1, 32, true],
    // one row per distinct bundle
    ['worker size after gzip', 'orchestrator.js', 2048, 3 * 1024 * 1024, true],
    ['worker size after gzip', 'shard.js', 2048, 3 * 1024 * 1024, true],
  ]);
});

test("shard attempts above the free plan's subrequests are flagged; the paid plan has room", () => {
  const many = summarizeStack(synthesized('prod', prodJson({ keyCount: 80, shardAttempts: 10 })));
  const chain = (plan: 'free' | 'paid') =>
    checkLimits([many], plan).find((c) => c.limit === 'subrequests per client request');
  expect(chain('free')).toMatchObject({ value: 70, max: 50, ok: false });
  expect(chain('paid')).toMatchObject({ value: 70, max: 10_000, ok: true });
});

test('the orchestrator tries each shard once: attempts beyond the shard count cost nothing', () => {
  const two = summarizeStack(synthesized('prod', prodJson({ keyCount: 12, shardAttempts: 10 })));
  expect(checkLimits([two], 'free').find((c) => c.limit === 'subrequests per client request')?.value).toBe(2 + 2 * 6);
});

test('unknown bundle sizes are left out, not guessed', () => {
  const unmeasured = summarizeStack(synthesized('prod', prodJson()));
  expect(checkLimits([unmeasured], 'free').filter((c) => c.unit === 'bytes')).toEqual([]);
});
