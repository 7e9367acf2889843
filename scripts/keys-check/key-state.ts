/**
 * What Google's answer to a free call (`GET /v1beta/models?pageSize=1`) says about a key, read from its structured
 * fields only (HTTP status, `error.status`, `ErrorInfo.reason`), as the shard reads them
 * (`workers/shard/core/key-faults.ts`): Google's messages quote request text and sometimes the key itself, so they
 * are never read and never printed.
 *
 * @module
 */
import { type GoogleError, googleErrorOf, isUnsupportedLocation } from '../../workers/shard/core/key-faults';

export type KeyStateKind = 'ok' | 'invalid' | 'suspended' | 'service-disabled' | 'region-refused' | 'other';

export interface KeyState {
  readonly kind: KeyStateKind;
  /**
   * Google's codes behind the state, e.g. `400 INVALID_ARGUMENT API_KEY_INVALID`, or why there was no answer
   * (`no answer: TimeoutError`); enum values and numbers only, so it is safe to print. Empty for `ok`.
   */
  readonly detail: string;
}

/** How the report names each state. */
export const STATE_NAMES: Readonly<Record<KeyStateKind, string>> = {
  ok: 'ok',
  invalid: 'invalid',
  suspended: 'suspended',
  'service-disabled': 'service disabled',
  'region-refused': 'region refused',
  other: 'other',
};

/** `ErrorInfo.reason` values that name the state (google.api.ErrorReason); any other reason is `other`. */
const STATE_OF_REASON: Readonly<Record<string, KeyStateKind>> = {
  API_KEY_INVALID: 'invalid',
  CONSUMER_INVALID: 'invalid',
  CONSUMER_SUSPENDED: 'suspended',
  SERVICE_DISABLED: 'service-disabled',
};

/** An enum value as Google writes them; anything else (a message, a quoted value) is never printed. */
const ENUM_VALUE = /^[A-Z][A-Z0-9_]{0,63}$/;

function reasonsOf(err: GoogleError | undefined): string[] {
  return (err?.details ?? [])
    .filter((d) => typeof d['@type'] === 'string' && d['@type'].endsWith('google.rpc.ErrorInfo'))
    .map((d) => d.reason)
    .filter((r): r is string => typeof r === 'string' && ENUM_VALUE.test(r));
}

/** `403 PERMISSION_DENIED SERVICE_DISABLED`: the status and the enum values Google set, nothing else. */
function detailOf(status: number, err: GoogleError | undefined, reasons: readonly string[]): string {
  const codes = [err?.status, ...reasons].filter((c): c is string => c !== undefined && ENUM_VALUE.test(c));
  return [String(status), ...codes].join(' ');
}

/** The state of a key from Google's answer to the free call: its HTTP status and its parsed JSON body. */
export function keyStateOf(status: number, body: unknown): KeyState {
  if (status === 200) return { kind: 'ok', detail: '' };
  const err = googleErrorOf(body);
  const reasons = reasonsOf(err);
  const detail = detailOf(status, err, reasons);
  const named = reasons.map((r) => STATE_OF_REASON[r]).find((k) => k !== undefined);
  if (named !== undefined) return { kind: named, detail };
  // the client never sends Google anything but the key, so a credential Google refuses can only be the key
  if (status === 401) return { kind: 'invalid', detail };
  if (isUnsupportedLocation(status, err)) return { kind: 'region-refused', detail };
  return { kind: 'other', detail };
}

/** The state of a key whose call got no answer: the error's name (or Node's code), never its message. */
export function unansweredState(error: unknown): KeyState {
  const { cause, name: errorName } = (error ?? {}) as { cause?: { code?: unknown }; name?: unknown };
  const name = typeof cause?.code === 'string' ? cause.code : typeof errorName === 'string' ? errorName : 'error';
  return { kind: 'other', detail: `no answer: ${/^[A-Za-z0-9_]{1,64}$/.test(name) ? name : 'error'}` };
}
