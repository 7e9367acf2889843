/**
 * Conversations stay home: the turns of one conversation go to the same Google project while it has quota, so
 * Gemini's implicit cache, which is per project, sees each turn repeat the last one's prefix. No state is kept: a
 * conversation id becomes a fingerprint, and a weighted rendezvous hash of it (`../../shared/affinity`) ranks the
 * shards and, inside a shard, its projects, the same in every isolate.
 *
 * The id is taken, in order, from `x-zen-affinity` (the fingerprint the orchestrator computed from the conversation
 * headers), the conversation headers themselves (a worker that stands alone has no orchestrator), and the body: an
 * id found only there may belong to another shard, which a shard behind the orchestrator answers with a misdirect
 * (`../core/upstream-plan`), since the orchestrator never reads bodies: to the home shard when the layout says which,
 * else with the fingerprint alone, for the orchestrator to place. Requests without an id keep the draw by quota
 * share.
 */
import { affinityOf, conversationIdOf, fingerprintOf, homeShardOf, projectRanking } from '../../shared/affinity';
import type { KeyLayout } from '../../shared/key-layout';
import type { KeyProject } from './key-projects';

/** Longest `metadata.user_id` read for a session id: Claude Code's is a short JSON object. */
const MAX_USER_ID_LENGTH = 2048;
/** An older Claude Code `metadata.user_id`: `user_<hash>_account_<uuid>_session_<uuid>`. */
const SESSION_SUFFIX = /_session_([A-Za-z0-9-]{1,64})$/;

const nonEmpty = (value: unknown): string | undefined =>
  typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;

/** The `session_id` Claude Code puts in `metadata.user_id`, a JSON string (or, in older versions, a suffix). */
function claudeSessionId(metadata: unknown): string | undefined {
  if (metadata === null || typeof metadata !== 'object') return undefined;
  const userId = (metadata as { user_id?: unknown }).user_id;
  if (typeof userId !== 'string' || userId.length > MAX_USER_ID_LENGTH) return undefined;
  if (userId.trimStart().startsWith('{')) {
    try {
      const parsed: unknown = JSON.parse(userId);
      return parsed !== null && typeof parsed === 'object'
        ? nonEmpty((parsed as { session_id?: unknown }).session_id)
        : undefined;
    } catch {
      return undefined;
    }
  }
  return SESSION_SUFFIX.exec(userId)?.[1];
}

/** Which body fields a route reads a conversation id from, besides `prompt_cache_key` and `metadata.user_id`. */
export interface BodyIdFields {
  /** chat completions: OpenAI's `user`, which clients set to one value per conversation or per end user */
  readonly user?: boolean;
}

/**
 * The conversation id in a parsed request body: `prompt_cache_key` (Codex, the OpenAI SDKs), the `session_id` in
 * `metadata.user_id` (Claude Code), then `user` where `fields` allows it (chat completions).
 */
export function bodyConversationId(
  json: Readonly<Record<string, unknown>>,
  fields: BodyIdFields = {},
): string | undefined {
  return (
    nonEmpty(json.prompt_cache_key) ?? claudeSessionId(json.metadata) ?? (fields.user ? nonEmpty(json.user) : undefined)
  );
}

/** Anything with `get` by header name, like `Headers`. */
interface HeaderReader {
  get(name: string): string | null;
}

/** A request's conversation: its fingerprint, and whether the id was found in the body (then it may live elsewhere). */
export interface Conversation {
  readonly fingerprint: string;
  readonly fromBody: boolean;
}

/** The request's conversation, from its headers first, then the id its body holds; undefined when there is none. */
export function conversationOf(headers: HeaderReader, bodyId: string | undefined): Conversation | undefined {
  const given = affinityOf(headers);
  if (given !== undefined) return { fingerprint: given, fromBody: false };
  const headerId = conversationIdOf(headers);
  if (headerId !== undefined) return { fingerprint: fingerprintOf(headerId), fromBody: false };
  return bodyId === undefined ? undefined : { fingerprint: fingerprintOf(bodyId), fromBody: true };
}

/** The projects in the order the conversation tries them: its home project first. */
export function rankedProjects(projects: readonly KeyProject[], fingerprint: string): KeyProject[] {
  return projectRanking(fingerprint, projects)
    .map((position) => projects[position])
    .filter((p): p is KeyProject => p !== undefined);
}

/** Where a conversation found in the body goes instead: its home shard, or the orchestrator's choice of it. */
export type Elsewhere = { readonly home: number } | { readonly home?: undefined };

/**
 * Where a conversation whose id only the body held must go, when not here; undefined when this worker serves it.
 * With the layout a shard knows the home; without it (no `KEY_PROJECTS`) it cannot weigh the other shards, so it
 * leaves the home to the orchestrator whenever there are other shards (`shardCount`, from `x-zen-shard-count`). A
 * worker that stands alone serves every conversation itself.
 */
export function homeElsewhere(
  fingerprint: string,
  shardIndex: number | undefined,
  layout: KeyLayout | undefined,
  shardCount: number,
): Elsewhere | undefined {
  if (shardIndex === undefined) return undefined;
  if (layout === undefined) return shardCount > 1 ? {} : undefined;
  const home = homeShardOf(fingerprint, layout);
  return home === undefined || home === shardIndex ? undefined : { home };
}
