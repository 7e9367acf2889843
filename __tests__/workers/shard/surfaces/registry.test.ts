import { anthropicSurface } from '../../../../workers/shard/surfaces/anthropic/routes';
import { HINT_ORDER, MATCH_ORDER, matchRoute, ROUTES_HINT } from '../../../../workers/shard/surfaces/registry';

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
