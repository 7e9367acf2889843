import { normaliseModel } from '../../../../workers/shard/surfaces/route-matching';

describe('normaliseModel', () => {
  it('strips models/ and rejects what is not a model id', () => {
    expect(normaliseModel('models/gemini-3.8-flash')).toBe('gemini-3.8-flash');
    expect(normaliseModel('gemini-3.8-flash')).toBe('gemini-3.8-flash');
    expect(normaliseModel('../x')).toBeUndefined();
    expect(normaliseModel(42)).toBeUndefined();
    expect(normaliseModel('a'.repeat(200))).toBeUndefined();
  });
});
