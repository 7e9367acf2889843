/**
 * Client authentication. OpenAI routes take the password as `Authorization: Bearer <PASS>` (what every OpenAI
 * client sends); native routes take it where Google's clients put an API key: `x-goog-api-key` or `?key=`;
 * Anthropic routes where Anthropic's clients put one: `x-api-key` (an API key) or `Authorization: Bearer` (Claude
 * Code's `ANTHROPIC_AUTH_TOKEN`); Live API sessions where native routes do (`live.connect` puts it in `?key=`, or
 * `httpOptions.headers` in `x-goog-api-key`); the gateway's own `/zen/status` takes Bearer or `x-goog-api-key`. The password is
 * `PASS` or any named client token.
 */
import type { ClientCredential } from './client-tokens';
import type { Surface } from './routes';

/** Where a route reads the credential: a surface's places, or `headers` (Bearer or `x-goog-api-key`, never the URL). */
export type CredentialPlaces = Surface | 'headers';

export type Credential =
  | { readonly kind: 'present'; readonly value: string }
  | { readonly kind: 'missing' }
  /** a credential was sent, but where this surface does not read it */
  | { readonly kind: 'wrong-place'; readonly expected: string };

const OPENAI_PLACE = 'the Authorization header as "Bearer <password>"';
const NATIVE_PLACE = 'the x-goog-api-key header or the key query parameter';
const HEADERS_PLACE = 'the Authorization header as "Bearer <password>" or the x-goog-api-key header';
const ANTHROPIC_PLACE = 'the x-api-key header or the Authorization header as "Bearer <password>"';

const PLACES: Readonly<Record<CredentialPlaces, string>> = {
  openai: OPENAI_PLACE,
  native: NATIVE_PLACE,
  anthropic: ANTHROPIC_PLACE,
  live: NATIVE_PLACE,
  headers: HEADERS_PLACE,
};

function bearer(headers: Headers): string | undefined {
  const value = headers.get('authorization');
  const match = value === null ? null : /^Bearer\s+(\S.*)$/i.exec(value);
  return match?.[1]?.trim();
}

/** Where the client put its password, for the route's surface. */
export function presentedCredential(surface: CredentialPlaces, headers: Headers, params: URLSearchParams): Credential {
  const inAuthorization = bearer(headers);
  const inGoogHeader = headers.get('x-goog-api-key') ?? undefined;
  const inQuery = params.get('key') ?? undefined;
  // other places OpenAI-style tools put keys; reading them would only widen what can leak into logs or proxies
  const elsewhere = headers.has('x-api-key') || headers.has('api-key');
  if (surface === 'openai') {
    if (inAuthorization) return { kind: 'present', value: inAuthorization };
    if (inGoogHeader || inQuery || elsewhere || headers.has('authorization'))
      return { kind: 'wrong-place', expected: OPENAI_PLACE };
    return { kind: 'missing' };
  }
  if (surface === 'anthropic') {
    const value = headers.get('x-api-key') || inAuthorization;
    if (value) return { kind: 'present', value };
    if (inGoogHeader || inQuery || headers.has('api-key') || headers.has('authorization'))
      return { kind: 'wrong-place', expected: ANTHROPIC_PLACE };
    return { kind: 'missing' };
  }
  if (surface === 'headers') {
    const value = inAuthorization ?? inGoogHeader;
    if (value) return { kind: 'present', value };
    // a password in the URL ends up in proxy logs and shell history; the status view does not read it there
    if (inQuery || elsewhere || headers.has('authorization')) return { kind: 'wrong-place', expected: HEADERS_PLACE };
    return { kind: 'missing' };
  }
  if (inGoogHeader) return { kind: 'present', value: inGoogHeader };
  if (inQuery) return { kind: 'present', value: inQuery };
  if (headers.has('authorization') || elsewhere) return { kind: 'wrong-place', expected: NATIVE_PLACE };
  return { kind: 'missing' };
}

/** What to tell a client that sent no credential. */
export function missingCredentialMessage(surface: CredentialPlaces): string {
  return `Missing password: send it in ${PLACES[surface]}.`;
}

async function sha256(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));
}

/**
 * The name of the credential `presented` matches (`pass` for `PASS`, else a client token's name), or undefined.
 * Every credential is compared, in constant time and without stopping at a match, so the time taken does not say
 * which one matched or how close a guess came; what remains is one branch per credential on the final result.
 */
export async function identifyClient(
  presented: string,
  credentials: readonly ClientCredential[],
): Promise<string | undefined> {
  const [mine, ...theirs] = await Promise.all([presented, ...credentials.map((c) => c.value)].map(sha256));
  let matched: string | undefined;
  theirs.forEach((digest, i) => {
    let diff = 0;
    for (let j = 0; j < digest.length; j++) diff |= (mine?.[j] ?? 0) ^ (digest[j] ?? 0);
    const credential = credentials[i];
    if (diff === 0 && credential !== undefined && credential.value.length > 0) matched = credential.name;
  });
  return matched;
}
