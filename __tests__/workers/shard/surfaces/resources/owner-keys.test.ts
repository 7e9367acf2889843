/**
 * Owner keys in the shard worker: the fingerprint a tag carries, which key (or shard) a tag names, and the refusals of
 * names this worker cannot serve.
 */
import { MISDIRECTED_STATUS, OWNER_HEADER } from '../../../../../workers/shared/contract';
import { POOL_HEADER } from '../../../../../workers/shared/pool-refusal';
import { formatOwnerTag, parseTaggedId, tagId } from '../../../../../workers/shared/owner-tag';
import type { ShardConfig } from '../../../../../workers/shard/edge/bindings';
import {
  keyFingerprint,
  lookUpOwner,
  misdirected,
  ownedReferenceInLargeBody,
  ownerOf,
  ownShard,
  soleOwner,
} from '../../../../../workers/shard/surfaces/resources/owner-keys';
import { Refusal } from '../../../../../workers/shard/edge/refusal';
import { scanReferences } from '../../../../../workers/shard/surfaces/resources/references';
import { defined } from '../../../../helpers/guards';

const KEYS = ['CANARY-owner-keys-1-aa', 'CANARY-owner-keys-2-bb', 'CANARY-owner-keys-3-cc', 'CANARY-owner-keys-4-dd'];

function config(shardIndex?: number): ShardConfig {
  return {
    keys: KEYS.map((value, i) => ({ index: i + 1, value })),
    pass: 'CANARY-owner-keys-pass',
    clientTokens: [],
    baseUrl: 'http://gemini.test',
    timeoutMs: 1000,
    maxWaitMs: 0,
    maxBodyBytes: 1000,
    ...(shardIndex !== undefined ? { shardIndex } : {}),
  };
}

const key = (n: number) => ({ index: n, value: defined(KEYS[n - 1], `KEY${n}`) });

describe('keyFingerprint', () => {
  it('is four lowercase letters, the same for the same key on every call', async () => {
    for (const value of KEYS) {
      const fingerprint = await keyFingerprint(value);
      expect(fingerprint).toMatch(/^[a-z]{4}$/);
      expect(await keyFingerprint(value)).toBe(fingerprint);
      expect(value).not.toContain(fingerprint);
    }
  });

  it('differs between keys (40 keys, at most a couple of the 26^4 values shared)', async () => {
    const values = Array.from({ length: 40 }, (_, i) => `AIzaSy-test-key-${i}`);
    const fingerprints = new Set(await Promise.all(values.map(keyFingerprint)));
    expect(fingerprints.size).toBeGreaterThanOrEqual(38);
  });

  it('is not a prefix of a plain SHA-256 of the key (the digest is labelled)', async () => {
    const plain = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(KEYS[0])));
    const letters = Array.from(plain.subarray(0, 4), (b) => String.fromCharCode(97 + (b % 26))).join('');
    expect(await keyFingerprint(defined(KEYS[0], 'KEY1'))).not.toBe(letters);
  });
});

describe('ownerOf and ownShard', () => {
  it('tags a new resource with shard 0 when the worker stands alone, with SHARD_INDEX otherwise', async () => {
    expect(ownShard(config())).toBe(0);
    expect(ownShard(config(7))).toBe(7);
    const owner = await ownerOf(key(3), config(7));
    expect(owner).toEqual({ shard: 7, key: 3, fingerprint: await keyFingerprint(key(3).value) });
    expect(formatOwnerTag(owner)).toMatch(/^z7k3[a-z]{4}$/);
  });
});

describe('lookUpOwner', () => {
  it('finds its own key on its own shard (standalone worker: shard 0)', async () => {
    const owner = await ownerOf(key(3), config());
    expect(await lookUpOwner(owner, 'files/x', config())).toEqual({ kind: 'key', key: key(3) });
    const sharded = await ownerOf(key(2), config(4));
    expect(await lookUpOwner(sharded, 'files/x', config(4))).toEqual({ kind: 'key', key: key(2) });
  });

  it('names the owning shard behind the orchestrator', async () => {
    const owner = await ownerOf(key(1), config(2));
    expect(await lookUpOwner(owner, 'files/x', config(0))).toEqual({ kind: 'elsewhere', shard: 2 });
  });

  it('refuses another shard with 404 when it stands alone (there is no other shard)', async () => {
    const owner = await ownerOf(key(1), config(2));
    const found = await lookUpOwner(owner, 'files/z2k1abcd-x', config());
    if (found.kind !== 'refused') throw new Error(`expected a refusal, got ${found.kind}`);
    expect(found.refusal.status).toBe(404);
    expect(found.refusal.code).toBe('unknown_resource_owner');
    expect(found.refusal.message).toContain('files/z2k1abcd-x');
  });

  it('answers 410 owner_key_gone for a key index it does not hold, or a fingerprint of another key', async () => {
    const fingerprint = await keyFingerprint(key(3).value);
    const forged = fingerprint === 'aaaa' ? 'bbbb' : 'aaaa';
    for (const owner of [
      { shard: 0, key: 9, fingerprint },
      { shard: 0, key: 3, fingerprint: forged },
      // KEY2's own fingerprint under index 3: the keys were reordered
      { shard: 0, key: 3, fingerprint: await keyFingerprint(key(2).value) },
    ]) {
      const found = await lookUpOwner(owner, `files/${tagId(owner, 'abc')}`, config());
      if (found.kind !== 'refused') throw new Error(`expected a refusal for ${JSON.stringify(owner)}`);
      expect(found.refusal).toMatchObject({ status: 410, code: 'owner_key_gone' });
      expect(found.refusal.message).toContain(`files/${tagId(owner, 'abc')}`);
      expect(found.refusal.headers).toEqual({});
    }
  });
});

describe('soleOwner', () => {
  it('is the first reference when every reference names the same key', async () => {
    const tag = formatOwnerTag(await ownerOf(key(1), config()));
    const { references } = scanReferences({ a: `files/${tag}-a`, b: `cachedContents/${tag}-b` });
    const [first, ...rest] = references;
    expect(soleOwner([defined(first, 'a reference'), ...rest])).toBe(first);
  });

  it('refuses references of two keys with 400 mixed_resource_owners, naming both and saying why', async () => {
    const one = `files/${formatOwnerTag(await ownerOf(key(1), config()))}-a`;
    const two = `files/${formatOwnerTag(await ownerOf(key(2), config()))}-b`;
    const { references } = scanReferences({ parts: [one, one, two] });
    const [first, ...rest] = references;
    const refused = soleOwner([defined(first, 'a reference'), ...rest]);
    if (!(refused instanceof Refusal)) throw new Error('expected a refusal');
    expect(refused).toMatchObject({ status: 400, code: 'mixed_resource_owners', headers: {} });
    expect(refused.message).toContain(one);
    expect(refused.message).toContain(two);
    expect(refused.message).toMatch(/per key/);
    for (const value of KEYS) expect(refused.message).not.toContain(value);
  });

  it('tells the same key on two shards apart', () => {
    const { references } = scanReferences({ a: 'files/z0k1abcd-a', b: 'files/z1k1abcd-b' });
    const [first, ...rest] = references;
    expect(soleOwner([defined(first, 'a reference'), ...rest])).toBeInstanceOf(Refusal);
  });
});

describe('refusals', () => {
  it('misdirects with 421 and x-zen-owner, never a pool refusal', () => {
    const r = misdirected(5);
    expect(r.status).toBe(MISDIRECTED_STATUS);
    expect(r.code).toBe('misdirected_request');
    expect(r.headers).toEqual({ [OWNER_HEADER]: '5' });
    expect(r.headers[POOL_HEADER]).toBeUndefined();
  });

  it('refuses a large body that names a resource with what to do instead', () => {
    const r = ownedReferenceInLargeBody('files/z0k1abcd-', 16);
    expect(r).toMatchObject({ status: 400, code: 'large_body_names_resource' });
    expect(r.message).toContain('files/z0k1abcd-');
    expect(r.message).toMatch(/as a file/);
    expect(r.message).toMatch(/split the request/);
  });

  it('formats tags that parse back to the same owner', async () => {
    const owner = await ownerOf(key(4), config(12));
    expect(parseTaggedId(tagId(owner, 'abc'))).toEqual({ owner, googleId: 'abc' });
  });
});
