/**
 * Conversations stay home: where the shard finds a conversation id (headers first, then the body fields agents
 * send), the order it tries its projects in, and when the home is another shard.
 */
import fc from 'fast-check';
import {
  bodyConversationId,
  conversationOf,
  homeElsewhere,
  rankedProjects,
} from '../../../../workers/shard/core/conversation';
import { fingerprintOf, homeShardOf } from '../../../../workers/shared/affinity';
import { keyLayout } from '../../../../workers/shared/key-layout';

describe('bodyConversationId', () => {
  it('reads prompt_cache_key (Codex, the OpenAI SDKs)', () => {
    expect(bodyConversationId({ prompt_cache_key: 'thread-1', user: 'u' }, { user: true })).toBe('thread-1');
  });

  it("reads the session_id of Claude Code's metadata.user_id, a JSON string, or an older user id's suffix", () => {
    const userId = JSON.stringify({ device_id: 'd', account_uuid: 'a', session_id: 'c0ffee-01' });
    expect(bodyConversationId({ metadata: { user_id: userId } })).toBe('c0ffee-01');
    expect(bodyConversationId({ metadata: { user_id: 'user_ab12_account_x-1_session_5e55-10' } })).toBe('5e55-10');
    expect(bodyConversationId({ metadata: { user_id: '{not json' } })).toBeUndefined();
    expect(bodyConversationId({ metadata: { user_id: 'user_only' } })).toBeUndefined();
    expect(bodyConversationId({ metadata: 'x' })).toBeUndefined();
  });

  it('reads user only where the route says (chat completions), and nothing empty or not a string', () => {
    expect(bodyConversationId({ user: 'end-user-7' }, { user: true })).toBe('end-user-7');
    expect(bodyConversationId({ user: 'end-user-7' })).toBeUndefined();
    expect(bodyConversationId({ prompt_cache_key: '  ', user: 3 }, { user: true })).toBeUndefined();
  });
});

describe('conversationOf', () => {
  it('takes the orchestrator’s fingerprint first, then the conversation headers, then the body, which alone may be elsewhere', () => {
    const given = new Headers({ 'x-zen-affinity': '0123abcd', 'session-id': 's' });
    expect(conversationOf(given, 'b')).toEqual({ fingerprint: '0123abcd', fromBody: false });
    const headers = new Headers({ 'session-id': 's' });
    expect(conversationOf(headers, 'b')).toEqual({ fingerprint: fingerprintOf('s'), fromBody: false });
    expect(conversationOf(new Headers(), 'b')).toEqual({ fingerprint: fingerprintOf('b'), fromBody: true });
    expect(conversationOf(new Headers({ 'x-zen-affinity': 'not-hex!' }), undefined)).toBeUndefined();
  });
});

describe('rankedProjects and homeElsewhere', () => {
  const projects = ['a', 'b', 'c', 'd'].map((label, i) => ({ label, keys: [i + 1], weight: 1, lists: true }));

  it('ranks every project once, the same for the same conversation, home first in proportion to quota share', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), (id) => {
        const ranked = rankedProjects(projects, fingerprintOf(id));
        expect(ranked.map((p) => p.label).sort()).toEqual(['a', 'b', 'c', 'd']);
        expect(rankedProjects(projects, fingerprintOf(id))).toEqual(ranked);
      }),
    );
    const weighted = projects.map((p, i) => ({ ...p, weight: i === 0 ? 3 : 1 }));
    const homes = Array.from({ length: 6000 }, (_, i) => rankedProjects(weighted, fingerprintOf(`c${i}`))[0]?.label);
    expect(homes.filter((h) => h === 'a').length / 6000).toBeCloseTo(0.5, 1);
  });

  it('names the home shard only on a shard behind the orchestrator that knows the layout, and not its own', () => {
    const layout = keyLayout(['a', 'a', 'b', 'c', 'd', 'e'], 6, 2);
    const fingerprint = fingerprintOf('conversation-1');
    const home = homeShardOf(fingerprint, layout) ?? -1;
    expect(homeElsewhere(fingerprint, home, layout, 3)).toBeUndefined();
    expect(homeElsewhere(fingerprint, (home + 1) % layout.shards.length, layout, 3)).toEqual({ home });
    expect(homeElsewhere(fingerprint, undefined, layout, 3)).toBeUndefined();
  });

  it('without the layout, leaves the home to the orchestrator when there are other shards', () => {
    const fingerprint = fingerprintOf('conversation-2');
    expect(homeElsewhere(fingerprint, 0, undefined, 3)).toEqual({});
    expect(homeElsewhere(fingerprint, 0, undefined, 1)).toBeUndefined();
    expect(homeElsewhere(fingerprint, 0, undefined, Number.NaN)).toBeUndefined();
    expect(homeElsewhere(fingerprint, undefined, undefined, 3)).toBeUndefined();
  });
});
