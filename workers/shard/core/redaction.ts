/**
 * Redaction of secrets (pool keys, the password, client tokens) from the text a surface composes out of Google's
 * errors: a message it quotes in its own error shape or a log line, and a native error body, decoded as JSON and
 * re-encoded with the secret replaced. Every answer then passes the edge's streaming redactor
 * (`./redaction-stream.ts`), which finds every spelling these do and more in any body; these stay for what a surface
 * writes where the edge does not look (log lines) and for the well-formed error bodies, on error paths only.
 */
import { parseJson } from '../../shared/json';

/** Replaces every occurrence of a secret (a pool key, the password), as is or percent-encoded, with `[redacted]`. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    if (!secret) continue;
    for (const form of new Set([secret, encodeURIComponent(secret)])) out = out.split(form).join('[redacted]');
  }
  return out;
}

function redactValue(value: unknown, secrets: readonly string[]): unknown {
  if (typeof value === 'string') return redact(value, secrets);
  if (Array.isArray(value)) return value.map((v) => redactValue(v, secrets));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [redact(k, secrets), redactValue(v, secrets)]));
  }
  return value;
}

/**
 * Redacts secrets from a body that may be JSON. JSON can spell any character as a `\u` escape, so a key written
 * that way survives a search of the raw text: the body is decoded, redacted, and re-encoded whenever its decoded
 * strings held a secret. Otherwise the text is returned as it came (byte for byte, when it held none).
 */
export function redactJsonText(text: string, secrets: readonly string[]): string {
  const parsed = parseJson(text);
  if (parsed === undefined) return redact(text, secrets);
  const redacted = redactValue(parsed, secrets);
  return JSON.stringify(redacted) === JSON.stringify(parsed) ? text : JSON.stringify(redacted);
}
