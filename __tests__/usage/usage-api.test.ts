/** The SQL API call: its URL and headers, what an error answer says (never the token), and a body it cannot read. */
import { apiUrlProblem, runQuery, type SqlApi, UsageApiError } from '../../scripts/usage/usage-api';

const TOKEN = 'usage-api-canary-token-0123456789';

function api(answer: (url: string, init: RequestInit) => Promise<Response>): SqlApi {
  return { baseUrl: 'https://api.cloudflare.com/client/v4/', accountId: 'acc', token: TOKEN, fetch: answer };
}

describe('runQuery', () => {
  test('POSTs the SQL to the account’s analytics_engine/sql with the bearer token; the rows of data', async () => {
    const seen: { url: string; init: RequestInit }[] = [];
    const rows = await runQuery(
      api(async (url, init) => {
        seen.push({ url, init });
        return new Response(JSON.stringify({ meta: [], data: [{ n: '3' }], rows: 1 }));
      }),
      'SELECT 1',
    );
    expect(rows).toEqual([{ n: '3' }]);
    expect(seen[0]?.url).toBe('https://api.cloudflare.com/client/v4/accounts/acc/analytics_engine/sql');
    expect(seen[0]?.init).toMatchObject({ method: 'POST', body: 'SELECT 1' });
    expect(new Headers(seen[0]?.init.headers).get('authorization')).toBe(`Bearer ${TOKEN}`);
  });

  test('an error answer that quotes the token says [token] instead', async () => {
    const answer = async () => new Response(`bad token ${TOKEN}\nmore`, { status: 400 });
    await expect(runQuery(api(answer), 'x')).rejects.toThrow(
      'the Analytics Engine SQL API answered 400: bad token [token]',
    );
  });

  test('no answer, a body that is not JSON, or no data list: a clear error', async () => {
    const refused = async (): Promise<Response> => {
      throw Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } });
    };
    await expect(runQuery(api(refused), 'x')).rejects.toThrow(
      'could not reach the Analytics Engine SQL API at https://api.cloudflare.com (ECONNREFUSED)',
    );
    await expect(
      runQuery(
        api(async () => new Response('<html>')),
        'x',
      ),
    ).rejects.toThrow(UsageApiError);
    await expect(
      runQuery(
        api(async () => new Response('{"rows":0}')),
        'x',
      ),
    ).rejects.toThrow('without a data list');
  });
});

describe('apiUrlProblem', () => {
  test.each([
    ['https://api.cloudflare.com/client/v4', undefined],
    ['http://127.0.0.1:8080/client/v4', undefined],
    ['http://localhost:8080/client/v4', undefined],
    ['http://api.example.com/client/v4', 'must be an https:// URL'],
    ['not a url', 'is not a URL'],
  ])('%s', (url, problem) => {
    if (problem === undefined) expect(apiUrlProblem(url)).toBeUndefined();
    else expect(apiUrlProblem(url)).toContain(problem);
  });
});
