import { decodeNameSlashes, normaliseModel } from '../../../../workers/shard/surfaces/route-matching';

describe('normaliseModel', () => {
  it('strips models/ and rejects what is not a model id', () => {
    expect(normaliseModel('models/gemini-3.8-flash')).toBe('gemini-3.8-flash');
    expect(normaliseModel('gemini-3.8-flash')).toBe('gemini-3.8-flash');
    expect(normaliseModel('../x')).toBeUndefined();
    expect(normaliseModel(42)).toBeUndefined();
    expect(normaliseModel('a'.repeat(200))).toBeUndefined();
  });
});

describe('decodeNameSlashes', () => {
  it('decodes the encoded slashes of a name, in either case, and nothing else', () => {
    expect(decodeNameSlashes('models%2Fgemini-3.8-flash')).toBe('models/gemini-3.8-flash');
    expect(decodeNameSlashes('files%2fabc')).toBe('files/abc');
    expect(decodeNameSlashes('%2e%2e')).toBe('%2e%2e');
    expect(decodeNameSlashes('%3Aaction')).toBe('%3Aaction');
  });

  it('decodes once: a doubly encoded slash stays encoded', () => {
    expect(decodeNameSlashes('models%252Fgemini-3.8-flash')).toBe('models%252Fgemini-3.8-flash');
  });
});
