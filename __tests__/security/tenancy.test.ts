/**
 * Tenancy red-team: two clients (alice, bob) and the operator (`PASS`) through the prod topology `cdktf synth` produces
 * (12 canary keys on three shards behind the orchestrator), emulated in workerd, against the fake Gemini. Bob tries
 * every way of reaching what alice stored (list, get, use in a prompt, download, cancel, delete, continue an upload),
 * and forged and tampered names; each is the same 404 `resource_not_found` and the fake sees no call. The operator
 * sees and manages both; listings are each client's own across shards and pages; a name made before clients were kept
 * apart works for the operator only; a PASS rotation leaves clients without their old names and the operator with all.
 * ADR 0008 and docs/resources.md ("Clients kept apart") describe the scheme.
 */
import { rmSync } from 'node:fs';
import { createPartFromUri, GoogleGenAI } from '@google/genai';
import { type FakeGemini, startFakeGemini } from '../../dev/fake-gemini';
import { type RunningTopology, startTopology } from '../../scripts/local/start';
import { parseTaggedId, tagId } from '../../workers/shared/owner-tag';
import { markOf } from '../../workers/shard/surfaces/resources/tenancy';
import { keyOwners, synthesizeToTempDir, synthesizedTopology } from '../helpers/emulated-topology';
import { gatewayReason } from '../helpers/google-errors';
import { defined } from '../helpers/guards';
import { resumableStart } from '../helpers/resumable-upload';
import { CANARY_PASS, CANARY_STEM, canaryApiKeys, canarySearch } from './canaries';

const KEYS = canaryApiKeys(12);
const PASS = CANARY_PASS;
const TOKENS = { alice: `${CANARY_STEM}alice-7c1e99d04b2f5a36`, bob: `${CANARY_STEM}bob-0d4f6a2c9e8b7130` };
const MODEL = 'gemini-3.8-flash';
const findCanaries = canarySearch([...KEYS, PASS, ...Object.values(TOKENS)]);

jest.setTimeout(180_000);

let outDir: string;
let fake: FakeGemini;
let running: RunningTopology;
/** every response body and header the tests saw, and every log line, searched for canaries at the end */
const seen: string[] = [];

type Who = 'alice' | 'bob' | 'operator';
const credential = (who: Who): string => (who === 'operator' ? PASS : TOKENS[who]);

function sdk(who: Who, url = running.url): GoogleGenAI {
  // Jest's sandbox hides the undici dispatcher the SDK looks up for its own fetch; the sandbox's changes nothing on the wire
  return new GoogleGenAI({ apiKey: credential(who), httpOptions: { baseUrl: url, fetch: (i, o) => fetch(i, o) } });
}

interface Reply {
  readonly status: number;
  readonly text: string;
  readonly json: unknown;
  readonly headers: Headers;
}

/** One request as `who`: the credential where native clients put it, or as a Bearer token on the OpenAI paths. */
async function call(who: Who, method: string, path: string, body?: unknown, url = running.url): Promise<Reply> {
  const openai = path.startsWith('/v1/');
  const headers: Record<string, string> = openai
    ? { authorization: `Bearer ${credential(who)}` }
    : { 'x-goog-api-key': credential(who) };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${url}${path}`, {
    method,
    headers,
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  seen.push(`${[...res.headers].map(([n, v]) => `${n}: ${v}`).join('\n')}\n${text}`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, text, json, headers: res.headers };
}

/** The gateway's code in a refusal, in either shape (Google's ErrorInfo reason, OpenAI's `code`). */
function codeOf(reply: Reply): unknown {
  const openai = (reply.json as { error?: { code?: unknown } } | undefined)?.error?.code;
  return typeof openai === 'string' ? openai : gatewayReason(reply.json);
}

/** The message of a refusal, in either shape. */
const messageOf = (reply: Reply): unknown =>
  (reply.json as { error?: { message?: unknown } } | undefined)?.error?.message;

/** The id of a gateway name (`files/<id>` → `<id>`). */
const idOf = (name: string): string => defined(name.split('/')[1], `id of ${name}`);

/** What alice stores before each attack: a file, a JSONL file, a cache, a batch, an interaction, an open upload. */
interface Stored {
  readonly file: { readonly name: string; readonly uri: string };
  readonly jsonl: string;
  readonly cache: string;
  readonly batch: string;
  readonly interaction: string;
  readonly uploadUrl: string;
}

async function store(who: Who): Promise<Stored> {
  const ai = sdk(who);
  const file = await ai.files.upload({ file: new Blob([`${who}'s notes`], { type: 'text/plain' }) });
  const line = JSON.stringify({ key: 'k1', request: { contents: [{ role: 'user', parts: [{ text: 'hi' }] }] } });
  const jsonl = await ai.files.upload({
    file: new Blob([`${line}\n`], { type: 'application/jsonl' }),
    config: { mimeType: 'application/jsonl', name: `${parseTagPrefix(defined(file.name, 'name'))}-input` },
  });
  const part = createPartFromUri(defined(file.uri, 'uri'), 'text/plain');
  const cache = await ai.caches.create({
    model: MODEL,
    config: { contents: [{ role: 'user', parts: [part] }], displayName: `${who}'s cache`, ttl: '600s' },
  });
  const batch = await ai.batches.create({
    model: MODEL,
    src: defined(jsonl.name, 'jsonl'),
    config: { displayName: `${who}'s batch` },
  });
  const interaction = await ai.interactions.create({ model: MODEL, input: 'hello' });
  const start = await fetch(`${running.url}/upload/v1beta/files`, resumableStart(credential(who), 5, 'text/plain'));
  return {
    file: { name: defined(file.name, 'file'), uri: defined(file.uri, 'uri') },
    jsonl: defined(jsonl.name, 'jsonl'),
    cache: defined(cache.name, 'cache'),
    batch: defined(batch.name, 'batch'),
    interaction: defined(interaction.id, 'interaction'),
    uploadUrl: defined(start.headers.get('x-goog-upload-url') ?? undefined, 'upload url'),
  };
}

/** The owner tag in front of a gateway name, for a later upload to be placed on the same key. */
function parseTagPrefix(name: string): string {
  return defined(idOf(name).split('-')[0], `tag of ${name}`);
}

/** Every way to reach a stored resource, as [label, method, path, body]. */
function attacks(s: Stored): [string, string, string, unknown?][] {
  const fileId = idOf(s.file.name);
  const text = [{ role: 'user', parts: [{ text: 'q' }] }];
  return [
    ['files.get', 'GET', `/v1beta/${s.file.name}`],
    ['files.delete', 'DELETE', `/v1beta/${s.file.name}`],
    ['files.download', 'GET', `/v1beta/${s.file.name}:download?alt=media`],
    ['files.download (download host path)', 'GET', `/download/v1beta/${s.file.name}:download?alt=media`],
    [
      'the file in a prompt',
      'POST',
      `/v1beta/models/${MODEL}:generateContent`,
      { contents: [{ role: 'user', parts: [{ fileData: { fileUri: s.file.uri, mimeType: 'text/plain' } }] }] },
    ],
    [
      'the file in an OpenAI chat',
      'POST',
      '/v1/chat/completions',
      { model: MODEL, messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: s.file.uri } }] }] },
    ],
    [
      'the file in a new cache',
      'POST',
      '/v1beta/cachedContents',
      { model: `models/${MODEL}`, contents: [{ role: 'user', parts: [{ fileData: { fileUri: s.file.uri } }] }] },
    ],
    ['caches.get', 'GET', `/v1beta/${s.cache}`],
    ['caches.update', 'PATCH', `/v1beta/${s.cache}?updateMask=ttl`, { ttl: '60s' }],
    ['caches.delete', 'DELETE', `/v1beta/${s.cache}`],
    [
      'the cache in a prompt',
      'POST',
      `/v1beta/models/${MODEL}:generateContent`,
      { contents: text, cachedContent: s.cache },
    ],
    ['batches.get', 'GET', `/v1beta/${s.batch}`],
    ['batches.cancel', 'POST', `/v1beta/${s.batch}:cancel`],
    ['batches.delete', 'DELETE', `/v1beta/${s.batch}`],
    [
      'the input file in a new batch',
      'POST',
      `/v1beta/models/${MODEL}:batchGenerateContent`,
      { batch: { displayName: 'stolen', inputConfig: { fileName: s.jsonl } } },
    ],
    ['interactions.get', 'GET', `/v1beta/interactions/${s.interaction}`],
    ['interactions.cancel', 'POST', `/v1beta/interactions/${s.interaction}/cancel`],
    ['interactions.delete', 'DELETE', `/v1beta/interactions/${s.interaction}`],
    [
      'the interaction continued',
      'POST',
      '/v1beta/interactions',
      { model: MODEL, input: 'go on', previous_interaction_id: s.interaction },
    ],
    ['the upload continued', 'POST', `${new URL(s.uploadUrl).pathname}${new URL(s.uploadUrl).search}`, 'bytes'],
    ['OpenAI files.retrieve', 'GET', `/v1/files/files%2F${fileId}`],
    ['OpenAI files.content', 'GET', `/v1/files/${fileId}/content`],
    ['OpenAI files.delete', 'DELETE', `/v1/files/files%2F${fileId}`],
    [
      'OpenAI batches.create from the file',
      'POST',
      '/v1/batches',
      { input_file_id: s.jsonl, endpoint: '/v1/chat/completions', completion_window: '24h' },
    ],
    ['OpenAI batches.retrieve', 'GET', `/v1/batches/batches%2F${idOf(s.batch)}`],
    ['OpenAI batches.cancel', 'POST', `/v1/batches/${idOf(s.batch)}/cancel`],
  ];
}

/** Sends each attack as `who` and returns what came back, checking that the fake saw no call. */
async function attempt(who: Who, list: [string, string, string, unknown?][]): Promise<Reply[]> {
  const replies: Reply[] = [];
  for (const [label, method, path, body] of list) {
    const before = fake.calls.length;
    const reply = await call(who, method, path, body);
    expect({ label, upstreamCalls: fake.calls.length - before }).toEqual({ label, upstreamCalls: 0 });
    replies.push(reply);
  }
  return replies;
}

/** Every reply is the one 404 `resource_not_found`, with one message. */
function expectAllNotFound(list: [string, string, string, unknown?][], replies: Reply[]): void {
  const outcomes = replies.map((r, i) => ({ label: list[i]?.[0], status: r.status, code: codeOf(r) }));
  expect(outcomes).toEqual(list.map(([label]) => ({ label, status: 404, code: 'resource_not_found' })));
  expect(new Set(replies.map(messageOf)).size).toBe(1);
}

beforeAll(async () => {
  outDir = await synthesizeToTempDir('zen-tenancy-', 'prod', { KEY_COUNT: String(KEYS.length), KEYS_PER_SHARD: '4' });
  fake = await startFakeGemini({ port: 0 });
  running = await startTopology({
    topology: synthesizedTopology(outDir, 'prod', { apiKeys: KEYS, pass: PASS, clientTokens: TOKENS }, fake.url),
    port: 0,
    onLog: (message) => seen.push(message),
  });
});

afterAll(async () => {
  await running?.dispose();
  await fake?.close();
  if (outDir) rmSync(outDir, { recursive: true, force: true });
  expect(seen.flatMap(findCanaries)).toEqual([]);
});

beforeEach(() => fake.reset());

describe("bob and alice's resources", () => {
  it('cannot list, get, use, download, cancel, delete or continue any of them: one 404, and Google sees no call', async () => {
    const alices = await store('alice');
    const list = attacks(alices);
    expectAllNotFound(list, await attempt('bob', list));
    // alice's file named the id she chose for it after her mark, on the key her tag placed it
    expect(idOf(alices.jsonl)).toMatch(new RegExp(`-${await markOf(PASS, 'alice')}-input$`));
    expect(parseTaggedId(idOf(alices.jsonl))?.owner).toEqual(parseTaggedId(idOf(alices.file.name))?.owner);
    for (const [collection, field] of [
      ['files', 'files'],
      ['cachedContents', 'cachedContents'],
      ['batches', 'operations'],
    ]) {
      const listed = await call('bob', 'GET', `/v1beta/${collection}?pageSize=50`);
      expect({ collection, status: listed.status, json: listed.json }).toEqual({
        collection,
        status: 200,
        json: { [field as string]: [] },
      });
    }
    // nothing of alice's was touched: she still reaches all of it
    const ai = sdk('alice');
    expect((await ai.files.get({ name: alices.file.name })).name).toBe(alices.file.name);
    expect((await ai.caches.get({ name: alices.cache })).displayName).toBe("alice's cache");
    expect((await ai.batches.get({ name: alices.batch })).displayName).toBe("alice's batch");
    expect((await call('alice', 'GET', `/v1beta/interactions/${alices.interaction}`)).status).toBe(200);
    const reply = await ai.models.generateContent({
      model: MODEL,
      contents: [createPartFromUri(alices.file.uri, 'text/plain'), 'what is in it?'],
    });
    expect(reply.text).toBeTruthy();
    const finish = await fetch(alices.uploadUrl, {
      method: 'POST',
      headers: {
        'x-goog-api-key': TOKENS.alice,
        'x-goog-upload-command': 'upload, finalize',
        'x-goog-upload-offset': '0',
      },
      body: 'hello',
    });
    expect(finish.status).toBe(200);
  });

  it('answers a forged or tampered name the same way, to bob and to alice, before any call', async () => {
    const { file } = await store('alice');
    const tagged = defined(parseTaggedId(idOf(file.name)), 'tagged');
    const seal = defined(tagged.seal, 'seal');
    const flipped = `${seal.slice(0, 7)}${seal.endsWith('a') ? 'b' : 'a'}`;
    const otherKey = { ...tagged.owner, key: tagged.owner.key === 1 ? 2 : 1 };
    const forgeries: [string, string, string][] = [
      ['a seal with one character changed', 'GET', `/v1beta/files/${tagId(tagged.owner, tagged.googleId, flipped)}`],
      ['another Google id under the seal', 'GET', `/v1beta/files/${tagId(tagged.owner, `${tagged.googleId}x`, seal)}`],
      ['the seal moved to another key', 'GET', `/v1beta/files/${tagId(otherKey, tagged.googleId, seal)}`],
      ['the name without its seal', 'GET', `/v1beta/files/${tagId(tagged.owner, tagged.googleId)}`],
      ['a made-up seal', 'GET', `/v1beta/files/${tagId(tagged.owner, 'abc123', 'aaaaaaaa')}`],
      ['the file in another collection', 'GET', `/v1beta/cachedContents/${idOf(file.name)}`],
    ];
    for (const who of ['bob', 'alice'] as const) expectAllNotFound(forgeries, await attempt(who, forgeries));
  });
});

describe('the surfaces that translate (Anthropic Messages, OpenAI Responses)', () => {
  /** A prompt naming `uri` as each translating client writes a file by URL, with the credential where each puts it. */
  const viaAnthropic = (who: Who, uri: string) =>
    fetch(`${running.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': credential(who), 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({
        model: 'claude-haiku-4-5',
        max_tokens: 64,
        messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'url', url: uri } }] }],
      }),
    });
  const viaResponses = (who: Who, uri: string) =>
    call(who, 'POST', '/v1/responses', {
      model: MODEL,
      store: false,
      input: [
        {
          role: 'user',
          content: [
            { type: 'input_file', file_url: uri },
            { type: 'input_text', text: 'q' },
          ],
        },
      ],
    });

  it("hold a file URI to the native surface's rules: bob reaches none of alice's, tagged or not, and Google sees no call", async () => {
    const { file } = await store('alice');
    // the URI Google itself gives the file, as someone who learnt its Google id would write it
    const googleId = defined(parseTaggedId(idOf(file.name)), 'tag').googleId;
    const untagged = `https://generativelanguage.googleapis.com/v1beta/files/${googleId}`;
    const notFound = messageOf(await call('bob', 'GET', `/v1beta/${file.name}`));
    const before = fake.calls.length;
    for (const [uri, status, code] of [
      [file.uri, 404, 'resource_not_found'],
      [untagged, 404, 'unknown_resource_owner'],
    ] as const) {
      const anthropic = await viaAnthropic('bob', uri);
      const body = (await anthropic.json()) as { error: { type: string; message: string } };
      seen.push(JSON.stringify(body));
      expect({ status: anthropic.status, type: body.error.type }).toEqual({ status, type: 'not_found_error' });
      if (code === 'resource_not_found') expect(body.error.message).toBe(notFound);
      const responses = await viaResponses('bob', uri);
      expect({ status: responses.status, code: codeOf(responses) }).toEqual({ status, code });
      // nor may alice name her file by its bare Google id: the gateway knows no key for it
    }
    // nor may alice name her own file by its bare Google id: the gateway knows no key for it
    expect(codeOf(await viaResponses('alice', untagged))).toBe('unknown_resource_owner');
    expect(fake.calls.slice(before)).toEqual([]);
  });

  it("send alice's own file, its tag stripped, to her file's project, and leave text that looks like a name alone", async () => {
    const { file } = await store('alice');
    // the key her file was uploaded with: Google keeps it in that key's project
    const uploader = fake.calls.find((c) => c.path === '/upload/v1beta/files')?.apiKey;
    const before = fake.calls.length;
    const reply = await viaResponses('alice', file.uri);
    expect(reply.status).toBe(200);
    const anthropic = await viaAnthropic('alice', file.uri);
    expect(anthropic.status).toBe(200);
    // one call each, on the uploading key's project (the fake refuses any other), the URI without its tag
    const sent = fake.calls.slice(before).filter((c) => /:(stream)?[gG]enerateContent$/.test(c.path));
    expect(sent.map((c) => c.apiKey)).toEqual([defined(uploader, 'uploader'), uploader]);
    expect(sent.map((c) => c.body).join()).not.toContain(idOf(file.name));
    expect(sent.map((c) => c.body).join()).toContain(defined(parseTaggedId(idOf(file.name)), 'tag').googleId);
    const text = await call('bob', 'POST', '/v1/responses', {
      model: MODEL,
      store: false,
      input: [{ role: 'user', content: [{ type: 'input_text', text: 'files/report.txt' }] }],
    });
    expect(text.status).toBe(200);
  });
});

describe('the operator', () => {
  it("sees, uses and manages both clients' resources, which stay out of the clients' sight of each other", async () => {
    const alices = await store('alice');
    const bobs = await store('bob');
    const op = sdk('operator');
    // alice's own names work for the operator
    expect((await op.files.get({ name: alices.file.name })).name).toBe(alices.file.name);
    expect((await op.caches.get({ name: bobs.cache })).displayName).toBe("bob's cache");
    const reply = await op.models.generateContent({
      model: MODEL,
      contents: [createPartFromUri(alices.file.uri, 'text/plain'), createPartFromUri(alices.file.uri, 'text/plain')],
    });
    expect(reply.text).toBeTruthy();
    // the operator's listing holds both clients' files, named so that each name still works for its client
    const listed: string[] = [];
    for await (const f of await op.files.list({ config: { pageSize: 3 } })) listed.push(defined(f?.name, 'listed'));
    expect(listed).toEqual(expect.arrayContaining([alices.file.name, alices.jsonl, bobs.file.name, bobs.jsonl]));
    await op.caches.delete({ name: bobs.cache });
    await expect(sdk('bob').caches.get({ name: bobs.cache })).rejects.toMatchObject({ status: 403 });
    // what the operator stores is the operator's alone
    const mine = await op.files.upload({ file: new Blob(['operator notes'], { type: 'text/plain' }) });
    expect(parseTaggedId(idOf(defined(mine.name, 'name')))?.seal).toBeUndefined();
    const before = fake.calls.length;
    expect(codeOf(await call('alice', 'GET', `/v1beta/${defined(mine.name, 'name')}`))).toBe('resource_not_found');
    expect(fake.calls.length).toBe(before);
    const alicesList = await call('alice', 'GET', '/v1beta/files?pageSize=50');
    expect((alicesList.json as { files: { name: string }[] }).files.map((f) => f.name).sort()).toEqual(
      [alices.file.name, alices.jsonl].sort(),
    );
  });

  it('keeps names made before clients were kept apart usable by the operator only', async () => {
    // a file stored at Google before this change: its tag has no seal, exactly as the gateway handed it out then
    const key = defined(KEYS[5], 'key');
    fake.seedResource(key, 'files/legacy1');
    const listed = (await call('operator', 'GET', '/v1beta/files?pageSize=50')).json as { files: { name: string }[] };
    const legacy = defined(
      listed.files.find((f) => f.name.endsWith('-legacy1')),
      'the legacy file in the operator listing',
    );
    expect(parseTaggedId(idOf(legacy.name))?.seal).toBeUndefined();
    expect((await call('operator', 'GET', `/v1beta/${legacy.name}`)).status).toBe(200);
    const before = fake.calls.length;
    for (const who of ['alice', 'bob'] as const) {
      const reply = await call(who, 'GET', `/v1beta/${legacy.name}`);
      expect({ status: reply.status, code: codeOf(reply) }).toEqual({ status: 404, code: 'resource_not_found' });
    }
    expect(fake.calls.length).toBe(before);
  });
});

describe('listings', () => {
  it("list each client's own files only, scattered across keys, shards and Google pages, with no empty page", async () => {
    const topology = synthesizedTopology(outDir, 'prod', { apiKeys: KEYS, pass: PASS, clientTokens: TOKENS }, fake.url);
    const shardOf = keyOwners(topology, KEYS);
    const [aliceMark, bobMark] = [await markOf(PASS, 'alice'), await markOf(PASS, 'bob')];
    const expected: Record<Who, string[]> = { alice: [], bob: [], operator: [] };
    KEYS.forEach((key, k) => {
      // alice on every third key, bob on the others' first half, everyone else's (the operator's) everywhere; one key
      // holds far more of others' files than a Google page, so a client's file after them is found by scanning
      const others = k === 4 ? 230 : 2;
      for (let i = 0; i < others; i++) fake.seedResource(key, `files/op-${k}-${i}`);
      if (k % 3 === 0) for (let i = 0; i < 2; i++) fake.seedResource(key, `files/${aliceMark}-${k}-${i}`);
      if (k % 3 === 1 && k < 8) fake.seedResource(key, `files/${bobMark}-${k}`);
      if (k === 4) fake.seedResource(key, `files/${aliceMark}-after-many`);
    });
    for (const key of KEYS) {
      for (const name of fake.resources(key).files) {
        const id = idOf(name);
        if (id.startsWith(aliceMark)) expected.alice.push(id);
        else if (id.startsWith(bobMark)) expected.bob.push(id);
        expected.operator.push(id);
      }
    }
    expect(new Set([...shardOf.values()]).size).toBe(3);
    for (const who of ['alice', 'bob', 'operator'] as const) {
      for (const pageSize of [2, 5]) {
        const listed: (string | undefined)[] = [];
        for await (const f of await sdk(who).files.list({ config: { pageSize } })) listed.push(f?.name);
        const ids = listed.map(
          (n) => defined(parseTaggedId(idOf(defined(n, `${who}: an empty page`))), 'tag').googleId,
        );
        expect({ who, pageSize, ids: ids.sort() }).toEqual({ who, pageSize, ids: [...expected[who]].sort() });
      }
    }
    // every name a client listed is one it can use
    const first = defined(
      (await call('bob', 'GET', '/v1beta/files?pageSize=1')).json as { files: { name: string }[] },
      'page',
    );
    expect((await call('bob', 'GET', `/v1beta/${defined(first.files[0], 'bob file').name}`)).status).toBe(200);
  });

  it("list each client's own cached contents and batches, with the display names it gave", async () => {
    for (const who of ['alice', 'bob', 'alice'] as const) {
      await sdk(who).caches.create({
        model: MODEL,
        config: { contents: [{ role: 'user', parts: [{ text: 'long context' }] }], displayName: `${who} cache` },
      });
      await sdk(who).batches.create({
        model: MODEL,
        src: [{ contents: [{ role: 'user', parts: [{ text: 'batched' }] }] }],
        config: { displayName: `${who} batch` },
      });
    }
    await sdk('operator').caches.create({
      model: MODEL,
      config: { contents: [{ role: 'user', parts: [{ text: 'x' }] }], displayName: 'operator cache' },
    });
    const names = async (who: Who, what: 'caches' | 'batches'): Promise<string[]> => {
      const out: string[] = [];
      const pager =
        what === 'caches'
          ? await sdk(who).caches.list({ config: { pageSize: 1 } })
          : await sdk(who).batches.list({ config: { pageSize: 1 } });
      for await (const item of pager) out.push(defined(item?.displayName, `${who}'s ${what}: an empty page`));
      return out.sort();
    };
    expect(await names('alice', 'caches')).toEqual(['alice cache', 'alice cache']);
    expect(await names('bob', 'caches')).toEqual(['bob cache']);
    expect(await names('operator', 'caches')).toEqual(['alice cache', 'alice cache', 'bob cache', 'operator cache']);
    expect(await names('alice', 'batches')).toEqual(['alice batch', 'alice batch']);
    expect(await names('bob', 'batches')).toEqual(['bob batch']);
  });
});

describe('marks', () => {
  it("stay in front of a display name the client, or the operator, updates; Google sees the client's mark", async () => {
    const { cache } = await store('alice');
    const mark = await markOf(PASS, 'alice');
    const sentTo = () => JSON.parse(defined(fake.calls.at(-1), 'the update at Google').body) as unknown;
    await call('alice', 'PATCH', `/v1beta/${cache}?updateMask=displayName`, { displayName: 'zen:aaaaaaaa:renamed' });
    expect(sentTo()).toEqual({ displayName: `zen:${mark}:zen:aaaaaaaa:renamed` });
    await call('alice', 'PATCH', `/v1beta/${cache}?updateMask=displayName`, {});
    expect(sentTo()).toEqual({ displayName: `zen:${mark}:` });
    await call('operator', 'PATCH', `/v1beta/${cache}?updateMask=displayName`, { displayName: 'by the operator' });
    expect(sentTo()).toEqual({ displayName: `zen:${mark}:by the operator` });
    await call('alice', 'PATCH', `/v1beta/${cache}?updateMask=ttl`, { ttl: '60s' });
    expect(sentTo()).toEqual({ ttl: '60s' });
  });
});

describe('a PASS rotation', () => {
  it('leaves clients without their old names and listings, and the operator with everything', async () => {
    const { file } = await store('alice');
    const rotated = `${PASS}-rotated`;
    const after = await startTopology({
      topology: synthesizedTopology(outDir, 'prod', { apiKeys: KEYS, pass: rotated, clientTokens: TOKENS }, fake.url),
      port: 0,
      onLog: (message) => seen.push(message),
    });
    try {
      const before = fake.calls.length;
      const alice = await call('alice', 'GET', `/v1beta/${file.name}`, undefined, after.url);
      expect({ status: alice.status, code: codeOf(alice) }).toEqual({ status: 404, code: 'resource_not_found' });
      expect(fake.calls.length).toBe(before);
      const listed = await call('alice', 'GET', '/v1beta/files?pageSize=50', undefined, after.url);
      expect(listed.json).toEqual({ files: [] });
      const operator = await fetch(`${after.url}/v1beta/${file.name}`, { headers: { 'x-goog-api-key': rotated } });
      expect(operator.status).toBe(200);
      await operator.text();
    } finally {
      await after.dispose();
    }
  });
});
