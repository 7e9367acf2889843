import { parseTaggedId, type ResourceOwner } from '../../../../../workers/shared/owner-tag';
import {
  tagEvent,
  tagEventStream,
  tagNames,
  tagNamesInText,
} from '../../../../../workers/shard/surfaces/resources/names';
import { gatewayUploadUrl, googleUploadId } from '../../../../../workers/shard/surfaces/resources/upload';
import { scanReferences } from '../../../../../workers/shard/surfaces/resources/references';
import { defined } from '../../../../helpers/guards';

const OWNER: ResourceOwner = { shard: 2, key: 5, fingerprint: 'qmfa' };
const PLAIN = { interactions: false };

describe('tagNames (outbound names)', () => {
  it("tags a file's name, uri and downloadUri, and nothing else", async () => {
    const file = {
      name: 'files/abc123',
      displayName: 'files/abc123 is my file',
      uri: 'https://generativelanguage.googleapis.com/v1beta/files/abc123',
      downloadUri: 'https://generativelanguage.googleapis.com/v1beta/files/abc123:download?alt=media',
      mimeType: 'text/plain',
      state: 'ACTIVE',
    };
    expect(await tagNames({ file }, OWNER, PLAIN)).toEqual({
      file: {
        ...file,
        name: 'files/z2k5qmfa-abc123',
        uri: 'https://generativelanguage.googleapis.com/v1beta/files/z2k5qmfa-abc123',
        downloadUri: 'https://generativelanguage.googleapis.com/v1beta/files/z2k5qmfa-abc123:download?alt=media',
      },
    });
  });

  it("tags a batch operation's name and its output file, and a cached content's name", async () => {
    const batch = {
      name: 'batches/b1',
      metadata: { model: 'models/gemini-3.8-flash', output: { responsesFile: 'files/batch-out-1' } },
      response: { responsesFile: 'files/batch-out-1' },
    };
    expect(await tagNames(batch, OWNER, PLAIN)).toEqual({
      name: 'batches/z2k5qmfa-b1',
      metadata: { model: 'models/gemini-3.8-flash', output: { responsesFile: 'files/z2k5qmfa-batch-out-1' } },
      response: { responsesFile: 'files/z2k5qmfa-batch-out-1' },
    });
    expect(await tagNames({ name: 'cachedContents/c9', model: 'models/m' }, OWNER, PLAIN)).toEqual({
      name: 'cachedContents/z2k5qmfa-c9',
      model: 'models/m',
    });
  });

  it('leaves a reply that names nothing as the same object', async () => {
    const reply = { candidates: [{ content: { parts: [{ text: 'files are nice' }] } }] };
    expect(await tagNames(reply, OWNER, PLAIN)).toBe(reply);
    expect(await tagNamesInText('not json', OWNER, PLAIN)).toBe('not json');
  });

  it("tags an interaction's id and previous_interaction_id, not a function call's id", async () => {
    const interaction = {
      id: 'v1_abc',
      previous_interaction_id: 'v1_prev',
      steps: [{ type: 'function_call', id: 'call_1', name: 'f' }],
    };
    const interactions = { interactions: true };
    expect(await tagNames(interaction, OWNER, interactions)).toEqual({
      id: 'z2k5qmfa-v1_abc',
      previous_interaction_id: 'z2k5qmfa-v1_prev',
      steps: [{ type: 'function_call', id: 'call_1', name: 'f' }],
    });
    // only on the interactions routes
    expect(await tagNames(interaction, OWNER, PLAIN)).toBe(interaction);
    expect(
      await tagNames({ event_type: 'interaction.start', interaction: { id: 'v1_abc' } }, OWNER, interactions),
    ).toEqual({
      event_type: 'interaction.start',
      interaction: { id: 'z2k5qmfa-v1_abc' },
    });
  });

  it('leaves an id the tag grammar cannot carry untouched instead of handing out a name it cannot read back', async () => {
    expect(await tagNames({ name: 'files/a b' }, OWNER, PLAIN)).toEqual({ name: 'files/a b' });
  });

  it('round-trips: what the walker hands out, the reference scan reads back as the same owner and id', async () => {
    const out = (await tagNames({ name: 'files/abc', uri: 'https://h/v1beta/files/abc' }, OWNER, PLAIN)) as Record<
      string,
      string
    >;
    const scan = scanReferences({ cachedContent: out.name, fileUri: out.uri });
    expect(scan.references.map((r) => r.owner)).toEqual([OWNER, OWNER]);
    expect(scan.stripped).toEqual({ cachedContent: 'files/abc', fileUri: 'https://h/v1beta/files/abc' });
  });
});

describe('tagged SSE', () => {
  it('tags the data line of each event and keeps the rest of the event', async () => {
    expect(await tagEvent('event: x\ndata: {"interaction":{"id":"i1"}}\n\n', OWNER, { interactions: true })).toBe(
      'event: x\ndata: {"interaction":{"id":"z2k5qmfa-i1"}}\n\n',
    );
  });

  it('rewrites events split across chunks whole', async () => {
    const text = 'data: {"interaction_id":"i1"}\n\ndata: {"interaction_id":"i2"}\n\n';
    const bytes = new TextEncoder().encode(text);
    const chunks = [bytes.subarray(0, 7), bytes.subarray(7, 31), bytes.subarray(31, 40), bytes.subarray(40)];
    const upstream = new ReadableStream<Uint8Array>({
      start(c) {
        for (const chunk of chunks) c.enqueue(chunk);
        c.close();
      },
    });
    const out = await new Response(tagEventStream(upstream, OWNER, { interactions: true })).text();
    expect(out).toBe('data: {"interaction_id":"z2k5qmfa-i1"}\n\ndata: {"interaction_id":"z2k5qmfa-i2"}\n\n');
  });
});

describe('upload URLs', () => {
  it("takes only Google's upload_id and hands out the gateway's own origin with the owner's tag", async () => {
    const id = googleUploadId(
      'https://evil.example/upload/v1beta/files?upload_id=AHxI1n_-Pq9&upload_protocol=resumable&key=SECRET',
    );
    expect(id).toBe('AHxI1n_-Pq9');
    const url = new URL(gatewayUploadUrl('https://gw.example', OWNER, defined(id, 'the upload id')));
    expect(url.origin).toBe('https://gw.example');
    expect(url.pathname).toBe('/upload/v1beta/files');
    expect([...url.searchParams.keys()]).toEqual(['upload_id', 'upload_protocol']);
    expect(parseTaggedId(url.searchParams.get('upload_id') ?? '')).toEqual({ owner: OWNER, googleId: 'AHxI1n_-Pq9' });
    expect(url.toString()).not.toContain('evil');
    expect(url.toString()).not.toContain('SECRET');
  });

  it.each([
    null,
    'not a url',
    'https://g/upload/v1beta/files',
    'https://g/?upload_id=',
    'https://g/?upload_id=a%2Fb',
    'https://g/?upload_id=..',
  ])('finds no upload id in %p', (header) => {
    expect(googleUploadId(header)).toBeUndefined();
  });
});
