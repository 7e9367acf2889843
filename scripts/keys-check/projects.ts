/**
 * Which keys share a Google project, found by what Google shows them: files belong to the project (every key of it
 * sees a file one of them uploaded, another project's key gets 403), so a tiny file uploaded with one key and looked
 * up with the others sorts them. One round per project: upload with the first key not yet placed, look it up with
 * every other key not yet placed, delete it. Every file made is deleted, also when a round fails.
 *
 * And how that compares with a declared `KEY_PROJECTS`: labels are names the user chose, so two layouts agree when
 * they group the keys alike, whatever the labels.
 *
 * @module
 */

/** The calls the search makes, by key index (0-based into `TF_VAR_api_keys`). */
export interface ProjectProbe {
  /** uploads a tiny file with the key; its name (`files/<id>`), or undefined when the upload failed */
  upload(key: number): Promise<string | undefined>;
  /** what the key sees of the file: `same` (200: its project's), `other` (403: another project's), `unknown` */
  sees(key: number, file: string): Promise<'same' | 'other' | 'unknown'>;
  /** deletes the file with the key; whether it is gone */
  remove(key: number, file: string): Promise<boolean>;
}

export interface FoundProjects {
  /** per key: its project's number (0, 1, ... in order of each project's first key), or undefined when unknown */
  readonly projectOf: ReadonlyArray<number | undefined>;
  /** files that could not be deleted, to name in the report */
  readonly leftovers: readonly string[];
}

/** Runs `task` over `items`, at most `limit` at a time, and returns the results in order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const at = next++;
      results[at] = await task(items[at] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** A file made by one key, still to delete. */
interface Made {
  readonly key: number;
  readonly file: string;
}

/** One round: the keys among `others` that see a file `first` uploads (none when the upload failed). */
async function round(
  probe: ProjectProbe,
  first: number,
  others: readonly number[],
  made: Made[],
  limit: number,
): Promise<{ same: number[]; uncertain: number[]; uploaded: boolean }> {
  const file = await probe.upload(first);
  if (file === undefined) return { same: [], uncertain: [], uploaded: false };
  made.push({ key: first, file });
  const seen = await mapLimit(others, limit, (key) => probe.sees(key, file));
  return {
    same: others.filter((_, i) => seen[i] === 'same'),
    uncertain: others.filter((_, i) => seen[i] === 'unknown'),
    uploaded: true,
  };
}

/** Deletes every file still in `made` with the key that made it; the ones that stay are returned. */
async function cleanUp(probe: ProjectProbe, made: Made[]): Promise<string[]> {
  const pending = made.splice(0);
  const gone = await Promise.all(pending.map(({ key, file }) => probe.remove(key, file).catch(() => false)));
  return pending.filter((_, i) => !gone[i]).map(({ file }) => file);
}

/**
 * Sorts `keys` (the indexes of the keys Google answered, out of `keyCount`) into projects. A key whose lookup got
 * neither 200 nor 403, or whose upload failed, is left unknown rather than guessed.
 */
export async function findProjects(
  keyCount: number,
  keys: readonly number[],
  probe: ProjectProbe,
  limit = 8,
): Promise<FoundProjects> {
  const projectOf: Array<number | undefined> = new Array(keyCount).fill(undefined);
  const made: Made[] = [];
  const leftovers: string[] = [];
  let remaining = [...keys];
  let projects = 0;
  try {
    while (remaining.length > 0) {
      const [first, ...others] = remaining as [number, ...number[]];
      const found = await round(probe, first, others, made, limit);
      leftovers.push(...(await cleanUp(probe, made)));
      if (!found.uploaded) {
        remaining = others;
        continue;
      }
      for (const key of [first, ...found.same]) projectOf[key] = projects;
      projects++;
      // an uncertain key may belong here: it is not placed in a later project on a guess
      for (const key of found.uncertain) projectOf[key] = undefined;
      remaining = others.filter((k) => !found.same.includes(k) && !found.uncertain.includes(k));
    }
  } finally {
    leftovers.push(...(await cleanUp(probe, made)));
  }
  return { projectOf, leftovers };
}

/** `p1`, `p2`, ... for the found projects in order, `key<n>` (its own) for a key whose project is unknown. */
export function foundLabels(projectOf: ReadonlyArray<number | undefined>): string[] {
  return projectOf.map((p, i) => (p === undefined ? `key${i + 1}` : `p${p + 1}`));
}

/** Project labels as `KEY_PROJECTS` allows them (the client-name pattern). */
export const PROJECT_LABEL = /^[a-z0-9][a-z0-9_-]{0,31}$/;

/** Parses a declared `KEY_PROJECTS` for `keyCount` keys: the labels, or the problem, naming the value received. */
export function parseDeclared(raw: string, keyCount: number): { labels: string[] } | { problem: string } {
  const labels = raw.split(',').map((l) => l.trim());
  const bad = labels.find((l) => !PROJECT_LABEL.test(l));
  if (bad !== undefined) {
    return {
      problem: `KEY_PROJECTS label ${JSON.stringify(bad)} must be 1 to 32 of a-z, 0-9, "_", "-", starting with a letter or digit`,
    };
  }
  if (labels.length !== keyCount) {
    return { problem: `KEY_PROJECTS has ${labels.length} labels for ${keyCount} keys in TF_VAR_api_keys` };
  }
  return { labels };
}

/** `KEY1, KEY3 and KEY4` */
function keyList(keys: readonly number[]): string {
  const names = keys.map((k) => `KEY${k + 1}`);
  return names.length <= 1 ? names.join('') : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;
}

/** Groups the indexes of `values` by value, in order of first appearance; undefined values are left out. */
function groups<T>(values: ReadonlyArray<T | undefined>): Array<[T, number[]]> {
  const out = new Map<T, number[]>();
  values.forEach((v, i) => {
    if (v !== undefined) out.set(v, [...(out.get(v) ?? []), i]);
  });
  return [...out];
}

/**
 * Where a declared layout says otherwise than Google, one sentence each, over the keys whose project was found: a
 * found project split between declared labels, and a declared label holding keys of different projects.
 */
export function contradictions(declared: readonly string[], projectOf: ReadonlyArray<number | undefined>): string[] {
  const known = declared.map((label, i) => (projectOf[i] === undefined ? undefined : label));
  const out: string[] = [];
  for (const [, keys] of groups(projectOf)) {
    const labels = [...new Set(keys.map((k) => declared[k]))];
    if (labels.length > 1) {
      out.push(`${keyList(keys)} share one Google project, but KEY_PROJECTS splits them into ${labels.join(', ')}`);
    }
  }
  for (const [label, keys] of groups(known)) {
    const projects = new Set(keys.map((k) => projectOf[k]));
    if (projects.size > 1) {
      out.push(`KEY_PROJECTS puts ${keyList(keys)} in project ${label}, but Google shows ${projects.size} projects`);
    }
  }
  return out;
}
