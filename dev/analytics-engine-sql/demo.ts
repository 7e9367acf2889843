/**
 * A day of a small gateway's usage data points, for the SQL API stand-in's demo (`./cli.ts`) and the README's
 * `npm run usage` output: 12 keys in 4 Google projects (`a` holds 6, `b` 4, `c` and `d` one each), three
 * clients, three models, some streams, some 429s, some refusals before any key, and points Analytics Engine sampled.
 * Deterministic: the same day each time, from a seed.
 *
 * @module
 */
import { type UsageFields, usageDataPoint } from '../../workers/shared/usage-schema';
import type { StoredPoint } from './sql';

const MODELS = ['gemini-3.8-flash', 'gemini-3.5-flash', 'gemini-3.5-flash-lite'] as const;
const CLIENTS = ['pass', 'alice', 'ci-bot'] as const;
const ROUTES = ['chat.completions', 'native.streamGenerateContent', 'anthropic.messages', 'responses.create'] as const;

/** A small deterministic generator (the same LCG the tests use), in [0, 1). */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

/** Global key g's project in the demo layout. */
const projectOf = (key: number): string => (key <= 6 ? 'a' : key <= 10 ? 'b' : key === 11 ? 'c' : 'd');

function fields(draw: () => number, pick: <T>(list: readonly T[]) => T): UsageFields {
  const key = 1 + Math.floor(draw() ** 2 * 12);
  const refused = draw() < 0.03;
  const limited = !refused && draw() < 0.04;
  const status = refused ? 401 : limited ? 429 : 200;
  const prompt = refused || limited ? 0 : 200 + Math.floor(draw() * 6000);
  const output = refused || limited ? 0 : 20 + Math.floor(draw() * 600);
  const thinking = refused || limited ? 0 : Math.floor(draw() * 300);
  const route = pick(ROUTES);
  return {
    project: refused ? '' : projectOf(key),
    blobs: {
      route,
      model: refused ? '' : pick(MODELS),
      client: refused ? '' : pick(CLIENTS),
      key: refused ? '' : `KEY${key}`,
      error: refused ? 'invalid_api_key' : limited ? 'all_keys_cooling' : '',
      delivery: route === 'chat.completions' ? 'whole' : 'stream',
    },
    doubles: {
      status,
      upstreamStatus: refused ? 0 : status,
      attempts: refused ? 0 : limited ? 3 : 1,
      ms: 300 + Math.floor(draw() * 900),
      totalMs: 900 + Math.floor(draw() * 9000),
      promptTokens: prompt,
      outputTokens: output,
      cachedTokens: Math.floor(prompt * draw() * 0.8),
      thinkingTokens: thinking,
      totalTokens: prompt + output + thinking,
      globalKey: refused ? 0 : key,
      shard: refused ? 0 : Math.floor((key - 1) / 8),
      keyIndex: refused ? 0 : ((key - 1) % 8) + 1,
      waitedMs: 0,
    },
  };
}

/** `count` points spread over the `hours` before `now`, written to `dataset`. */
export function demoPoints(dataset: string, now: number, count = 1500, hours = 30): StoredPoint[] {
  const draw = random(42);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(draw() * list.length)] as T;
  return Array.from({ length: count }, () => {
    const point = usageDataPoint(fields(draw, pick));
    // Analytics Engine keeps one in two of a busy project's points, each standing for two
    const sampled = point.indexes[0] === 'a' && draw() < 0.3;
    return {
      dataset,
      timestamp: now - Math.floor(draw() * hours * 3_600_000),
      sampleInterval: sampled ? 2 : 1,
      blobs: point.blobs,
      doubles: point.doubles,
      index: point.indexes[0] ?? '',
    };
  });
}
