import {
  embeddingsRequest,
  embeddingsResponse,
  encodeFloat32Base64,
} from '../../../../../workers/shard/surfaces/openai/embeddings';
import { defined } from '../../../../helpers/guards';

function decodeFloat32(b64: string): number[] {
  const bytes = Buffer.from(b64, 'base64');
  return Array.from({ length: bytes.length / 4 }, (_, i) => bytes.readFloatLE(i * 4));
}

describe('encodeFloat32Base64', () => {
  it('encodes little-endian float32, byte for byte', () => {
    // 1.0f = 00 00 80 3f, -2.0f = 00 00 00 c0
    expect(Buffer.from(encodeFloat32Base64([1, -2]), 'base64')).toEqual(Buffer.from([0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0]));
  });

  it('round-trips float32-representable values and rounds others to float32', () => {
    expect(decodeFloat32(encodeFloat32Base64([0.5, -0.25, 0.125, 3]))).toEqual([0.5, -0.25, 0.125, 3]);
    expect(decodeFloat32(encodeFloat32Base64([0.1]))[0]).toBe(Math.fround(0.1));
  });

  it('handles vectors larger than one encoding slice', () => {
    const values = Array.from({ length: 30_000 }, (_, i) => i / 4);
    expect(decodeFloat32(encodeFloat32Base64(values))).toEqual(values);
  });
});

describe('embeddings fix-up', () => {
  it('drops encoding_format upstream and remembers whether the client wants base64 (floats when it does not say)', () => {
    expect(embeddingsRequest({ model: 'm', input: 'x' })).toEqual({
      ok: true,
      upstreamBody: '{"model":"m","input":"x"}',
      base64: false,
    });
    expect(embeddingsRequest({ model: 'm', input: 'x', encoding_format: 'base64' })).toMatchObject({
      ok: true,
      base64: true,
    });
    expect(embeddingsRequest({ model: 'm', input: 'x', encoding_format: 'float' })).toEqual({
      ok: true,
      upstreamBody: '{"model":"m","input":"x"}',
      base64: false,
    });
    expect(embeddingsRequest({ encoding_format: 'int8' })).toEqual({
      ok: false,
      message: 'encoding_format must be "float" or "base64".',
    });
  });

  it('encodes each embedding and keeps the rest of the reply', () => {
    const reply = { object: 'list', model: 'm', data: [{ object: 'embedding', index: 0, embedding: [0.5, -1] }] };
    const fixed = embeddingsResponse(reply, true) as {
      model: string;
      data: Array<{ index: number; embedding: string }>;
    };
    expect(fixed.model).toBe('m');
    const item = defined(fixed.data[0], 'the first embedding');
    expect(item.index).toBe(0);
    expect(decodeFloat32(item.embedding)).toEqual([0.5, -1]);
    expect(embeddingsResponse(reply, false)).toBe(reply);
    expect(embeddingsResponse({ data: [{ embedding: ['x'] }] }, true)).toBeUndefined();
    expect(embeddingsResponse({ nope: true }, true)).toBeUndefined();
  });
});
