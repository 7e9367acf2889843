/**
 * `npm run keys:check` against the fake Gemini, strict as Google: keys in projects, keys Google refuses, a declared
 * layout that agrees or not. Canary keys prove no key is ever printed, and the fake's store proves every probe file
 * is deleted, also when the run fails or is stopped.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type FakeBehaviour, type FakeGemini, startFakeGemini } from '../../dev/fake-gemini';
import { keysCheck, type KeysCheckIo } from '../../scripts/keys-check';
import { defined } from '../helpers/guards';
import { canaryApiKeys, canarySearch } from '../security/canaries';

const KEYS = canaryApiKeys(8);
const key = (n: number): string => defined(KEYS[n - 1], `KEY${n}`);
/** KEY1-3 one project, KEY4-5 another, KEY6 alone; KEY7 and KEY8 are refused (behaviours set per test) */
const PROJECTS = { [key(1)]: 'alpha', [key(2)]: 'alpha', [key(3)]: 'alpha', [key(4)]: 'beta', [key(5)]: 'beta' };
const findCanaries = canarySearch(KEYS);

let fake: FakeGemini;
beforeAll(async () => {
  fake = await startFakeGemini({ projects: PROJECTS });
});
afterAll(() => fake.close());
beforeEach(() => {
  fake.reset();
  fake.setKeyBehaviour(key(7), 'invalid-key');
  // this one's error message quotes the key, as Google's does: it must not reach the report
  fake.setKeyBehaviour(key(8), 'suspended-key');
});

interface Run {
  readonly code: number;
  readonly out: string[];
  readonly err: string[];
}

async function run(env: Record<string, string> = {}, io: Partial<KeysCheckIo> = {}): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await keysCheck({
    env: { TF_VAR_api_keys: JSON.stringify(KEYS), GEMINI_BASE_URL: fake.url, ...env },
    stdout: (line) => out.push(line),
    stderr: (line) => err.push(line),
    ...io,
  });
  // nothing it printed may hold a key, whole, encoded or in part
  expect(findCanaries([...out, ...err].join('\n'))).toEqual([]);
  return { code, out, err };
}

/** Every probe file is gone: no project holds a file and no upload is left open. */
function expectNoFilesLeft(): void {
  for (const k of KEYS) expect(fake.resources(k)).toMatchObject({ files: [], uploadSessions: [] });
}

describe('npm run keys:check', () => {
  it("reports each key's state and its project by index, and prints the KEY_PROJECTS line", async () => {
    const { code, out } = await run();
    expect(code).toBe(0);
    expect(out).toEqual([
      `keys:check: 8 keys, asked ${fake.url}`,
      '  KEY1  ok                project p1',
      '  KEY2  ok                project p1',
      '  KEY3  ok                project p1',
      '  KEY4  ok                project p2',
      '  KEY5  ok                project p2',
      '  KEY6  ok                project p3',
      '  KEY7  invalid           400 INVALID_ARGUMENT API_KEY_INVALID',
      '  KEY8  suspended         403 PERMISSION_DENIED CONSUMER_SUSPENDED',
      '8 keys: 6 in 3 projects; project unknown for KEY7, KEY8 (each counted as its own)',
      'KEY_PROJECTS=p1,p1,p1,p2,p2,p3,key7,key8',
      'KEY_PROJECTS is not set: every key counts as its own project',
    ]);
    expectNoFilesLeft();
  });

  it('calls Google once per key for its state, with the key in x-goog-api-key only, and one upload per project', async () => {
    await run();
    const states = fake.calls.filter((c) => c.path === '/v1beta/models');
    expect(states.map((c) => c.apiKey).sort()).toEqual([...KEYS].sort());
    expect(states.every((c) => c.search === '?pageSize=1')).toBe(true);
    for (const call of fake.calls) {
      expect(`${call.path}${call.search}`).not.toContain('AIza');
      expect(call.headers.authorization).toBeUndefined();
    }
    const starts = fake.calls.filter((c) => c.path === '/upload/v1beta/files' && c.search === '');
    expect(starts.map((c) => c.apiKey)).toEqual([key(1), key(4), key(6)]);
    // refused keys are not asked to probe files
    expect(fake.calls.filter((c) => c.apiKey === key(7) || c.apiKey === key(8))).toHaveLength(2);
    expect(fake.calls.filter((c) => c.method === 'DELETE')).toHaveLength(3);
  });

  it.each([
    ['service-disabled-403', 'service disabled  403 PERMISSION_DENIED SERVICE_DISABLED'],
    ['location-400', 'region refused    400 FAILED_PRECONDITION'],
    ['unauthenticated-401', 'invalid           401 UNAUTHENTICATED ACCESS_TOKEN_TYPE_UNSUPPORTED'],
    ['billing-disabled-403', 'other             403 PERMISSION_DENIED BILLING_DISABLED'],
    ['internal-500', 'other             500 INTERNAL'],
    ['leaked-key', 'other             403 PERMISSION_DENIED'],
  ] as const)('names a key answered %s by its state and codes', async (behaviour: FakeBehaviour, line) => {
    fake.setKeyBehaviour(key(6), behaviour);
    const { out } = await run();
    expect(out).toContain(`  KEY6  ${line}`);
  });

  it('agrees with a declared layout that groups the keys alike, whatever its labels', async () => {
    const { code, out } = await run({ KEY_PROJECTS: 'main,main,main,side,side,solo,k7,k8' });
    expect(code).toBe(0);
    expect(out.at(-1)).toBe('KEY_PROJECTS as declared agrees with what Google shows');
  });

  it('flags a declared layout that contradicts Google, as annotations and in the step summary', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keys-check-'));
    const summary = join(dir, 'summary.md');
    try {
      const env = { KEY_PROJECTS: 'a,a,b,b,b,c,d,e', GITHUB_ACTIONS: 'true', GITHUB_STEP_SUMMARY: summary };
      const { code, out } = await run(env);
      expect(code).toBe(1);
      const contradictions = [
        'KEY1, KEY2 and KEY3 share one Google project, but KEY_PROJECTS splits them into a, b',
        'KEY_PROJECTS puts KEY3, KEY4 and KEY5 in project b, but Google shows 2 projects',
      ];
      expect(out).toEqual(
        expect.arrayContaining([
          'KEY_PROJECTS as declared contradicts what Google shows:',
          ...contradictions.map((c) => `  - ${c}`),
          ...contradictions.map((c) => `::error title=keys:check::KEY_PROJECTS contradicts Google: ${c}`),
          '::warning title=keys:check::KEY7 is invalid (400 INVALID_ARGUMENT API_KEY_INVALID): the gateway will not use it',
        ]),
      );
      const written = readFileSync(summary, 'utf8');
      expect(written).toContain('KEY_PROJECTS=p1,p1,p1,p2,p2,p3,key7,key8');
      expect(findCanaries(written)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each([
    ['a,a', 'KEY_PROJECTS has 2 labels for 8 keys in TF_VAR_api_keys'],
    [
      'a,A,b,b,b,c,d,e',
      'KEY_PROJECTS label "A" must be 1 to 32 of a-z, 0-9, "_", "-", starting with a letter or digit',
    ],
  ])('fails on a malformed KEY_PROJECTS %p, naming the problem', async (declared, problem) => {
    const { code, out } = await run({ KEY_PROJECTS: declared });
    expect(code).toBe(1);
    expect(out.at(-1)).toBe(problem);
  });

  it('refuses to run without keys, and never quotes a malformed key list', async () => {
    expect((await run({ TF_VAR_api_keys: '' })).code).toBe(2);
    const broken = await run({ TF_VAR_api_keys: `["${key(1)}", ` });
    expect(broken.code).toBe(2);
    expect(broken.err).toEqual([
      'keys:check: TF_VAR_api_keys must be a JSON array of strings, e.g. ["key1","key2"]; it is not valid JSON',
    ]);
    expect(fake.calls).toEqual([]);
  });

  it('leaves a key unknown when its file lookup gets no clear answer, and still deletes every file', async () => {
    const flaky = key(5);
    const fetchSome: typeof fetch = (input, init) => {
      const headers = new Headers(init?.headers);
      if (headers.get('x-goog-api-key') === flaky && String(input).includes('/v1beta/files/')) {
        return Promise.resolve(new Response('{"error":{"code":503,"status":"UNAVAILABLE"}}', { status: 503 }));
      }
      return fetch(input, init);
    };
    const { out } = await run({}, { fetch: fetchSome });
    expect(out).toContain('  KEY5  ok                project unknown (the file probe got no clear answer)');
    expect(out).toContain('KEY_PROJECTS=p1,p1,p1,p2,key5,p3,key7,key8');
    expectNoFilesLeft();
  });

  it('deletes the files it made when it is stopped halfway', async () => {
    const stop = new AbortController();
    let lookups = 0;
    const stopping: typeof fetch = (input, init) => {
      if (String(input).includes('/v1beta/files/') && init?.method !== 'DELETE' && ++lookups === 2) stop.abort();
      return fetch(input, init);
    };
    await expect(run({}, { fetch: stopping, signal: stop.signal })).rejects.toThrow();
    expect(fake.calls.some((c) => c.method === 'DELETE')).toBe(true);
    expectNoFilesLeft();
  });
});
