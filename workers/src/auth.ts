/**
 * Client authentication. OpenAI routes take the password as `Authorization: Bearer <PASS>` (what every OpenAI
 * client sends); native routes take it where Google's clients put an API key: `x-goog-api-key` or `?key=`.
 */
import type { Surface } from './routes';

export type Credential =
  | { readonly kind: 'present'; readonly value: string }
  | { readonly kind: 'missing' }
  /** a credential was sent, but where this surface does not read it */
  | { readonly kind: 'wrong-place'; readonly expected: string };

const OPENAI_PLACE = 'the Authorization header as "Bearer <password>"';
const NATIVE_PLACE = 'the x-goog-api-key header or the key query parameter';

function bearer(headers: Headers): string | undefined {
  const value = headers.get('authorization');
  const match = value === null ? null : /^Bearer\s+(\S.*)$/i.exec(value);
  return match?.[1]?.trim();
}

/** Where the client put its password, for the route's surface. */
export function presentedCredential(surface: Surface, headers: Headers, params: URLSearchParams): Credential {
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
  if (inGoogHeader) return { kind: 'present', value: inGoogHeader };
  if (inQuery) return { kind: 'present', value: inQuery };
  if (headers.has('authorization') || elsewhere) return { kind: 'wrong-place', expected: NATIVE_PLACE };
  return { kind: 'missing' };
}

/** What to tell a client that sent no credential. */
export function missingCredentialMessage(surface: Surface): string {
  return `Missing password: send it in ${surface === 'openai' ? OPENAI_PLACE : NATIVE_PLACE}.`;
}

async function sha256(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));
}

/**
 * Compares a presented password with the expected one in constant time. Hashing first makes both operands 32 bytes,
 * so neither the length nor the position of the first difference shows in the timing.
 */
export async function passwordMatches(presented: string, expected: string): Promise<boolean> {
  const [a, b] = await Promise.all([sha256(presented), sha256(expected)]);
  let diff = 0;
  // both are 32-byte digests, so b[i] is always there; were it missing, 0x100 differs from every byte
  for (const [i, byte] of a.entries()) diff |= byte ^ (b[i] ?? 0x100);
  return diff === 0 && expected.length > 0;
}
