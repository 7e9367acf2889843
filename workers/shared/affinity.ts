/**
 * Conversation affinity without stored state: a conversation's turns go to the same Google project while it has
 * quota, so Gemini's implicit cache (per project) sees each turn's repeated prefix. A conversation id becomes a short
 * fingerprint; a weighted rendezvous hash (HRW) of that fingerprint ranks the shards, and inside a shard its projects,
 * the same way in every isolate of both workers. Each candidate scores `-ln(u) / weight` with `u` in (0, 1] hashed
 * from the fingerprint and the candidate's name, lowest first, so a candidate is first for a share of conversations
 * equal to its share of the weights: a shard ranked by its quota share, then its projects by theirs, puts each
 * project first for exactly its share of the pool's quota.
 *
 * A few string hashes per request (one per shard), non-cryptographic on purpose: nothing here is a secret, and the
 * orchestrator's budget for all of it is well under 0.1 ms. Plain TypeScript, compiled by both tsconfigs.
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

/** One candidate of a ranking: its name (what is hashed) and its weight (0 = never ranked). */
interface Candidate {
  readonly name: string;
  readonly weight: number;
}

/** `u` in (0, 1] for the candidate `name`, from the hash state after the fingerprint. */
function uniform(state: number, name: string): number {
  return (mix(fnv1a(name, state)) + 1) / 4294967296;
}

/**
 * The positions of `candidates` with a positive weight, best first by the weighted rendezvous hash of `fingerprint`;
 * a tie (practically never) goes to the earlier position.
 */
function rendezvous(fingerprint: string, candidates: readonly Candidate[]): number[] {
  const state = fnv1a(`${fingerprint}/`);
  const scored: { position: number; score: number }[] = [];
  candidates.forEach((c, position) => {
    if (c.weight > 0) scored.push({ position, score: -Math.log(uniform(state, c.name)) / c.weight });
  });
  scored.sort((a, b) => a.score - b.score || a.position - b.position);
  return scored.map((s) => s.position);
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
    shards.map((s) => ({ name: `s${s.index}`, weight: s.weight })),
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
    projects.map((p) => ({ name: `p${p.label}`, weight: p.weight })),
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
