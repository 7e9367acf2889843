/**
 * The pure parts of the implicit-cache benchmark (`bench/implicit-cache.ts`): agent-like conversations that resend
 * their whole history each turn, as the requests the real clients send, and the figures the benchmark reports. The
 * fake Gemini counts one token per word and hits its implicit cache when a prompt repeats at least 4,096 words
 * (Gemini 3.x's minimum) that its project saw lately (`dev/fake-gemini/implicit-cache.ts`), so the texts here are
 * words from a seeded PRNG and their lengths are in words. Nothing here touches a clock or a socket.
 */
import { projectLayoutLabels, seededRandom, type Random } from './capacity-model';

/** Text of `count` words drawn from a vocabulary of 50,000, deterministic for `random`. */
export function words(count: number, random: Random): string {
  return Array.from({ length: count }, () => `w${Math.floor(random() * 50_000)}`).join(' ');
}

/** One conversation: what stays the same at its start, then its turns. */
export interface Conversation {
  /** its id, as the client names it (a session id) */
  readonly id: string;
  /** the system prompt */
  readonly system: string;
  /**
   * What the client puts first in the contents before the user's prompt (Gemini CLI's environment context, with the
   * model's acknowledgement after it); none for the other agents
   */
  readonly preamble?: { readonly user: string; readonly model: string };
  /** the user's prompts and the model's replies, one pair per turn */
  readonly turns: readonly { readonly user: string; readonly model: string }[];
}

export interface TrafficShape {
  readonly conversations: number;
  readonly turns: number;
  /** words of the system prompt every conversation shares */
  readonly sharedSystemWords: number;
  /** words of a context of its own that each conversation has before its first prompt (its project's files, say) */
  readonly ownContextWords: number;
  /** words of the environment context every conversation shares after the system prompt (Gemini CLI); 0: none */
  readonly sharedPreambleWords: number;
  readonly promptWords: number;
  readonly replyWords: number;
  readonly seed: number;
}

/**
 * Agents with a session id (Claude Code, Codex): a system prompt they share, shorter than the cache's minimum, then a
 * context of each conversation's own, so that a turn can only hit its own conversation's earlier turns.
 */
export const AGENT_TRAFFIC: TrafficShape = {
  conversations: 20,
  turns: 10,
  sharedSystemWords: 2_000,
  ownContextWords: 2_500,
  sharedPreambleWords: 0,
  promptWords: 150,
  replyWords: 400,
  seed: 1,
};

/**
 * Gemini CLI: no id; its system prompt and its environment context (date, OS, working directory, folder structure)
 * are the same for every conversation started in one place, and together pass the cache's minimum.
 */
export const GEMINI_CLI_TRAFFIC: TrafficShape = {
  conversations: 20,
  turns: 10,
  sharedSystemWords: 3_000,
  ownContextWords: 0,
  sharedPreambleWords: 1_500,
  promptWords: 150,
  replyWords: 400,
  seed: 2,
};

/**
 * A program on the native API with a long system prompt of its own and no id (an SDK app, say): what every
 * conversation shares is the system prompt alone, and the first content is the user's first prompt.
 */
export const NATIVE_APP_TRAFFIC: TrafficShape = {
  conversations: 20,
  turns: 10,
  sharedSystemWords: 4_500,
  ownContextWords: 0,
  sharedPreambleWords: 0,
  promptWords: 150,
  replyWords: 400,
  seed: 3,
};

/** The conversations of `shape`, each with its own seeded words. */
export function conversations(shape: TrafficShape): Conversation[] {
  const shared = seededRandom(shape.seed);
  const sharedSystem = words(shape.sharedSystemWords, shared);
  const sharedPreamble = shape.sharedPreambleWords > 0 ? words(shape.sharedPreambleWords, shared) : undefined;
  return Array.from({ length: shape.conversations }, (_, c) => {
    const own = seededRandom(shape.seed * 1_000_003 + c + 1);
    const context = shape.ownContextWords > 0 ? ` ${words(shape.ownContextWords, own)}` : '';
    return {
      id: `conversation-${shape.seed}-${String(c + 1).padStart(2, '0')}`,
      system: `${sharedSystem}${context}`,
      ...(sharedPreamble !== undefined
        ? { preamble: { user: sharedPreamble, model: 'Got it. Thanks for the context!' } }
        : {}),
      turns: Array.from({ length: shape.turns }, () => ({
        user: words(shape.promptWords, own),
        model: words(shape.replyWords, own),
      })),
    };
  });
}

/** A message of the history, in the order the client resends it. */
export interface Message {
  readonly role: 'user' | 'model';
  readonly text: string;
}

/** What the client sends on turn `turn` (0-based): the preamble, every earlier turn whole, and this turn's prompt. */
export function history(conversation: Conversation, turn: number): Message[] {
  const out: Message[] = [];
  if (conversation.preamble !== undefined) {
    out.push({ role: 'user', text: conversation.preamble.user }, { role: 'model', text: conversation.preamble.model });
  }
  conversation.turns.slice(0, turn + 1).forEach((t, i) => {
    out.push({ role: 'user', text: t.user });
    if (i < turn) out.push({ role: 'model', text: t.model });
  });
  return out;
}

/**
 * The two body-prefix fingerprints a gateway could take for a client that sends no id, as the text they would hash:
 * - `shared-prefix`: the start of the request, the system prompt and the first content: the same on every turn of a
 *   conversation whatever the client, but for Gemini CLI the first content is its environment context, which every
 *   conversation started in one place shares;
 * - `first-prompt`: everything up to the first user content that follows the model's first reply (Gemini CLI's first
 *   prompt, after its environment context and the model's acknowledgement), or the first content while the model has
 *   not replied yet: the same on every turn of a Gemini CLI conversation, but for a client without such a preamble
 *   it moves between the first turn and the second.
 */
export type PrefixFingerprint = 'shared-prefix' | 'first-prompt';

export function prefixKey(kind: PrefixFingerprint, system: string, messages: readonly Message[]): string {
  if (kind === 'shared-prefix') return `${system}\n${messages[0]?.text ?? ''}`;
  const firstModel = messages.findIndex((m) => m.role === 'model');
  const firstPrompt = messages.findIndex((m, i) => m.role === 'user' && i > firstModel);
  const upTo = firstModel < 0 || firstPrompt < 0 ? 1 : firstPrompt + 1;
  return [system, ...messages.slice(0, upTo).map((m) => m.text)].join('\n');
}

/** The prompt the fake reads for a turn, in words: the system prompt, then the history. */
export function promptWords(conversation: Conversation, turn: number): string[] {
  return [conversation.system, ...history(conversation, turn).map((m) => m.text)].flatMap((text) =>
    text.split(' ').filter((w) => w !== ''),
  );
}

function commonPrefix(a: readonly string[], b: readonly string[]): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

/**
 * For each prompt in the order sent, the most of it any routing could have served from a cache: the longest prefix it
 * shares with an earlier prompt (what one project that saw everything would hit), counted when it reaches `minTokens`.
 * `conversation[i]` names prompt i's conversation; a conversation's later prompts extend its earlier ones, so its
 * latest earlier prompt stands for all of them.
 */
export function idealCachedTokens(
  prompts: readonly (readonly string[])[],
  conversation: readonly number[],
  minTokens: number,
): number[] {
  const latest = new Map<number, readonly string[]>();
  return prompts.map((prompt, i) => {
    let best = 0;
    for (const earlier of latest.values()) best = Math.max(best, commonPrefix(prompt, earlier));
    latest.set(conversation[i] ?? -1, prompt);
    return best >= minTokens ? best : 0;
  });
}

/** What one turn's answer said of its prompt. */
export interface TurnUsage {
  readonly promptTokens: number;
  readonly cachedTokens: number;
  /** the most of this prompt any routing could have served from a cache ({@link idealCachedTokens}) */
  readonly idealTokens: number;
}

export interface CacheFigures {
  readonly turns: number;
  /** turns whose prompt hit the cache, over all turns */
  readonly hitShare: number;
  /** turns that could have hit, over all turns: every turn after the first of a conversation, and more where prompts share a long start */
  readonly idealHitShare: number;
  /** prompt tokens served from the cache, over all prompt tokens */
  readonly tokenShare: number;
  /** the most any routing could have served from a cache, over all prompt tokens */
  readonly idealTokenShare: number;
}

/** The cache's figures for a run of turns. */
export function cacheFigures(usages: readonly TurnUsage[]): CacheFigures {
  const sum = (f: (u: TurnUsage) => number): number => usages.reduce((total, u) => total + f(u), 0);
  const prompt = sum((u) => u.promptTokens);
  return {
    turns: usages.length,
    hitShare: usages.filter((u) => u.cachedTokens > 0).length / usages.length,
    idealHitShare: usages.filter((u) => u.idealTokens > 0).length / usages.length,
    tokenShare: sum((u) => u.cachedTokens) / prompt,
    idealTokenShare: sum((u) => u.idealTokens) / prompt,
  };
}

export interface CacheOptions {
  /** the pool's projects, as the capacity benchmark writes layouts */
  readonly projects: string;
  /** turns per conversation */
  readonly turns: number;
}

/**
 * `--projects <layout>` and `--turns <n>` (or `CACHE_PROJECTS`, `CACHE_TURNS`; flags win): issue 22's pool and 10
 * turns by default.
 *
 * @throws Error naming the setting, what it accepts and the value received
 */
export function parseCacheOptions(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): CacheOptions {
  const value = (flag: string, name: string): string | undefined => {
    const at = argv.indexOf(flag);
    return at >= 0 ? (argv[at + 1] ?? '') : env[name] || undefined;
  };
  const projects = value('--projects', 'CACHE_PROJECTS') ?? '10+1x10';
  if (projectLayoutLabels(projects) === undefined)
    throw new Error(`--projects must be a layout such as 10+1x10, got ${JSON.stringify(projects)}`);
  const turnsText = value('--turns', 'CACHE_TURNS') ?? '10';
  const turns = Number(turnsText);
  if (!/^[0-9]+$/.test(turnsText) || turns < 2 || turns > 100)
    throw new Error(`--turns must be an integer from 2 to 100, got ${JSON.stringify(turnsText)}`);
  return { projects, turns };
}
