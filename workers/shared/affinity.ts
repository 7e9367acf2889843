/**
 * Conversation affinity without stored state: a conversation's turns go to the same Google project while it has
 * quota, so Gemini's implicit cache (per project) sees each turn's repeated prefix. A conversation id becomes a short
 * fingerprint; a weighted rendezvous hash (HRW) of that fingerprint ranks the shards, and inside a shard its projects,
 * the same way in every isolate of both workers. Each candidate scores `-ln(u) / weight` with `u` in (0, 1] hashed
 * from the fingerprint and the candidate's name, lowest first, so a candidate is first for a share of conversations
 * equal to its share of the weights: a shard ranked by its quota share, then its projects by theirs, puts each
 * project first for exactly its share of the pool's quota.
 *
 * One string hash per request (the conversation id's), then a few integer mixes per shard, non-cryptographic on
 * purpose: nothing here is a secret, and the orchestrator's budget for all of it is well under 0.1 ms. Plain
 * TypeScript, compiled by both tsconfigs.
 *
 * @module
 */
import { AFFINITY_HEADER } from './contract';

/**
 * Request headers that carry a conversation id, in the order they are read: Claude Code's
 * `x-claude-code-session-id`, then Codex CLI's `session-id`. Ids found only in a body are the shard's to read.
 */
export const CONVERSATION_HEADERS = ['x-claude-code-session-id', 'session-id'] as const;

/** A fingerprint as {@link AFFINITY_HEADER} carries it: eight lowercase hex digits. */
export const AFFINITY_PATTERN = /^[0-9a-f]{8}$/;

/** The longest prefix of an id that is hashed: ids are UUIDs or similar, and a huge header must cost no more. */
const MAX_HASHED_ID = 256;

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** FNV-1a over UTF-16 code units, continuing from `state`: the same in every JavaScript runtime. */
function fnv1a(text: string, state = FNV_OFFSET): number {
  let h = state;
  for (let i = 0; i < text.length; i += 1) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, FNV_PRIME);
  }
  return h >>> 0;
}

/** MurmurHash3's finalizer: FNV alone keeps inputs that differ in one last character too close together. */
function mix(hash: number): number {
  let h = hash;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A conversation id's fingerprint: eight hex digits, what travels between the workers instead of the id. */
export function fingerprintOf(conversationId: string): string {
  return mix(fnv1a(conversationId.slice(0, MAX_HASHED_ID)))
    .toString(16)
    .padStart(8, '0');
}

/** Anything with `get` by header name, like `Headers`. */
interface HeaderReader {
  get(name: string): string | null;
}

/** The conversation id the request's headers carry (see {@link CONVERSATION_HEADERS}), trimmed; undefined if none. */
export function conversationIdOf(headers: HeaderReader): string | undefined {
  for (const name of CONVERSATION_HEADERS) {
    const value = headers.get(name)?.trim();
    if (value !== undefined && value !== '') return value;
  }
  return undefined;
}

/** The well-formed fingerprint in {@link AFFINITY_HEADER}, or undefined (absent or anything else). */
export function affinityOf(headers: HeaderReader): string | undefined {
  const value = headers.get(AFFINITY_HEADER)?.trim();
  return value !== undefined && AFFINITY_PATTERN.test(value) ? value : undefined;
}

/** Each candidate's own hash, kept: a pool has a few shards and projects, the same on every request. */
const shardHashes: number[] = [];
const projectHashes = new Map<string, number>();
const MAX_KEPT_PROJECTS = 4096;

/** Shard n's hash, of the name `s<n>`. */
function shardHash(index: number): number {
  let hash = shardHashes[index];
  if (hash === undefined) {
    hash = mix(fnv1a(`s${index}`));
    if (Number.isSafeInteger(index) && index >= 0 && index <= 999_999) shardHashes[index] = hash;
  }
  return hash;
}

/** A project's hash, of the name `p<label>`. */
function projectHash(label: string): number {
  let hash = projectHashes.get(label);
  if (hash === undefined) {
    if (projectHashes.size >= MAX_KEPT_PROJECTS) projectHashes.clear();
    hash = mix(fnv1a(`p${label}`));
    projectHashes.set(label, hash);
  }
  return hash;
}

/**
 * `u` in (0, 1] for a candidate, from the fingerprint's number and the candidate's name hash: two rounds of the
 * finalizer, so the candidates' values for one fingerprint look independent, and with no string hashed per request.
 */
function uniform(fingerprint: number, name: number): number {
  return (mix((mix((fingerprint ^ name) >>> 0) + name) >>> 0) + 1) / 4294967296;
}

/** One ranked candidate: its position and its score (lower ranks first). */
interface Scored {
  readonly position: number;
  readonly score: number;
}

/** Inserts `entry` into `best` (sorted, at most `limit` long), dropping what falls past the limit. */
function keepBest(best: Scored[], entry: Scored, limit: number): void {
  let at = best.length;
  // ties keep the earlier position first: candidates arrive in position order
  while (at > 0 && (best[at - 1]?.score ?? 0) > entry.score) at -= 1;
  if (at >= limit) return;
  best.splice(at, 0, entry);
  if (best.length > limit) best.pop();
}

/**
 * The first `limit` positions of 0..count-1 with a positive weight, best first by the weighted rendezvous hash of
 * `fingerprint` over the candidates' hashes; a tie (practically never) goes to the earlier position. The orchestrator
 * runs this on every conversation's request and needs only its few attempts, so it keeps only those.
 */
function rendezvous(
  fingerprint: string,
  count: number,
  hashOf: (position: number) => number,
  weightOf: (position: number) => number,
  limit = count,
): number[] {
  // a fingerprint is eight hex digits; anything else is hashed as text, so it still ranks the same everywhere
  const value = AFFINITY_PATTERN.test(fingerprint) ? Number.parseInt(fingerprint, 16) : mix(fnv1a(fingerprint));
  const best: Scored[] = [];
  for (let position = 0; position < count; position += 1) {
    const weight = weightOf(position);
    if (!(weight > 0)) continue;
    keepBest(best, { position, score: -Math.log(uniform(value, hashOf(position))) / weight }, limit);
  }
  return best.map((entry) => entry.position);
}

/** A shard as ranked: its index (n of `BACKEND_SERVICE_<n>`, `SHARD_INDEX`) and its share of the pool's quota. */
export interface RankedShard {
  readonly index: number;
  readonly weight: number;
}

/**
 * The order in which a conversation tries the shards: positions in `shards`, best (its home) first, shards of zero
 * weight left out. The orchestrator follows it; a shard uses its first entry to tell whether it is the home.
 */
export function shardRanking(fingerprint: string, shards: readonly RankedShard[]): number[] {
  return rendezvous(
    fingerprint,
    shards.length,
    (i) => shardHash(shards[i]?.index ?? -1),
    (i) => shards[i]?.weight ?? 0,
  );
}

/**
 * The first `limit` entries of {@link shardRanking}, over two aligned arrays: the shards' indexes and their weights
 * (what the orchestrator holds).
 */
export function rankShards(
  fingerprint: string,
  indexes: readonly number[],
  weights: readonly number[],
  limit = indexes.length,
): number[] {
  return rendezvous(
    fingerprint,
    indexes.length,
    (i) => shardHash(indexes[i] ?? -1),
    (i) => weights[i] ?? 0,
    limit,
  );
}

/** A project as ranked inside one shard: its label and its share of the pool's quota held by the shard. */
export interface RankedProject {
  readonly label: string;
  readonly weight: number;
}

/**
 * The order in which a conversation tries one shard's projects: positions in `projects` (e.g. `shardProjects` of
 * the layout), its home project first. Every isolate computes the same order.
 */
export function projectRanking(fingerprint: string, projects: readonly RankedProject[]): number[] {
  return rendezvous(
    fingerprint,
    projects.length,
    (i) => projectHash(projects[i]?.label ?? ''),
    (i) => projects[i]?.weight ?? 0,
  );
}

/** The layout's shards as {@link shardRanking} takes them: shard i has index i. */
export function rankedShardsOf(layout: { readonly shards: readonly { readonly weight: number }[] }): RankedShard[] {
  return layout.shards.map((shard, index) => ({ index, weight: shard.weight }));
}

/** The home shard's index of a conversation in `layout`; undefined when no shard has weight. */
export function homeShardOf(
  fingerprint: string,
  layout: { readonly shards: readonly { readonly weight: number }[] },
): number | undefined {
  return shardRanking(fingerprint, rankedShardsOf(layout))[0];
}
