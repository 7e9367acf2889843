import { preflightHeaders } from '../../../../workers/shard/edge/preflight';

describe('preflightHeaders', () => {
  it('echoes a well-formed requested header list and falls back otherwise', () => {
    expect(preflightHeaders('Authorization, X-Stainless-Os')['access-control-allow-headers']).toBe(
      'Authorization, X-Stainless-Os',
    );
    expect(preflightHeaders('x\r\nset-cookie: a')['access-control-allow-headers']).toMatch(
      /^authorization, content-type/,
    );
  });
});
