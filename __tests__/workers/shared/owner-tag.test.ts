import fc from 'fast-check';
import {
  decodeListCursor,
  encodeListCursor,
  formatOwnerTag,
  parseTaggedId,
  shardRouteOf,
  tagId,
} from '../../../workers/shared/owner-tag';

const owner = { shard: 3, key: 5, fingerprint: 'qmfa' };

describe('owner tags', () => {
  it('put the shard, the key and the fingerprint in front of Google id', () => {
    expect(tagId(owner, 'abc123def456')).toBe('z3k5qmfa-abc123def456');
    expect(parseTaggedId('z3k5qmfa-abc123def456')).toEqual({ owner, googleId: 'abc123def456' });
  });

  it('round-trip every owner and id, and stay valid as a Google file id when the id leaves room', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 999_999 }),
        fc.integer({ min: 1, max: 9_999 }),
        fc.stringMatching(/^[a-z]{4}$/),
        fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,24}[a-z0-9]$/),
        (shard, key, fingerprint, id) => {
          const tagged = tagId({ shard, key, fingerprint }, id);
          expect(parseTaggedId(tagged)).toEqual({ owner: { shard, key, fingerprint }, googleId: id });
          expect(tagged).toMatch(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/);
        },
      ),
    );
  });

  it.each([
    ['no tag', 'abc123def456'],
    ['a key 0', 'z3k0qmfa-abc'],
    ['a shard with a leading zero', 'z03k5qmfa-abc'],
    ['a short fingerprint', 'z3k5qmf-abc'],
    ['an uppercase fingerprint', 'z3k5QMFA-abc'],
    ['nothing after the tag', 'z3k5qmfa-'],
    ['a slash in the id', 'z3k5qmfa-a/b'],
    ['an encoded character', 'z3k5qmfa-a%2Fb'],
  ])('reject an id with %s', (_name, id) => {
    expect(parseTaggedId(id)).toBeUndefined();
  });

  it('refuse to format an owner outside the bounds, naming the field', () => {
    expect(() => formatOwnerTag({ ...owner, shard: -1 })).toThrow(/owner shard must be an integer from 0 to 999999/);
    expect(() => formatOwnerTag({ ...owner, key: 0 })).toThrow(/owner key must be an integer from 1 to 9999/);
    expect(() => formatOwnerTag({ ...owner, fingerprint: 'ab' })).toThrow(/fingerprint must be 4 lowercase letters/);
  });
});

describe('list cursors', () => {
  it('round-trip, with and without Google page token, as a token of URL-safe characters', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 999_999 }),
        fc.integer({ min: 1, max: 9_999 }),
        fc.option(fc.stringMatching(/^[\x21-\x7e]{1,300}$/), { nil: undefined }),
        (shard, key, pageToken) => {
          const cursor = pageToken === undefined ? { shard, key } : { shard, key, pageToken };
          const token = encodeListCursor(cursor);
          expect(token).toMatch(/^zl[A-Za-z0-9_-]+$/);
          expect(decodeListCursor(token)).toEqual(cursor);
        },
      ),
    );
  });

  it.each(['', 'CgdmaWxlcy8x', 'zl', 'zl!!', `zl${btoa('x.1.')}`, `zl${btoa('1.0.')}`])(
    'reject a token the gateway did not issue: %j',
    (token) => {
      expect(decodeListCursor(token)).toBeUndefined();
    },
  );
});

describe('shardRouteOf (the orchestrator reads the URL only)', () => {
  const route = (method: string, path: string) => shardRouteOf(method, new URL(`https://gw.example${path}`));

  it.each([
    ['GET', '/v1beta/files/z3k5qmfa-abc'],
    ['DELETE', '/v1beta/files/z3k5qmfa-abc'],
    ['GET', '/v1beta/files/z3k5qmfa-abc:download?alt=media'],
    ['GET', '/download/v1beta/files/z3k5qmfa-abc:download?alt=media'],
    ['PATCH', '/v1beta/cachedContents/z3k5qmfa-abc'],
    ['POST', '/v1beta/batches/z3k5qmfa-abc:cancel'],
    ['GET', '/v1beta/interactions/z3k5qmfa-v1_Abc'],
    ['POST', '/v1beta/interactions/z3k5qmfa-v1_Abc/cancel'],
    ['POST', '/upload/v1beta/files?upload_id=z3k5qmfa-AbC_d-e&upload_protocol=resumable'],
    ['GET', '/v1/files/z3k5qmfa-abc/content'],
    ['POST', '/v1/batches/z3k5qmfa-abc/cancel'],
    // OpenAI-compatible ids that are Google's native names, as the `openai` SDK encodes them, and with a raw slash
    ['GET', '/v1/files/files%2Fz3k5qmfa-abc'],
    ['DELETE', '/v1beta/openai/files/files%2fz3k5qmfa-abc'],
    ['GET', '/v1/files/files%2Fz3k5qmfa-abc/content'],
    ['GET', '/files/files/z3k5qmfa-abc/content'],
    ['GET', '/v1/batches/batches%2Fz3k5qmfa-abc'],
    ['POST', '/v1/batches/batches%2Fz3k5qmfa-abc/cancel'],
    ['GET', '/v1/files?after=files%2Fz3k5qmfa-abc&limit=2'],
    ['GET', '/v1/batches?after=z3k5qmfa-abc'],
  ])('%s %s goes to the owning shard', (method, path) => {
    expect(route(method, path)).toEqual({ kind: 'shard', shard: 3 });
  });

  it.each([
    ['GET', '/v1beta/files/abc123'],
    ['GET', '/v1beta/cachedContents/z3k5qm-abc'],
    ['POST', '/upload/v1beta/files?upload_id=AbC'],
    ['GET', '/v1/files/file-abc'],
    ['GET', '/v1/files/files%2Fabc'],
    ['GET', '/v1/batches/batches%2Fz3k5qmfa-a%2Fb'],
    ['GET', '/v1/files/files%252Fz3k5qmfa-abc'],
  ])('%s %s names a resource without a valid tag', (method, path) => {
    expect(route(method, path).kind).toBe('unknown-owner');
  });

  it('sends a listing to shard 0 first, then wherever its cursor points', () => {
    expect(route('GET', '/v1beta/files')).toEqual({ kind: 'shard', shard: 0 });
    const token = encodeListCursor({ shard: 7, key: 2, pageToken: 'g00gle' });
    expect(route('GET', `/v1beta/cachedContents?pageToken=${token}`)).toEqual({ kind: 'shard', shard: 7 });
    expect(route('GET', '/v1beta/batches?pageToken=not-ours')).toEqual({ kind: 'any' });
  });

  it.each([
    ['POST', '/v1/chat/completions'],
    ['POST', '/v1beta/models/gemini-3.5-flash:generateContent'],
    ['POST', '/v1beta/cachedContents'],
    ['POST', '/v1beta/interactions'],
    ['POST', '/upload/v1beta/files'],
    ['GET', '/v1/models'],
    ['POST', '/v1/files'],
    ['POST', '/v1/batches'],
    ['GET', '/v1/files'],
    ['GET', '/v1/batches?after=not-ours'],
  ])('%s %s may go to any shard', (method, path) => {
    expect(route(method, path)).toEqual({ kind: 'any' });
  });
});

describe('sealed owner tags', () => {
  const sealedOwner = { shard: 3, key: 5, fingerprint: 'qmfa' };

  it('carry the seal between the fingerprint and the id, and read it back', () => {
    expect(tagId(sealedOwner, 'abc', 'k3j5a2bq')).toBe('z3k5qmfack3j5a2bq-abc');
    expect(parseTaggedId('z3k5qmfack3j5a2bq-abc')).toEqual({ owner: sealedOwner, googleId: 'abc', seal: 'k3j5a2bq' });
    // a Google id may itself start like a seal: the dash after the tag decides
    expect(parseTaggedId('z3k5qmfa-ck3j5a2bq-abc')).toEqual({ owner: sealedOwner, googleId: 'ck3j5a2bq-abc' });
  });

  it('round-trip every seal, and stay valid as a Google id', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z2-7]{8}$/), fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,20}$/), (seal, id) => {
        const tagged = tagId(sealedOwner, id, seal);
        expect(parseTaggedId(tagged)).toEqual({ owner: sealedOwner, googleId: id, seal });
        expect(tagged).toMatch(/^[a-z0-9][a-z0-9-]*$/);
      }),
    );
  });

  it.each([
    ['a short seal', 'z3k5qmfack3j5a2b-abc'],
    ['a seal holding 1, which base32 leaves out', 'z3k5qmfack3j5a21q-abc'],
    ['an uppercase seal', 'z3k5qmfacK3J5A2BQ-abc'],
  ])('reject a tag with %s', (_what, id) => {
    expect(parseTaggedId(id)).toBeUndefined();
  });

  it('refuse to format a malformed seal', () => {
    expect(() => tagId(sealedOwner, 'abc', 'short')).toThrow(/seal must be 8 lowercase base32 characters/);
  });

  it('route a sealed name by its shard, as an unsealed one', () => {
    expect(shardRouteOf('GET', new URL('https://g/v1beta/files/z3k5qmfack3j5a2bq-abc'))).toEqual({
      kind: 'shard',
      shard: 3,
    });
  });
});
