/**
 * The Workers Analytics Engine SQL API: `POST <base>/accounts/<account id>/analytics_engine/sql` with the query as
 * the body and a bearer token that has Account Analytics Read
 * (developers.cloudflare.com/analytics/analytics-engine/sql-api/). The answer (`FORMAT JSON`) is ClickHouse's JSON
 * format: `{ "meta": [...], "data": [rows], "rows": n }`, where 64-bit integers may come as strings.
 *
 * @module
 */

/** Cloudflare's API, where the SQL API lives. */
export const DEFAULT_API_URL = 'https://api.cloudflare.com/client/v4';

/** Where and as whom to ask. */
export interface SqlApi {
  /** `https://api.cloudflare.com/client/v4`, or a stand-in on loopback (`http://127.0.0.1:<port>/client/v4`) */
  readonly baseUrl: string;
  readonly accountId: string;
  /** never printed: every message is checked for it */
  readonly token: string;
  readonly fetch: (url: string, init: RequestInit) => Promise<Response>;
}

/** The API could not be reached, or refused the query; the message never holds the token. */
export class UsageApiError extends Error {
  override readonly name = 'UsageApiError';
}

/** One row of an answer, by column alias. */
export type SqlRow = Readonly<Record<string, unknown>>;

/** Why a base URL cannot be used: the token goes there, so only https, or http on this machine (a stand-in). */
export function apiUrlProblem(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `USAGE_API_URL is not a URL, got ${JSON.stringify(url.slice(0, 80))}`;
  }
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(parsed.hostname);
  if (parsed.protocol === 'https:' || (parsed.protocol === 'http:' && loopback)) return undefined;
  return 'USAGE_API_URL must be an https:// URL (or http:// on 127.0.0.1, for a stand-in): the token is sent there';
}

/** What an error answer says: Cloudflare's `errors[].message`, or the first line of a text body; capped. */
function messageOf(body: string, token: string): string {
  let message = body.split('\n').find((line) => line.trim() !== '') ?? '';
  try {
    const json = JSON.parse(body) as { errors?: { message?: unknown }[] };
    const messages = (json.errors ?? []).map((e) => e.message).filter((m): m is string => typeof m === 'string');
    if (messages.length > 0) message = messages.join('; ');
  } catch {
    // a text answer: its first line
  }
  const capped = message.length > 300 ? `${message.slice(0, 300)}…` : message;
  return token === '' ? capped : capped.split(token).join('[token]');
}

/** Runs one query; its rows. */
export async function runQuery(api: SqlApi, sql: string): Promise<SqlRow[]> {
  const url = `${api.baseUrl.replace(/\/+$/, '')}/accounts/${encodeURIComponent(api.accountId)}/analytics_engine/sql`;
  let response: Response;
  try {
    response = await api.fetch(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${api.token}`, 'content-type': 'text/plain' },
      body: sql,
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: unknown } }).cause?.code;
    throw new UsageApiError(
      `could not reach the Analytics Engine SQL API at ${new URL(url).origin}${cause ? ` (${String(cause)})` : ''}`,
    );
  }
  const body = await response.text();
  if (!response.ok) {
    const hint =
      response.status === 401 || response.status === 403
        ? ' (the token needs the account permission Account Analytics: Read, for this account)'
        : '';
    throw new UsageApiError(
      `the Analytics Engine SQL API answered ${response.status}: ${messageOf(body, api.token)}${hint}`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new UsageApiError('the Analytics Engine SQL API answered with a body that is not JSON');
  }
  const data = (json as { data?: unknown }).data;
  if (!Array.isArray(data)) throw new UsageApiError('the Analytics Engine SQL API answered without a data list');
  return data.filter((row): row is SqlRow => row !== null && typeof row === 'object');
}
