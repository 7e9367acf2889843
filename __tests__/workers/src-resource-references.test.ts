import { scanReferences } from '../../workers/src/resource-references';

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
