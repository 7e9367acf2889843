/**
 * Client authentication. The password is `PASS` or any named client token; each surface names where its clients put
 * it (`../surfaces/registry.ts`), one of a small vocabulary of credential places: `bearer` (`Authorization: Bearer
 * <PASS>`, what every OpenAI client sends), `google` (where Google's clients put an API key: `x-goog-api-key` or
 * `?key=`; `live.connect` puts it in `?key=`, or `httpOptions.headers` in `x-goog-api-key`), `anthropic` (where
 * Anthropic's clients put one: `x-api-key`, or `Authorization: Bearer`, Claude Code's `ANTHROPIC_AUTH_TOKEN`) and
 * `headers` (Bearer or `x-goog-api-key`, never the URL: the gateway's own `/zen/status`).
 */
import type { ClientCredential } from './client-tokens';

export type Credential =
  | { readonly kind: 'present'; readonly value: string }
  | { readonly kind: 'missing' }
  /** a credential was sent, but where this surface does not read it */
  | { readonly kind: 'wrong-place'; readonly expected: string };

/** What a request carries where clients put credentials. */
interface Sent {
  readonly headers: Headers;
  /** the token of `Authorization: Bearer <token>` */
  readonly bearer?: string;
  readonly googHeader?: string;
  readonly query?: string;
  /** an `Authorization` header of any scheme */
  readonly authorization: boolean;
  // other places OpenAI-style tools put keys; reading them would only widen what can leak into logs or proxies
  readonly elsewhere: boolean;
}

/** A credential place: how to tell a client where to put the password, where to read it, and what is misplaced. */
interface Place {
  readonly where: string;
  readonly read: (sent: Sent) => string | null | undefined;
  readonly misplaced: (sent: Sent) => boolean;
}

const BEARER_WHERE = 'the Authorization header as "Bearer <password>"';

const PLACES = {
  bearer: {
    where: BEARER_WHERE,
    read: (s) => s.bearer,
    misplaced: (s) => Boolean(s.googHeader || s.query || s.elsewhere || s.authorization),
  },
  google: {
    where: 'the x-goog-api-key header or the key query parameter',
    read: (s) => s.googHeader || s.query,
    misplaced: (s) => s.authorization || s.elsewhere,
  },
  anthropic: {
    where: 'the x-api-key header or the Authorization header as "Bearer <password>"',
    read: (s) => s.headers.get('x-api-key') || s.bearer,
    misplaced: (s) => Boolean(s.googHeader || s.query || s.headers.has('api-key') || s.authorization),
  },
  headers: {
    where: 'the Authorization header as "Bearer <password>" or the x-goog-api-key header',
    read: (s) => s.bearer ?? s.googHeader,
    // a password in the URL ends up in proxy logs and shell history; the status view does not read it there
    misplaced: (s) => Boolean(s.query || s.elsewhere || s.authorization),
  },
} as const satisfies Readonly<Record<string, Place>>;

/** Where a surface's clients put the credential. */
export type CredentialPlaces = keyof typeof PLACES;

function bearer(headers: Headers): string | undefined {
  const value = headers.get('authorization');
  const match = value === null ? null : /^Bearer\s+(\S.*)$/i.exec(value);
  return match?.[1]?.trim();
}

/** Where the client put its password, for the places its route's surface reads. */
export function presentedCredential(places: CredentialPlaces, headers: Headers, params: URLSearchParams): Credential {
  const sent: Sent = {
    headers,
    bearer: bearer(headers),
    googHeader: headers.get('x-goog-api-key') ?? undefined,
    query: params.get('key') ?? undefined,
    authorization: headers.has('authorization'),
    elsewhere: headers.has('x-api-key') || headers.has('api-key'),
  };
  const place: Place = PLACES[places];
  const value = place.read(sent);
  if (value) return { kind: 'present', value };
  if (place.misplaced(sent)) return { kind: 'wrong-place', expected: place.where };
  return { kind: 'missing' };
}

/** What to tell a client that sent no credential. */
export function missingCredentialMessage(places: CredentialPlaces): string {
  return `Missing password: send it in ${PLACES[places].where}.`;
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
