import fc from 'fast-check';
import {
  DEFAULT_CAPACITY_OPTIONS,
  callsPerProject,
  cellSeed,
  loadSpread,
  parseCapacityOptions,
  perfectSchedulerSuccess,
  poissonArrivals,
  projectLayoutLabels,
  realizedPerfectSuccess,
  seededRandom,
} from '../../bench/capacity-model';

describe('seededRandom', () => {
  it('repeats its sequence for a seed, stays in [0, 1), and differs between seeds', () => {
    const draw = (seed: number): number[] => Array.from({ length: 1000 }, seededRandom(seed));
    expect(draw(7)).toEqual(draw(7));
    expect(draw(7).every((x) => x >= 0 && x < 1)).toBe(true);
    expect(draw(8)).not.toEqual(draw(7));
  });

  it('gives cells of one run different seeds, and the same cell the same seed', () => {
    expect(cellSeed(1, 20, 80)).toBe(cellSeed(1, 20, 80));
    const seeds = [cellSeed(1, 20, 80), cellSeed(1, 20, 95), cellSeed(1, 9, 80), cellSeed(2, 20, 80)];
    expect(new Set(seeds).size).toBe(seeds.length);
  });
});

describe('poissonArrivals', () => {
  const arrivals = poissonArrivals(80, 100_000, seededRandom(cellSeed(1, 20, 80)));
  const gaps = arrivals.map((t, i) => t - (i === 0 ? 0 : (arrivals[i - 1] as number)));
  const mean = gaps.reduce((s, g) => s + g, 0) / gaps.length;
  const sd = Math.sqrt(gaps.reduce((s, g) => s + (g - mean) ** 2, 0) / gaps.length);

  it('sends rate × duration requests on average, in order, within the duration', () => {
    // 8,000 expected; a Poisson count's standard deviation is about 89
    expect(Math.abs(arrivals.length - 8000)).toBeLessThan(4 * 89);
    expect(gaps.every((g) => g >= 0)).toBe(true);
    expect(arrivals[arrivals.length - 1]).toBeLessThan(100_000);
  });

  it('spaces them by exponential gaps: mean 1000 / rate ms and a standard deviation equal to the mean', () => {
    expect(mean).toBeCloseTo(12.5, 0);
    // evenly spaced requests would have a standard deviation of 0; bursts are what a windowed quota punishes
    expect(sd / mean).toBeGreaterThan(0.95);
    expect(sd / mean).toBeLessThan(1.05);
  });

  it('refuses a rate that is not positive', () => {
    expect(() => poissonArrivals(0, 1000, Math.random)).toThrow('ratePerSecond must be positive, got 0');
  });
});

describe('perfectSchedulerSuccess', () => {
  /** 1 - E[(X - C)+] / L by the definition, summed far into the tail; only usable for small L. */
  function byDefinition(offered: number, capacity: number): number {
    let p = Math.exp(-offered);
    let excess = 0;
    for (let k = 0; k < 400; k++) {
      if (k > 0) p *= offered / k;
      if (k > capacity) excess += (k - capacity) * p;
    }
    return 1 - excess / offered;
  }

  it('equals 1 - E[(X - C)+] / L with X ~ Poisson(L)', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0.1, max: 60, noNaN: true }),
        fc.integer({ min: 0, max: 120 }),
        (offered, capacity) => {
          return Math.abs(perfectSchedulerSuccess(offered, capacity) - byDefinition(offered, capacity)) < 1e-9;
        },
      ),
    );
  });

  it('matches the closed forms: nothing without capacity, (1 - e^-L) / L with one call per window', () => {
    expect(perfectSchedulerSuccess(3, 0)).toBe(0);
    expect(perfectSchedulerSuccess(3, 1)).toBeCloseTo((1 - Math.exp(-3)) / 3, 12);
  });

  it('loses about 2.5 % at 95 % of a pooled 80 calls per window, as the reference arithmetic says', () => {
    expect(perfectSchedulerSuccess(76, 80)).toBeCloseTo(0.9755, 4);
  });

  it('stays exact for pools far beyond where e^-L underflows', () => {
    const success = perfectSchedulerSuccess(2000, 2000);
    // at full load the loss is E[(X - L)+] / L ≈ sqrt(L / 2π) / L
    expect(success).toBeCloseTo(1 - Math.sqrt(2000 / (2 * Math.PI)) / 2000, 4);
  });

  it('falls as the load rises and rises with the capacity', () => {
    expect(perfectSchedulerSuccess(40, 80)).toBeGreaterThan(perfectSchedulerSuccess(64, 80));
    expect(perfectSchedulerSuccess(64, 80)).toBeGreaterThan(perfectSchedulerSuccess(88, 80));
    expect(perfectSchedulerSuccess(34.2, 36)).toBeLessThan(perfectSchedulerSuccess(76, 80));
  });

  it.each([
    [0, 80, 'offered must be a positive number, got 0'],
    [10, 2.5, 'capacity must be a non-negative integer, got 2.5'],
  ])('refuses offered %p and capacity %p', (offered, capacity, message) => {
    expect(() => perfectSchedulerSuccess(offered, capacity)).toThrow(message);
  });
});

describe('realizedPerfectSuccess', () => {
  it('serves at most the capacity of each window the requests were sent in', () => {
    // windows 7, 8, 9 get 5, 2 and 3 requests against 3 calls per window: 3 + 2 + 3 of 10
    expect(realizedPerfectSuccess([7, 7, 7, 7, 7, 8, 8, 9, 9, 9], 3)).toBe(0.8);
    expect(realizedPerfectSuccess([1, 2, 3], 1)).toBe(1);
  });

  it('converges on the expected share for a long Poisson run', () => {
    const windows = poissonArrivals(76, 2_000_000, seededRandom(3)).map((t) => Math.floor(t / 1000));
    expect(realizedPerfectSuccess(windows, 80)).toBeCloseTo(perfectSchedulerSuccess(76, 80), 2);
  });

  it('needs at least one request', () => {
    expect(() => realizedPerfectSuccess([], 3)).toThrow('one entry per request');
  });
});

describe('loadSpread', () => {
  it('is 1 when every key is offered the same', () => {
    expect(loadSpread([4, 4, 4])).toEqual({ max: 4, mean: 4, maxOverMean: 1 });
  });

  it('counts idle keys in the mean: uniform shard choice over 8, 8 and 4 keys loads the small shard 1.67x', () => {
    const perKey = [...Array<number>(16).fill(1 / 24), ...Array<number>(4).fill(1 / 12)];
    expect(loadSpread(perKey).maxOverMean).toBeCloseTo(5 / 3, 12);
    expect(loadSpread([3, 0, 0]).maxOverMean).toBe(3);
  });

  it('needs one entry per key', () => {
    expect(() => loadSpread([])).toThrow('callsPerKey must hold one entry per key');
  });
});

describe('parseCapacityOptions', () => {
  it("defaults to the issue's run: 20 and 9 keys, 4 calls per key per second, 15 s per cell", () => {
    expect(parseCapacityOptions([], {})).toEqual(DEFAULT_CAPACITY_OPTIONS);
    expect(DEFAULT_CAPACITY_OPTIONS).toMatchObject({
      keySets: [20, 9],
      keysPerShard: 8,
      limit: 4,
      windowMs: 1000,
      seconds: 15,
      loads: [50, 80, 95, 110],
    });
  });

  it('reads CAPACITY_* variables, and flags over them in either form', () => {
    const env = { CAPACITY_SECONDS: '3', CAPACITY_LOADS: '80, 95', CAPACITY_CONFIGS: 'defaults,round-robin' };
    expect(parseCapacityOptions([], env)).toMatchObject({
      seconds: 3,
      loads: [80, 95],
      configs: ['defaults', 'round-robin'],
    });
    expect(parseCapacityOptions(['--seconds', '2', '--keys=9'], env)).toMatchObject({
      seconds: 2,
      keySets: [9],
      loads: [80, 95],
    });
  });

  it('treats an empty variable as unset, except that an empty load list turns its part off', () => {
    expect(
      parseCapacityOptions([], { CAPACITY_SECONDS: '', CAPACITY_ISOLATE_LOADS: '', CAPACITY_WAIT_LOADS: ' ' }),
    ).toMatchObject({
      seconds: 15,
      isolateLoads: [],
      waitLoads: [],
    });
    expect(parseCapacityOptions(['--configs', '', '--copies', '4,16'], {})).toMatchObject({
      configs: [],
      copies: [4, 16],
    });
  });

  it.each([
    [[], { CAPACITY_SECONDS: '0' }, 'CAPACITY_SECONDS must be an integer from 1 to 3600, got "0"'],
    [['--limit', 'four'], {}, '--limit must be an integer from 1 to 1000, got "four"'],
    [['--loads=80,x'], {}, '--loads must be a comma-separated list of integers from 1 to 500, got "80,x"'],
    [
      [],
      { CAPACITY_CONFIGS: 'defaults,fastest' },
      'CAPACITY_CONFIGS must be a comma-separated list of defaults, uniform, uniform-reroute, round-robin, defaults-wait, got "defaults,fastest"',
    ],
    [['--speed', '3'], {}, 'unknown argument "--speed"; flags: --seconds'],
    [['--seconds'], {}, '--seconds needs a value'],
    [['--copies', '1'], {}, '--copies must be a comma-separated list of integers from 2 to 32, got "1"'],
  ])('refuses %p %p naming the setting, what it accepts and what it got', (argv, env, message) => {
    expect(() => parseCapacityOptions(argv, env)).toThrow(message);
  });
});

describe('projectLayoutLabels', () => {
  it("labels issue 22's pool: one project of 10 keys, then 10 of one key", () => {
    const labels = projectLayoutLabels('10+1x10');
    expect(labels).toHaveLength(20);
    expect(labels?.slice(0, 10)).toEqual(Array.from({ length: 10 }, () => 'p1'));
    expect(labels?.slice(10)).toEqual(['p2', 'p3', 'p4', 'p5', 'p6', 'p7', 'p8', 'p9', 'p10', 'p11']);
  });

  it('labels an even pool, and a project of one key without a count', () => {
    expect(projectLayoutLabels('2x3')).toEqual(['p1', 'p1', 'p2', 'p2', 'p3', 'p3']);
    expect(projectLayoutLabels(' 3 + 1 ')).toEqual(['p1', 'p1', 'p1', 'p2']);
  });

  it.each(['', '10+', 'x3', '0x2', '2x0', '10-1', '2*10', '100x3'])('refuses %p', (spec) => {
    expect(projectLayoutLabels(spec)).toBeUndefined();
  });
});

describe('callsPerProject', () => {
  it('sums the calls of each project’s keys, in the order the projects first appear', () => {
    expect(callsPerProject(['a', 'a', 'b', 'c', 'b'], [1, 2, 3, 4, 5])).toEqual([3, 8, 4]);
  });
});

describe('parseCapacityOptions for projects', () => {
  it("runs issue 22's pool and an even one, with and without KEY_PROJECTS, on the wall clock by default", () => {
    expect(parseCapacityOptions([], {})).toMatchObject({
      projects: ['10+1x10', '2x10'],
      projectConfigs: ['declared', 'undeclared'],
      clock: 'wall',
    });
  });

  it('reads layouts, their configurations and the clock; empty lists turn them off', () => {
    expect(
      parseCapacityOptions(['--projects', '4x2', '--clock=virtual'], { CAPACITY_PROJECT_CONFIGS: 'declared' }),
    ).toMatchObject({ projects: ['4x2'], projectConfigs: ['declared'], clock: 'virtual' });
    expect(parseCapacityOptions([], { CAPACITY_PROJECTS: '', CAPACITY_PROJECT_CONFIGS: '' })).toMatchObject({
      projects: [],
      projectConfigs: [],
    });
  });

  it.each([
    [['--projects', '10+1x10,ten'], '--projects must be a comma-separated list of layouts such as 10+1x10'],
    [
      ['--project-configs', 'declared,both'],
      '--project-configs must be a comma-separated list of declared, undeclared',
    ],
    [['--clock', 'fast'], '--clock must be one of wall, virtual, got "fast"'],
  ])('refuses %p naming the flag and what it accepts', (argv, message) => {
    expect(() => parseCapacityOptions(argv, {})).toThrow(message);
  });
});
