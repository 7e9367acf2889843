/**
 * The orchestrator bundle in workerd with `KEY_PROJECTS` bound, in front of stub shards over service bindings: a
 * conversation named in the headers goes to its home shard on every turn with its fingerprint, and a shard's home
 * misdirect (421 with `x-zen-home-shard`) is followed with the body intact. The pure rules are covered in
 * conversations.test.ts; this checks that the bundle wires them to the runtime's bindings.
 */
import { Miniflare } from 'miniflare';
import { bundleWorker } from '../../../bundler/worker-bundles';
import { conversationOrder } from '../../../workers/orchestrator/pick';
import { fingerprintOf } from '../../../workers/shared/affinity';
import { DEFAULT_COMPATIBILITY_DATE } from '../../../workers/shared/contract';
import { keyLayout } from '../../../workers/shared/key-layout';

const LABELS = [...Array.from({ length: 10 }, () => 'big'), ...Array.from({ length: 10 }, (_, i) => `solo${i}`)];
const WEIGHTS = keyLayout(LABELS, 20, 8).shards.map((s) => s.weight);

const echoShard = (name: string): string => `
export default {
  async fetch(request) {
    return Response.json({ shard: '${name}', affinity: request.headers.get('x-zen-affinity'), body: await request.text() },
      { headers: { 'x-shard': '${name}' } });
  },
};`;

/** Misdirects a request without a fingerprint to shard 2, as a shard that found the conversation in the body does. */
const HOMING_SHARD = (fingerprint: string): string => `
export default {
  async fetch(request) {
    if (request.headers.has('x-zen-affinity')) {
      return Response.json({ shard: 'shard-0', affinity: request.headers.get('x-zen-affinity'), body: await request.text() },
        { headers: { 'x-shard': 'shard-0' } });
    }
    await request.arrayBuffer();
    return Response.json({ error: { code: 'misdirected_request' } },
      { status: 421, headers: { 'x-zen-home-shard': '2', 'x-zen-affinity': '${fingerprint}' } });
  },
};`;

const worker = (name: string, script: string, extra: Record<string, unknown> = {}) => ({
  name,
  modules: true,
  script,
  compatibilityDate: DEFAULT_COMPATIBILITY_DATE,
  ...extra,
});

describe('conversations through the orchestrator in workerd', () => {
  let mf: Miniflare;
  const logs: string[] = [];
  const bodyFingerprint = fingerprintOf('body-only-conversation');

  beforeAll(async () => {
    const orchestrator = bundleWorker('orchestrator');
    const bindings = { SHARD_KEY_COUNTS: '8,8,4', KEY_PROJECTS: LABELS.join(','), KEYS_PER_SHARD: '8' };
    mf = new Miniflare({
      handleStructuredLogs: ({ message }: { message: string }) => {
        logs.push(message);
      },
      workers: [
        worker('orchestrator', orchestrator, {
          serviceBindings: { BACKEND_SERVICE_0: 'shard-0', BACKEND_SERVICE_1: 'shard-1', BACKEND_SERVICE_2: 'shard-2' },
          bindings,
        }),
        worker('orchestrator-homing', orchestrator, {
          serviceBindings: {
            BACKEND_SERVICE_0: 'shard-homing',
            BACKEND_SERVICE_1: 'shard-1',
            BACKEND_SERVICE_2: 'shard-2',
          },
          // three projects, one per shard: equal weights; shard 0 misdirects the conversation to shard 2
          bindings: { ...bindings, KEY_PROJECTS: 'a,a,a,a,a,a,a,a,b,b,b,b,b,b,b,b,c,c,c,c' },
        }),
        worker('shard-0', echoShard('shard-0')),
        worker('shard-1', echoShard('shard-1')),
        worker('shard-2', echoShard('shard-2')),
        worker('shard-homing', HOMING_SHARD(bodyFingerprint)),
      ],
    });
    await mf.ready;
  });

  afterAll(async () => {
    await mf.dispose();
  });

  it('sends every turn of a conversation to its home shard, with its fingerprint', async () => {
    for (const c of [0, 1, 2, 3]) {
      const id = `claude-code-session-${c}`;
      const home = conversationOrder(fingerprintOf(id), WEIGHTS, [0, 1, 2], 1)[0];
      const shards = new Set<string>();
      for (let turn = 0; turn < 5; turn++) {
        const res = await mf.dispatchFetch('http://gateway.test/v1/messages', {
          method: 'POST',
          headers: { 'x-claude-code-session-id': id },
          body: `{"turn":${turn}}`,
        });
        const answer = (await res.json()) as { shard: string; affinity: string | null; body: string };
        shards.add(answer.shard);
        expect(answer.affinity).toBe(fingerprintOf(id));
        expect(answer.body).toBe(`{"turn":${turn}}`);
      }
      expect([...shards]).toEqual([`shard-${home}`]);
    }
    // the log names the fingerprint, never the conversation id (lines may trail their responses a little)
    for (let waited = 0; logs.length < 20 && waited < 5000; waited += 10) await new Promise((r) => setTimeout(r, 10));
    expect(logs.join('\n')).toContain(`"affinity":"${fingerprintOf('claude-code-session-0')}"`);
    expect(logs.join('\n')).not.toContain('claude-code-session-');
  });

  it("follows a shard's home misdirect with the body and the fingerprint", async () => {
    const fetcher = await mf.getWorker('orchestrator-homing');
    // the draw is random over three equal shards: send until one lands on shard 0, which misdirects it home
    for (let i = 0; i < 30; i++) {
      const res = (await fetcher.fetch('http://gateway.test/v1/responses', {
        method: 'POST',
        body: '{"prompt_cache_key":"body-only-conversation"}',
      } as never)) as unknown as Response;
      const answer = (await res.json()) as { shard: string; affinity: string | null; body: string };
      expect(answer.body).toBe('{"prompt_cache_key":"body-only-conversation"}');
      if (answer.shard === 'shard-2' && answer.affinity === bodyFingerprint) return;
    }
    throw new Error('no request was misdirected home to shard 2');
  });
});
