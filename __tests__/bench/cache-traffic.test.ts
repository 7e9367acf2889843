import {
  AGENT_TRAFFIC,
  GEMINI_CLI_TRAFFIC,
  NATIVE_APP_TRAFFIC,
  cacheFigures,
  conversations,
  history,
  idealCachedTokens,
  parseCacheOptions,
  prefixKey,
  promptWords,
} from '../../bench/cache-traffic';
import { defined } from '../helpers/guards';

const MIN = 4096;

describe('the implicit-cache benchmark’s traffic', () => {
  it('gives agent conversations their own start within the cache’s minimum, so a turn can only hit its own history', () => {
    const [a, b] = conversations(AGENT_TRAFFIC).map((c) => promptWords(c, 0));
    const shared = defined(a, 'a conversation').findIndex((w, i) => w !== defined(b, 'another')[i]);
    expect(shared).toBe(AGENT_TRAFFIC.sharedSystemWords);
    expect(shared).toBeLessThan(MIN);
    expect(a?.length).toBeGreaterThanOrEqual(MIN);
  });

  it('resends the whole history each turn: every prompt extends the one before', () => {
    const c = defined(conversations(GEMINI_CLI_TRAFFIC)[0], 'a conversation');
    for (let turn = 1; turn < GEMINI_CLI_TRAFFIC.turns; turn++) {
      const before = promptWords(c, turn - 1);
      expect(promptWords(c, turn).slice(0, before.length)).toEqual(before);
    }
    expect(history(c, 2).map((m) => m.role)).toEqual(['user', 'model', 'user', 'model', 'user', 'model', 'user']);
  });

  it('is the same for a seed, and different between conversations', () => {
    expect(conversations(AGENT_TRAFFIC)).toEqual(conversations(AGENT_TRAFFIC));
    const ids = conversations(AGENT_TRAFFIC).map((c) => c.id);
    expect(new Set(ids).size).toBe(AGENT_TRAFFIC.conversations);
  });
});

describe('prefixKey', () => {
  const cli = conversations(GEMINI_CLI_TRAFFIC);
  const app = conversations(NATIVE_APP_TRAFFIC);
  const key = (kind: 'shared-prefix' | 'first-prompt', c: (typeof cli)[number], turn: number) =>
    prefixKey(kind, c.system, history(c, turn));

  it('for Gemini CLI: the shared prefix is one key for every conversation; the first prompt one per conversation', () => {
    expect(new Set(cli.map((c) => key('shared-prefix', c, 3))).size).toBe(1);
    expect(new Set(cli.map((c) => key('first-prompt', c, 3))).size).toBe(cli.length);
    for (const turn of [1, 5, 9])
      expect(key('first-prompt', defined(cli[0], 'a conversation'), turn)).toBe(
        key('first-prompt', defined(cli[0], 'a conversation'), 0),
      );
  });

  it('for a program without a preamble: the shared prefix is stable, the first prompt moves after turn 1', () => {
    const c = defined(app[0], 'a conversation');
    expect(key('shared-prefix', c, 5)).toBe(key('shared-prefix', c, 0));
    expect(key('first-prompt', c, 1)).not.toBe(key('first-prompt', c, 0));
    expect(key('first-prompt', c, 5)).toBe(key('first-prompt', c, 1));
  });
});

describe('idealCachedTokens and cacheFigures', () => {
  const w = (n: number, from = 0) => Array.from({ length: n }, (_, i) => `w${from + i}`);

  it('counts the longest prefix shared with any earlier prompt, from the minimum on', () => {
    const prompts = [w(10), w(12), w(6).concat(w(6, 100)), w(3, 50)];
    expect(idealCachedTokens(prompts, [0, 0, 1, 2], 5)).toEqual([0, 10, 6, 0]);
    expect(idealCachedTokens(prompts, [0, 0, 1, 2], 7)).toEqual([0, 10, 0, 0]);
  });

  it('reports hit and token shares next to their ideals', () => {
    const figures = cacheFigures([
      { promptTokens: 100, cachedTokens: 0, idealTokens: 0 },
      { promptTokens: 200, cachedTokens: 100, idealTokens: 100 },
      { promptTokens: 300, cachedTokens: 0, idealTokens: 200 },
    ]);
    expect(figures).toEqual({
      turns: 3,
      hitShare: 1 / 3,
      idealHitShare: 2 / 3,
      tokenShare: 1 / 6,
      idealTokenShare: 0.5,
    });
  });
});

describe('parseCacheOptions', () => {
  it("defaults to issue 22's pool and 10 turns; flags win over variables", () => {
    expect(parseCacheOptions([], {})).toEqual({ projects: '10+1x10', turns: 10 });
    expect(parseCacheOptions(['--turns', '30'], { CACHE_TURNS: '5', CACHE_PROJECTS: '2x10' })).toEqual({
      projects: '2x10',
      turns: 30,
    });
  });

  it.each([
    [['--projects', 'ten'], '--projects must be a layout such as 10+1x10, got "ten"'],
    [['--turns', '1'], '--turns must be an integer from 2 to 100, got "1"'],
  ])('refuses %p', (argv, message) => {
    expect(() => parseCacheOptions(argv, {})).toThrow(message);
  });
});
