/**
 * Canary secrets and the search that proves they never leak. Every canary carries the stem `CANARY`, so a partial
 * leak (a truncated key, a key with its prefix stripped by a sloppy mask) is caught as well as a whole one, and the
 * search also looks for the encodings a leak could take on its way out (base64 in a Basic header or a log dump,
 * percent-encoding in a logged URL).
 */
import { createHash } from 'node:crypto';

export const CANARY_STEM = 'CANARY';

/** `count` Google-looking API keys (`AIza` + 35 characters), distinct and none a prefix of another. */
export function canaryApiKeys(count: number): string[] {
  return Array.from({ length: count }, (_, i) => {
    const n = String(i + 1).padStart(2, '0');
    return `AIza${CANARY_STEM}key${n}_${createHash('sha256').update(n).digest('hex').slice(0, 22)}`;
  });
}

export const CANARY_PASS = `${CANARY_STEM}pass-7d3f19e2b4`;

/** A named client token (`TF_VAR_client_tokens`): at least 24 printable characters, as the variable requires. */
export const CANARY_CLIENT_TOKEN = `${CANARY_STEM}token-5a9c0e7d21b84f36`;

/** The forms each secret would take if it leaked through an encoder. */
function encodings(secret: string): string[] {
  const bytes = Buffer.from(secret, 'utf8');
  return [secret, bytes.toString('base64'), bytes.toString('base64url'), encodeURIComponent(secret)];
}

/**
 * Returns a search for the given secrets: it lists each secret found in a text (once, in whichever encoding came
 * first), or else the bare stem in any letter case, each as `what: context` so a failure shows where the leak is.
 */
export function canarySearch(secrets: readonly string[]): (text: string) => string[] {
  const stem = new RegExp(CANARY_STEM, 'i');
  return (text) => {
    const found: string[] = [];
    for (const secret of secrets) {
      for (const needle of encodings(secret)) {
        const at = text.indexOf(needle);
        if (at === -1) continue;
        found.push(`${needle}: …${text.slice(Math.max(0, at - 40), at + needle.length + 40)}…`);
        break;
      }
    }
    const stemAt = text.search(stem);
    if (stemAt !== -1 && found.length === 0) {
      found.push(`stem ${CANARY_STEM}: …${text.slice(Math.max(0, stemAt - 40), stemAt + 60)}…`);
    }
    return found;
  };
}
