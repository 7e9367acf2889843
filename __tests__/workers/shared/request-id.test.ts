import { requestIdOf } from '../../../workers/shared/request-id';

describe('requestIdOf (one rule for both workers)', () => {
  const id = (headers: Record<string, string>): string => requestIdOf(new Headers(headers), () => 'fresh');

  it('prefers a safe cf-ray, then a well-formed client id, else a fresh one', () => {
    expect(id({ 'cf-ray': '8abc-FRA', 'x-request-id': 'client' })).toBe('8abc-FRA');
    expect(id({ 'x-request-id': 'client-1.2_3' })).toBe('client-1.2_3');
    expect(id({ 'x-request-id': 'has space' })).toBe('fresh');
    expect(id({ 'x-request-id': 'a'.repeat(129) })).toBe('fresh');
    expect(id({})).toBe('fresh');
  });

  it.each([
    ['log-injection JSON', '1","status":200,"shard":"x'],
    ['a terminal escape sequence', '\u001b[2J\u001b[31mFAKE'],
    ['a tab', 'ray\tother'],
    ['an over-long ray', 'r'.repeat(129)],
  ])('ignores a cf-ray holding %s, falling back to the client id or a fresh one', (_name, ray) => {
    expect(id({ 'cf-ray': ray, 'x-request-id': 'client-7' })).toBe('client-7');
    expect(id({ 'cf-ray': ray })).toBe('fresh');
  });

  it('prefers cf-ray, then a valid x-request-id, then a generated id', () => {
    const gen = () => 'generated';
    expect(requestIdOf(new Headers({ 'cf-ray': '8a1b2c-SJC', 'x-request-id': 'mine' }), gen)).toBe('8a1b2c-SJC');
    expect(requestIdOf(new Headers({ 'x-request-id': 'mine.1_2-3' }), gen)).toBe('mine.1_2-3');
    expect(requestIdOf(new Headers({ 'x-request-id': 'has space' }), gen)).toBe('generated');
    expect(requestIdOf(new Headers({ 'x-request-id': 'a'.repeat(129) }), gen)).toBe('generated');
  });
});
