import { anthropicSurface } from '../../../../workers/shard/surfaces/anthropic/routes';
import { defined } from '../../../helpers/guards';
import {
  baseUrlAdvice,
  HINT_ORDER,
  MATCH_ORDER,
  MAX_SHOWN_PATH,
  matchRoute,
  ROUTES_HINT,
  shownPath,
  unknownPathMessage,
} from '../../../../workers/shard/surfaces/registry';

const q = (s = '') => new URLSearchParams(s);

describe('matchRoute', () => {
  it.each([
    ['POST', '/v1/chat/completions', 'chat.completions', '/v1beta/openai/chat/completions'],
    ['POST', '/chat/completions', 'chat.completions', '/v1beta/openai/chat/completions'],
    ['POST', '/v1beta/openai/chat/completions', 'chat.completions', '/v1beta/openai/chat/completions'],
    ['POST', '/v1/embeddings', 'embeddings', '/v1beta/openai/embeddings'],
    ['POST', '/embeddings', 'embeddings', '/v1beta/openai/embeddings'],
    ['POST', '/v1/images/generations', 'images.generations', '/v1beta/openai/images/generations'],
    ['POST', '/images/generations', 'images.generations', '/v1beta/openai/images/generations'],
    ['POST', '/v1beta/openai/images/generations', 'images.generations', '/v1beta/openai/images/generations'],
    ['GET', '/v1/models', 'models.list', '/v1beta/openai/models'],
    ['GET', '/models', 'models.list', '/v1beta/openai/models'],
    ['GET', '/v1/models/gemini-3.8-flash', 'models.retrieve', '/v1beta/openai/models/gemini-3.8-flash'],
    ['GET', '/v1/models/models/gemini-3.8-flash', 'models.retrieve', '/v1beta/openai/models/gemini-3.8-flash'],
    // the `openai` SDK's models.retrieve(id) encodes the slash of the `models/...` ids models.list() returned
    ['GET', '/v1/models/models%2Fgemini-3.8-flash', 'models.retrieve', '/v1beta/openai/models/gemini-3.8-flash'],
    ['GET', '/v1/models/models%2fgemini-3.8-flash', 'models.retrieve', '/v1beta/openai/models/gemini-3.8-flash'],
    ['GET', '/models/models%2Fgemini-3.8-flash', 'models.retrieve', '/v1beta/openai/models/gemini-3.8-flash'],
    [
      'GET',
      '/v1beta/openai/models/models%2Fgemini-3.8-flash',
      'models.retrieve',
      '/v1beta/openai/models/gemini-3.8-flash',
    ],
    ['GET', '/v1beta/models', 'native.models.list', '/v1beta/models'],
    ['GET', '/v1beta/models/gemini-3.1-pro-preview', 'native.models.get', '/v1beta/models/gemini-3.1-pro-preview'],
    [
      'POST',
      '/v1beta/models/gemini-3.8-flash:generateContent',
      'native.generateContent',
      '/v1beta/models/gemini-3.8-flash:generateContent',
    ],
    [
      'POST',
      '/v1beta/models/gemini-3.8-flash:streamGenerateContent',
      'native.streamGenerateContent',
      '/v1beta/models/gemini-3.8-flash:streamGenerateContent',
    ],
    [
      'POST',
      '/v1beta/models/gemini-3.8-flash:countTokens',
      'native.countTokens',
      '/v1beta/models/gemini-3.8-flash:countTokens',
    ],
    [
      'POST',
      '/v1beta/models/gemini-embedding-001:embedContent',
      'native.embedContent',
      '/v1beta/models/gemini-embedding-001:embedContent',
    ],
    [
      'POST',
      '/v1beta/models/gemini-embedding-001:batchEmbedContents',
      'native.batchEmbedContents',
      '/v1beta/models/gemini-embedding-001:batchEmbedContents',
    ],
  ])('%s %s → %s at %s', (method, path, name, upstreamPath) => {
    expect(matchRoute(method, path, q())).toMatchObject({ kind: 'route', route: { name, upstreamPath } });
  });

  it.each([
    // dot segments the URL parser left in, encoded or not
    '/v1beta/models/..%2F..%2Ffiles:generateContent',
    '/v1beta/models/%2e%2e:generateContent',
    '/v1beta/models/gemini-3.8-flash%2F..%2F..%2Ffiles:generateContent',
    '/v1beta/models/gemini-3.8-flash/../files:generateContent',
    // encoded slashes and doubled slashes
    '/v1beta/models/tunedModels%2Fx:generateContent',
    '//v1/chat/completions',
    '/v1//chat/completions',
    '/v1beta//models',
    // prefix and suffix look-alikes
    '/v1/chat/completions/',
    '/v1/chat/completionsx',
    '/v2/chat/completions',
    '/v1/images/generations/',
    '/v1/images/edits',
    '/v1/images/variations',
    '/v1/audio/speech',
    '/v1beta/models/gemini-3.8-flash:generateContent:x',
    // control characters and CRLF
    '/v1beta/models/gemini%0d%0aHost:%20evil:generateContent',
    // a name's encoded slash is decoded once, then validated: never a way to another path
    '/v1/models/models%2F..',
    '/v1/models/models%2F%2e%2e',
    '/v1/models/%2e%2e',
    '/v1/models/..%2Fchat%2Fcompletions',
    '/v1/models/models%252Fgemini-3.8-flash',
    '/v1/models/models%2Fmodels%2Fgemini-3.8-flash',
    '/v1/models/models/models%2Fgemini-3.8-flash',
    '/v1/models/gemini-3.8-flash%2F..%2F..%2Ffiles',
    '/v1/models/tunedModels%2Fx',
    '/v1/models/models%2F',
    '/v1/models%2Fmodels%2Fgemini-3.8-flash',
    '/',
    '',
  ])('refuses %p with not-found', (path) => {
    expect(matchRoute('POST', path, q())).toEqual({ kind: 'not-found' });
    expect(matchRoute('GET', path, q())).toEqual({ kind: 'not-found' });
  });

  it('answers method-not-allowed with the method the path takes', () => {
    expect(matchRoute('GET', '/v1/chat/completions', q())).toEqual({ kind: 'method-not-allowed', allow: 'POST' });
    expect(matchRoute('DELETE', '/v1/models', q())).toEqual({ kind: 'method-not-allowed', allow: 'GET' });
    expect(matchRoute('GET', '/v1/images/generations', q())).toEqual({ kind: 'method-not-allowed', allow: 'POST' });
    expect(matchRoute('PUT', '/v1beta/models/gemini-3.8-flash:generateContent', q())).toEqual({
      kind: 'method-not-allowed',
      allow: 'POST',
    });
  });

  it('forwards only whitelisted, valid query parameters, and never the key', () => {
    const stream = matchRoute('POST', '/v1beta/models/m:streamGenerateContent', q('alt=sse&key=PASS&foo=bar'));
    expect(stream).toMatchObject({ route: { upstreamSearch: '?alt=sse' } });
    const list = matchRoute('GET', '/v1beta/models', q('pageSize=50&pageToken=abc_-=&key=PASS'));
    expect(list).toMatchObject({ route: { upstreamSearch: '?pageSize=50&pageToken=abc_-%3D' } });
    expect(matchRoute('POST', '/v1beta/models/m:generateContent', q('key=PASS&alt=sse'))).toMatchObject({
      route: { upstreamSearch: '' },
    });
    expect(matchRoute('POST', '/v1beta/models/m:streamGenerateContent', q('alt=sse%0d%0aX:1'))).toEqual({
      kind: 'bad-query',
      message: 'invalid value for query parameter "alt"',
    });
    expect(matchRoute('GET', '/v1beta/models', q('pageSize=-1'))).toMatchObject({ kind: 'bad-query' });
  });
});

describe('the surface registry', () => {
  it('builds the 404 hint from every surface, in the order it has always listed them', () => {
    expect(ROUTES_HINT).toBe(
      'Unknown path. Routes: /v1/chat/completions, /v1/embeddings, /v1/images/generations, /v1/models[/{model}], /v1/responses, /v1beta/models[/{model}[:{action}]], /upload/v1beta/files, /v1beta/files[/{file}[:download]], /v1beta/cachedContents[/{id}], /v1beta/batches[/{id}[:cancel]], /v1beta/interactions[/{id}[/cancel]], /v1/files[/{id}[/content]], /v1/batches[/{id}[/cancel]], /v1/messages[/count_tokens], /ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent (WebSocket), /zen/status.',
    );
    expect(anthropicSurface.notFoundHint).toBe(
      'Unknown path. Anthropic routes: POST /v1/messages, POST /v1/messages/count_tokens.',
    );
  });

  it('matches and lists the same surfaces, each once, in the order matchers have always been tried', () => {
    const names = MATCH_ORDER.map((s) => s.name);
    expect(names).toEqual([
      'zen',
      'anthropic',
      'live',
      'openai',
      'responses',
      'openai-resources',
      'resources',
      'google',
    ]);
    expect(new Set(names).size).toBe(names.length);
    expect([...HINT_ORDER].sort((a, b) => a.name.localeCompare(b.name))).toEqual(
      [...MATCH_ORDER].sort((a, b) => a.name.localeCompare(b.name)),
    );
  });

  it("routes the gateway's own status view, and logs a refused method under its name", () => {
    expect(matchRoute('GET', '/zen/status', q())).toEqual({
      kind: 'route',
      route: { name: 'zen.status', surface: 'zen', method: 'GET' },
    });
    expect(matchRoute('POST', '/zen/status', q())).toEqual({
      kind: 'method-not-allowed',
      allow: 'GET',
      route: 'zen.status',
    });
  });
});

describe('the 404 for an unknown path', () => {
  const BIDI = 'ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent';

  it.each([
    // `@google/genai` with baseUrl `<gateway>/v1beta`: it adds /v1beta itself
    ['POST', '/v1beta/v1beta/models/gemini-3.8-flash:generateContent', 'extra', '/v1beta', 'google'],
    ['GET', '/v1beta/v1beta/models', 'extra', '/v1beta', 'google'],
    ['POST', '/v1beta/upload/v1beta/files', 'extra', '/v1beta', 'resources'],
    ['GET', `/v1beta//${BIDI}`, 'extra', '/v1beta', 'live'],
    // the Anthropic SDK with baseURL `<gateway>/v1`: it adds /v1 itself
    ['POST', '/v1/v1/messages', 'extra', '/v1', 'anthropic'],
    ['POST', '/v1/v1/chat/completions', 'extra', '/v1', 'openai'],
    ['GET', '/v1/v1/files', 'extra', '/v1', 'openai-resources'],
    // a path taken with another method is still a route: the advice does not depend on the method
    ['GET', '/v1/v1/chat/completions', 'extra', '/v1', 'openai'],
    // clients that expect the version in their base URL (the AI SDK's Google and Anthropic providers)
    ['POST', '/models/gemini-3.8-flash:generateContent', 'missing', '/v1beta', 'google'],
    ['POST', '/messages', 'missing', '/v1', 'anthropic'],
  ])('%s %s: %s %s (%s)', (method, path, kind, basePath, surface) => {
    const advice = baseUrlAdvice(method, path, q());
    expect(advice).toMatchObject({ kind, basePath });
    expect(advice?.surface.name).toBe(surface);
  });

  it.each([
    '/nope',
    '/v1beta/tunedModels',
    '//v1/models',
    '/v1//models',
    '/V1/models',
    '/v1beta/models%2Fgemini-3.8-flash:generateContent',
    '/v2/chat/completions',
    '/v1beta/v1beta/models/gemini%0d%0a:generateContent',
  ])('gives no advice for %s', (path) => {
    expect(baseUrlAdvice('POST', path, q())).toBeUndefined();
    expect(baseUrlAdvice('GET', path, q())).toBeUndefined();
  });

  it('names the path, then lists the routes', () => {
    expect(unknownPathMessage(ROUTES_HINT, '/nope', 'https://gw.example')).toBe(
      ROUTES_HINT.replace('Unknown path.', 'Unknown path /nope.'),
    );
    expect(unknownPathMessage(defined(anthropicSurface.notFoundHint, 'the hint'), '/v1/messages/batches', 'x')).toBe(
      'Unknown path /v1/messages/batches. Anthropic routes: POST /v1/messages, POST /v1/messages/count_tokens.',
    );
  });

  it('says which base URL to use for a doubled or a missing version', () => {
    const doubled = '/v1beta/v1beta/models/gemini-3.8-flash:generateContent';
    const extra = unknownPathMessage(ROUTES_HINT, doubled, 'https://gw.example', baseUrlAdvice('POST', doubled, q()));
    expect(extra).toMatch(
      /^Unknown path \/v1beta\/v1beta\/models\/gemini-3\.8-flash:generateContent\. The client's base URL has \/v1beta too many: use https:\/\/gw\.example rather than https:\/\/gw\.example\/v1beta\. Routes: \/v1\/chat\/completions, /,
    );
    const missing = unknownPathMessage(
      ROUTES_HINT,
      '/messages',
      'http://127.0.0.1:8787',
      baseUrlAdvice('POST', '/messages', q()),
    );
    expect(missing).toContain(
      "The client's base URL lacks /v1: use http://127.0.0.1:8787/v1 rather than http://127.0.0.1:8787. Routes: ",
    );
  });

  it('quotes a path with its control characters escaped and its length capped', () => {
    expect(shownPath('/v1/\x1b[2J\u202emodels\n')).toBe('/v1/\\x1b[2J\\u202emodels\\n');
    const long = `/${'a'.repeat(MAX_SHOWN_PATH * 2)}`;
    expect(shownPath(long)).toBe(`${long.slice(0, MAX_SHOWN_PATH)}…`);
    expect(shownPath('/v1beta/models/gemini-3.8-flash:generateContent')).toBe(
      '/v1beta/models/gemini-3.8-flash:generateContent',
    );
  });
});
