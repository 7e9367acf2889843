/**
 * Narrows a value the test's own setup guarantees (an array entry, a map entry, a regex group) and fails with a
 * message naming it when that guarantee breaks, instead of a `TypeError` a few lines later.
 */
export function defined<T>(value: T | null | undefined, what: string): T {
  if (value === undefined || value === null) throw new Error(`expected ${what}, found ${String(value)}`);
  return value;
}

/** Adds one to `counts[index]`, failing when the index falls outside the array the test sized for its outcomes. */
export function tally(counts: number[], index: number): void {
  const current = counts[index];
  if (current === undefined) throw new Error(`outcome ${index} is outside the ${counts.length} counted`);
  counts[index] = current + 1;
}
