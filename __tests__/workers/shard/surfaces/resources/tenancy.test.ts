import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { parseTaggedId, type ResourceOwner } from '../../../../../workers/shared/owner-tag';
import { tagNames } from '../../../../../workers/shard/surfaces/resources/names';
import {
  clientOfMark,
  listedTagger,
  markOf,
  nameOwner,
  refuseForeign,
  sealOf,
  type Tenant,
  taggerFor,
  tenantOf,
} from '../../../../../workers/shard/surfaces/resources/tenancy';
import { CANARY_PASS, canarySearch } from '../../../../security/canaries';
import { defined } from '../../../../helpers/guards';

const PASS = CANARY_PASS;
const OWNER: ResourceOwner = { shard: 1, key: 3, fingerprint: 'qmfa' };
const CLIENTS = [
  { name: 'alice', value: 'alice-token-0123456789abcdef' },
  { name: 'bob', value: 'bob-token-0123456789abcdef01' },
];

const tenant = (client: string | undefined, pass = PASS): Tenant =>
  tenantOf({ client, config: { pass, clientTokens: CLIENTS } as never });

/** RFC 4648 base32, lowercased: an encoding written apart from the worker's. */
function base32(bytes: Buffer): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  const bits = [...bytes].map((b) => b.toString(2).padStart(8, '0')).join('');
  return Array.from({ length: Math.floor(bits.length / 5) }, (_, i) =>
    alphabet.charAt(Number.parseInt(bits.slice(i * 5, i * 5 + 5), 2)),
  ).join('');
}

/** The scheme of ADR 0008, computed with Node's own HMAC. */
function expected(pass: string, text: string): string {
  const secret = createHmac('sha256', pass).update('zen-ai-router tenancy v1').digest();
  return base32(createHmac('sha256', secret).update(text).digest()).slice(0, 8);
}

describe('the tenancy secret, marks and seals', () => {
  it('derive from PASS as ADR 0008 says: HMAC-SHA256(PASS, label), then an HMAC of the mark or the seal', async () => {
    expect(await markOf(PASS, 'alice')).toBe(expected(PASS, 'mark\u0000alice'));
    expect(await sealOf(PASS, OWNER, 'alice', 'files', 'abc')).toBe(
      expected(PASS, 'seal\u0000z1k3qmfa\u0000alice\u0000files\u0000abc'),
    );
  });

  it('are eight lowercase base32 characters that change with the client, the name and the password', async () => {
    await fc.assert(
      fc.asyncProperty(fc.stringMatching(/^[a-z0-9][a-z0-9_-]{0,31}$/), async (client) => {
        const mark = await markOf(PASS, client);
        expect(mark).toMatch(/^[a-z2-7]{8}$/);
        expect(await markOf(`${PASS}-rotated`, client)).not.toBe(mark);
      }),
      { numRuns: 30 },
    );
    const seals = await Promise.all([
      sealOf(PASS, OWNER, 'alice', 'files', 'abc'),
      sealOf(PASS, OWNER, 'bob', 'files', 'abc'),
      sealOf(PASS, OWNER, 'alice', 'cachedContents', 'abc'),
      sealOf(PASS, OWNER, 'alice', 'files', 'abd'),
      sealOf(PASS, { ...OWNER, key: 4 }, 'alice', 'files', 'abc'),
    ]);
    expect(new Set(seals).size).toBe(seals.length);
  });

  it('never hold the password, in any encoding', async () => {
    const find = canarySearch([PASS]);
    const text = [await markOf(PASS, 'alice'), await sealOf(PASS, OWNER, 'alice', 'files', 'x')].join(' ');
    expect(find(text)).toEqual([]);
  });
});

describe('nameOwner', () => {
  const name = async (client: string, googleId = 'abc') => ({
    owner: OWNER,
    collection: 'files' as const,
    googleId,
    seal: await sealOf(PASS, OWNER, client, 'files', googleId),
  });

  it("gives a client its own names and refuses another client's, a tampered and an unsealed one", async () => {
    const alices = await name('alice');
    expect(await nameOwner(tenant('alice'), alices)).toBe('alice');
    expect(await nameOwner(tenant('bob'), alices)).toBeUndefined();
    expect(await nameOwner(tenant('alice'), { ...alices, googleId: 'abd' })).toBeUndefined();
    expect(await nameOwner(tenant('alice'), { ...alices, collection: 'batches' })).toBeUndefined();
    expect(await nameOwner(tenant('alice'), { ...alices, owner: { ...OWNER, key: 4 } })).toBeUndefined();
    const flipped = `${alices.seal.slice(0, 7)}${alices.seal.endsWith('a') ? 'b' : 'a'}`;
    expect(await nameOwner(tenant('alice'), { ...alices, seal: flipped })).toBeUndefined();
    const { seal: _, ...unsealed } = alices;
    expect(await nameOwner(tenant('alice'), unsealed)).toBeUndefined();
    // a name sealed under the previous password
    expect(await nameOwner(tenant('alice', `${PASS}-rotated`), alices)).toBeUndefined();
    // a request without a client name (a hand-built one) is no operator
    expect(await nameOwner(tenant(undefined), unsealed)).toBeUndefined();
  });

  it("gives the operator every name: a client's stays that client's, any other is the operator's", async () => {
    const operator = tenant('pass');
    expect(operator.operator).toBe(true);
    expect(await nameOwner(operator, await name('bob'))).toBe('bob');
    expect(await nameOwner(operator, { owner: OWNER, collection: 'files', googleId: 'abc' })).toBe('pass');
    expect(await nameOwner(operator, await name('carol'))).toBe('pass');
    expect(await nameOwner(tenant('pass', `${PASS}-rotated`), await name('alice'))).toBe('pass');
  });

  it('refuses a body naming one foreign name among its own with the one 404', async () => {
    const refusal = await refuseForeign(tenant('alice'), [await name('alice', 'a'), await name('bob', 'b')]);
    expect(refusal).toMatchObject({ status: 404, code: 'resource_not_found' });
    expect(await refuseForeign(tenant('alice'), [await name('alice', 'a')])).toBeUndefined();
  });
});

describe('taggers', () => {
  it("seal a client's names so they read back as its own, and leave the operator's unsealed", async () => {
    const reply = { name: 'files/abc', uri: 'https://h/v1beta/files/abc' };
    const sealed = (await tagNames(reply, taggerFor(tenant('alice'), OWNER, 'alice'), { interactions: false })) as {
      name: string;
    };
    const id = parseTaggedId(sealed.name.slice('files/'.length));
    expect(id).toMatchObject({ owner: OWNER, googleId: 'abc', seal: expect.stringMatching(/^[a-z2-7]{8}$/) });
    expect(await nameOwner(tenant('alice'), { ...defined(id, 'tagged id'), collection: 'files' })).toBe('alice');
    expect(await tagNames(reply, taggerFor(tenant('pass'), OWNER, 'pass'), { interactions: false })).toEqual({
      name: 'files/z1k3qmfa-abc',
      uri: 'https://h/v1beta/files/z1k3qmfa-abc',
    });
  });

  it("tag a listed item for its client: the client's own, the operator's by the item's mark", async () => {
    const bobsMark = await markOf(PASS, 'bob');
    expect(await clientOfMark(tenant('pass'), bobsMark)).toBe('bob');
    expect(await clientOfMark(tenant('pass'), 'aaaaaaaa')).toBeUndefined();
    const forOperator = await listedTagger(tenant('pass'), OWNER, bobsMark);
    expect(await forOperator.seal?.('files', 'x')).toBe(await sealOf(PASS, OWNER, 'bob', 'files', 'x'));
    expect((await listedTagger(tenant('pass'), OWNER, undefined)).seal).toBeUndefined();
    const forAlice = await listedTagger(tenant('alice'), OWNER, await markOf(PASS, 'alice'));
    expect(await forAlice.seal?.('files', 'x')).toBe(await sealOf(PASS, OWNER, 'alice', 'files', 'x'));
  });
});
