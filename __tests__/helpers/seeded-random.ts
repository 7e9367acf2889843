/** A small seeded PRNG (mulberry32) so the statistical tests are deterministic: the one the capacity benchmark uses. */
export { seededRandom as seeded } from '../../bench/capacity-model';
