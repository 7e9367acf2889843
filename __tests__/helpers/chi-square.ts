/**
 * Pearson's chi-square goodness-of-fit test against a uniform or weighted distribution, shared by the orchestrator
 * unit test and the end-to-end distribution test.
 */
import { defined } from './guards';

/** ln Γ(x), Lanczos approximation (g = 7), accurate to ~1e-13 for x > 0. */
function logGamma(x: number): number {
  const c0 = 0.99999999999980993;
  /** c1 to c8 */
  const c = [
    676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905,
    -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const y = x - 1;
  let sum = c0;
  for (const [k, ck] of c.entries()) sum += ck / (y + k + 1);
  const t = y + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (y + 0.5) * Math.log(t) - t + Math.log(sum);
}

/** Regularized upper incomplete gamma Q(a, x) (Numerical Recipes: series below a+1, continued fraction above). */
function upperGammaQ(a: number, x: number): number {
  if (x <= 0) return 1;
  const prefix = Math.exp(-x + a * Math.log(x) - logGamma(a));
  if (x < a + 1) {
    let term = 1 / a;
    let sum = term;
    for (let n = 1; n < 1000 && Math.abs(term) > Math.abs(sum) * 1e-15; n++) {
      term *= x / (a + n);
      sum += term;
    }
    return 1 - sum * prefix;
  }
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 1000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-15) break;
  }
  return prefix * h;
}

export interface ChiSquareResult {
  readonly statistic: number;
  readonly degreesOfFreedom: number;
  /** probability of a statistic at least this large if the counts really are uniform */
  readonly pValue: number;
}

/** Tests observed category counts against equal expected counts. */
export function chiSquareUniform(counts: readonly number[]): ChiSquareResult {
  return chiSquareWeighted(
    counts,
    counts.map(() => 1),
  );
}

/** Tests observed category counts against expected counts proportional to `weights` (all positive). */
export function chiSquareWeighted(counts: readonly number[], weights: readonly number[]): ChiSquareResult {
  if (counts.length < 2) throw new RangeError(`need at least 2 categories, got ${counts.length}`);
  if (weights.length !== counts.length || !weights.every((w) => w > 0)) {
    throw new RangeError(
      `need one positive weight per category, got [${weights.join(', ')}] for ${counts.length} categories`,
    );
  }
  const total = counts.reduce((a, b) => a + b, 0);
  const weightSum = weights.reduce((a, b) => a + b, 0);
  const statistic = counts.reduce((sum, observed, i) => {
    const expected = (total * defined(weights[i], `the weight of category ${i}`)) / weightSum;
    return sum + (observed - expected) ** 2 / expected;
  }, 0);
  const degreesOfFreedom = counts.length - 1;
  return { statistic, degreesOfFreedom, pValue: upperGammaQ(degreesOfFreedom / 2, statistic / 2) };
}
