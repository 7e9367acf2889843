/**
 * Which paths the Responses surface claims: `POST /v1/responses` under every OpenAI prefix, the stored-response routes
 * it answers with the reason nothing is stored, and a 404 with its own hint for anything else under its prefix.
 */
import { matchRoute } from '../../../../../workers/shard/surfaces/registry';
import { responsesSurface } from '../../../../../workers/shard/surfaces/responses/routes';

const q = new URLSearchParams();

describe('the Responses routes', () => {
  it.each(['/v1/responses', '/responses', '/v1beta/openai/responses'])('POST %s creates a response', (path) => {
    expect(matchRoute('POST', path, q)).toEqual({
      kind: 'route',
      route: { name: 'responses.create', surface: 'responses', method: 'POST' },
    });
  });

  it('refuses any other method on /v1/responses, a WebSocket upgrade (GET) included', () => {
    expect(matchRoute('GET', '/v1/responses', q)).toEqual({ kind: 'method-not-allowed', allow: 'POST' });
    expect(matchRoute('PUT', '/responses', q)).toEqual({ kind: 'method-not-allowed', allow: 'POST' });
  });

  it.each([
    ['GET', '/v1/responses/resp_0123abc'],
    ['DELETE', '/v1/responses/resp_0123abc'],
    ['POST', '/v1/responses/resp_0123abc/cancel'],
    ['GET', '/v1beta/openai/responses/resp_0123abc/input_items'],
  ])('%s %s is a stored-response route', (method, path) => {
    expect(matchRoute(method, path, q)).toMatchObject({ kind: 'route', route: { name: 'responses.stored', method } });
  });

  it.each([
    '/v1/responses/input_tokens',
    '/v1/responses/compact',
    '/v1/responses/',
    '/v1/responses/a/b',
    '/v1/responses/resp%2F..',
    '/v1/responses/resp_1/cancel/x',
  ])('%s is under its prefix but no route: not-found, with the surface hint', (path) => {
    expect(matchRoute('POST', path, q)).toEqual({ kind: 'not-found' });
    expect(responsesSurface.notFoundHint).toContain('POST /v1/responses');
  });

  it('claims no path of another surface', () => {
    expect(responsesSurface.match('POST', '/v1/chat/completions', q)).toBeUndefined();
    expect(responsesSurface.match('POST', '/v1/responsesx', q)).toBeUndefined();
    expect(responsesSurface.match('POST', '/v2/responses', q)).toBeUndefined();
  });
});
