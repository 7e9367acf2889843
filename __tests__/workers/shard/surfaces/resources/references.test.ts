import { scanReferences, watchForReferences } from '../../../../../workers/shard/surfaces/resources/references';

const owner = { shard: 3, key: 5, fingerprint: 'qmfa' };

describe('scanReferences', () => {
  it('finds file, cache and interaction references wherever the surfaces put them, and strips their tags', () => {
    const body = {
      cachedContent: 'cachedContents/z3k5qmfa-cache1',
      contents: [
        {
          role: 'user',
          parts: [
            { text: 'files/z3k5qmfa-abc is only mentioned here' },
            {
              fileData: {
                fileUri: 'https://generativelanguage.googleapis.com/v1beta/files/z3k5qmfa-abc',
                mimeType: 'text/plain',
              },
            },
            { file_data: { file_uri: 'files/z3k5qmfa-def' } },
          ],
        },
      ],
      previous_interaction_id: 'z3k5qmfa-v1_Chd',
    };
    const scan = scanReferences(body);
    expect(scan.references.map((r) => r.reference)).toEqual([
      'cachedContents/z3k5qmfa-cache1',
      'https://generativelanguage.googleapis.com/v1beta/files/z3k5qmfa-abc',
      'files/z3k5qmfa-def',
      'z3k5qmfa-v1_Chd',
    ]);
    expect(scan.references.every((r) => r.owner.shard === owner.shard && r.owner.key === owner.key)).toBe(true);
    expect(scan.stripped).toEqual({
      cachedContent: 'cachedContents/cache1',
      contents: [
        {
          role: 'user',
          parts: [
            { text: 'files/z3k5qmfa-abc is only mentioned here' },
            {
              fileData: {
                fileUri: 'https://generativelanguage.googleapis.com/v1beta/files/abc',
                mimeType: 'text/plain',
              },
            },
            { file_data: { file_uri: 'files/def' } },
          ],
        },
      ],
      previous_interaction_id: 'v1_Chd',
    });
    // the client's object is left as it was
    expect(body.cachedContent).toBe('cachedContents/z3k5qmfa-cache1');
  });

  it('returns the very same body when nothing is referenced', () => {
    const body = {
      model: 'gemini-3.5-flash',
      messages: [{ role: 'user', content: 'files/abc123' }],
      z: 'z3k5qmfa-abc',
    };
    const scan = scanReferences(body);
    expect(scan.references).toEqual([]);
    expect(scan.stripped).toBe(body);
  });

  it('reads a bare tagged id only in the fields that hold one', () => {
    expect(scanReferences({ input_file_id: 'z0k1abcd-file-1' }).stripped).toEqual({ input_file_id: 'file-1' });
    expect(scanReferences({ note: 'z0k1abcd-file-1' }).references).toEqual([]);
  });

  it('stops at a depth no real request reaches instead of overflowing', () => {
    let deep: unknown = 'files/z0k1abcd-x';
    for (let i = 0; i < 10_000; i++) deep = [deep];
    expect(scanReferences(deep).references).toEqual([]);
  });
});

describe('scanReferences, more shapes', () => {
  it('finds the OpenAI-compatible references: a file URI in a content part, cached_content in extra_body', () => {
    const body = {
      model: 'gemini-3.8-flash',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'describe it' },
            {
              type: 'image_url',
              image_url: { url: 'https://generativelanguage.googleapis.com/v1beta/files/z0k2wxyz-img' },
            },
          ],
        },
      ],
      extra_body: { google: { cached_content: 'cachedContents/z0k2wxyz-c1' } },
    };
    const scan = scanReferences(body);
    expect(scan.references.map((r) => r.reference)).toEqual([
      'https://generativelanguage.googleapis.com/v1beta/files/z0k2wxyz-img',
      'cachedContents/z0k2wxyz-c1',
    ]);
    expect(JSON.stringify(scan.stripped)).not.toContain('z0k2wxyz');
  });

  it('leaves malformed tags as text: a short fingerprint, uppercase, key 0, no dash, a query after the id', () => {
    for (const text of [
      'files/z0k2wx-abc',
      'files/Z0K2WXYZ-abc',
      'files/z0k0wxyz-abc',
      'files/z0k2wxyzabc',
      'files/z01k2wxyz-abc',
      'https://host/v1beta/files/z0k2wxyz-abc?alt=media',
      'cachedContents/z0k2wxyz-',
    ]) {
      const body = { contents: [{ parts: [{ fileData: { fileUri: text } }] }] };
      const scan = scanReferences(body);
      expect({ text, references: scan.references }).toEqual({ text, references: [] });
      expect(scan.stripped).toBe(body);
    }
  });
});

/** Runs `chunks` through the watch; the bytes it passed on and the reference that stopped it, if any. */
async function watched(
  chunks: readonly string[],
): Promise<{ passed: string; seen: string | undefined; failed: boolean }> {
  const encoder = new TextEncoder();
  let cancelled = false;
  let at = 0;
  // one chunk per pull, as an upload arrives: the source is still open when the watch stops it
  const source = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        const chunk = chunks[at++];
        if (chunk === undefined) controller.close();
        else controller.enqueue(encoder.encode(chunk));
      },
      cancel() {
        cancelled = true;
      },
    },
    { highWaterMark: 0 },
  );
  const watch = watchForReferences(source);
  const reader = watch.body.getReader();
  const decoder = new TextDecoder();
  let passed = '';
  let failed = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      passed += decoder.decode(value, { stream: true });
    }
  } catch {
    failed = true;
  }
  // a stream that stopped cancels its source: the upload it reads ends
  if (failed) expect(cancelled).toBe(true);
  return { passed, seen: watch.seen(), failed };
}

describe('watchForReferences (bodies too large to parse)', () => {
  it('passes a body without references through byte for byte', async () => {
    const chunks = [
      '{"contents":[{"parts":[{"text":"files/abc and z0k1abcd-x and ',
      'files/z0k1abcd-mentioned"}]}]',
      '}',
    ];
    // a mention inside text (after a space) is not a reference's start
    expect(await watched(chunks)).toEqual({ passed: chunks.join(''), seen: undefined, failed: false });
  });

  it('stops at a file URI, a short file name or a cached content, before passing on the chunk that holds it', async () => {
    for (const [chunks, seen] of [
      [['{"a":"x",', '"fileUri":"https://g/v1beta/files/z0k3abcd-abc"}'], 'files/z0k3abcd-'],
      [['{"fileUri":"files/z12k3abcd-abc"}'], 'files/z12k3abcd-'],
      [['{"cachedContent":"cachedContents/z0k10abcd-c"}'], 'cachedContents/z0k10abcd-'],
      // JSON may escape the slash
      [['{"fileUri":"https:\\/\\/g\\/v1beta\\/files\\/z0k3abcd-abc"}'], 'files/z0k3abcd-'],
    ] as const) {
      const result = await watched(chunks);
      expect(result.failed).toBe(true);
      expect(result.seen).toBe(seen);
      expect(result.passed).toBe(chunks.slice(0, -1).join(''));
    }
  });

  it('finds a reference split across chunks, however it is cut', async () => {
    const text = `{"parts":[{"fileData":{"fileUri":"https://g/v1beta/files/z0k3abcd-abc"}}],"pad":"${'x'.repeat(100)}"}`;
    for (let cut = 30; cut < 70; cut++) {
      const result = await watched([text.slice(0, cut), text.slice(cut)]);
      expect({ cut, seen: result.seen }).toEqual({ cut, seen: 'files/z0k3abcd-' });
    }
  });

  it('reads UTF-8 split inside a character without losing a reference after it', async () => {
    const bytes = new TextEncoder().encode('{"text":"héllo ✓","fileUri":"files/z0k3abcd-abc"}');
    const source = new ReadableStream<Uint8Array>({
      start(controller) {
        // one byte at a time: every multi-byte character is cut
        for (const byte of bytes) controller.enqueue(new Uint8Array([byte]));
        controller.close();
      },
    });
    const watch = watchForReferences(source);
    await expect(new Response(watch.body).text()).rejects.toThrow();
    expect(watch.seen()).toBe('files/z0k3abcd-');
  });

  it('lists names shaped like Google resources without a valid tag, and leaves them as they are', () => {
    const body = {
      a: 'files/abc123',
      b: 'https://generativelanguage.googleapis.com/v1beta/files/abc123',
      c: 'cachedContents/z0k3abc-x',
      previous_interaction_id: 'v1_plain',
      d: 'https://example.com/files/report.pdf',
      e: 'see files/abc123',
    };
    const scan = scanReferences(body);
    expect(scan.untagged).toEqual([
      'files/abc123',
      'https://generativelanguage.googleapis.com/v1beta/files/abc123',
      'cachedContents/z0k3abc-x',
      'v1_plain',
    ]);
    expect(scan.references).toEqual([]);
    expect(scan.stripped).toBe(body);
  });
});

describe('sealed references', () => {
  it('reads the seal, the collection and Google’s id of each reference, and strips the whole tag', () => {
    const scan = scanReferences({
      cachedContent: 'cachedContents/z3k5qmfack3j5a2bq-cache1',
      fileUri: 'https://generativelanguage.googleapis.com/v1beta/files/z3k5qmfack3j5a2bq-abc',
      previous_interaction_id: 'z3k5qmfa-v1_Chd',
      input_file_id: 'z3k5qmfack3j5a2bq-in',
    });
    expect(scan.references.map(({ collection, googleId, seal }) => ({ collection, googleId, seal }))).toEqual([
      { collection: 'cachedContents', googleId: 'cache1', seal: 'k3j5a2bq' },
      { collection: 'files', googleId: 'abc', seal: 'k3j5a2bq' },
      { collection: 'interactions', googleId: 'v1_Chd', seal: undefined },
      { collection: 'files', googleId: 'in', seal: 'k3j5a2bq' },
    ]);
    expect(JSON.stringify(scan.stripped)).not.toContain('z3k5');
  });

  it('stops a large body at a sealed reference too', async () => {
    const result = await watched(['{"a":1,', '"fileUri":"files/z0k3abcdck3j5a2bq-abc"}']);
    expect(result).toMatchObject({ failed: true, seen: 'files/z0k3abcdck3j5a2bq-' });
  });
});
