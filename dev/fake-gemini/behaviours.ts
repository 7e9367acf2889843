/**
 * The behaviours the fake can be told to show, per API key or by default: Google's success and its failure modes.
 *
 * @module
 */

export type FakeBehaviour =
  | 'ok'
  | 'quota-minute'
  | 'quota-day'
  | 'invalid-key'
  | 'leaked-key'
  | 'internal-500'
  | 'overloaded-503'
  | 'bad-request-400'
  | 'hang'
  | 'cut-stream'
  | 'malformed-json'
  /** 403 CONSUMER_SUSPENDED quoting the key, as Google words it: a key-level fault */
  | 'suspended-key'
  /** 403 PERMISSION_DENIED quoting the key without saying anything about the key: not a key-level fault */
  | 'denied-quoting-key'
  /** 401 UNAUTHENTICATED, as Google answers a credential it does not accept */
  | 'unauthenticated-401'
  /** 403 PERMISSION_DENIED, ErrorInfo SERVICE_DISABLED: the key's project has the Generative Language API off */
  | 'service-disabled-403'
  /** 403 PERMISSION_DENIED, ErrorInfo BILLING_DISABLED */
  | 'billing-disabled-403'
  /** 429 whose QuotaFailure has quotaValue "0" (and "limit: 0" in the message): no quota at all for the model */
  | 'quota-zero'
  /** 429 RESOURCE_EXHAUSTED "Resource has been exhausted (e.g. check quota)." with no details */
  | 'quota-bare-429'
  /** 400 FAILED_PRECONDITION "User location is not supported for the API use.", no details */
  | 'location-400'
  /** 403 PERMISSION_DENIED about another project's file, no details (calls with a body only) */
  | 'resource-denied-403'
  /** a redirect (`redirectStatus`, default 302) to `redirectTo` plus the request's path and query */
  | 'redirect'
  /** 400 INVALID_ARGUMENT quoting every unknown top-level field name of the request body, as Google does */
  | 'echo-unknown-field'
  /** the reply ends cleanly halfway: a stream mid-event (no blank line after it), a JSON body mid-value */
  | 'truncated-stream';

export const FAKE_BEHAVIOURS: readonly FakeBehaviour[] = [
  'ok',
  'quota-minute',
  'quota-day',
  'invalid-key',
  'leaked-key',
  'internal-500',
  'overloaded-503',
  'bad-request-400',
  'hang',
  'cut-stream',
  'malformed-json',
  'suspended-key',
  'denied-quoting-key',
  'unauthenticated-401',
  'service-disabled-403',
  'billing-disabled-403',
  'quota-zero',
  'quota-bare-429',
  'location-400',
  'resource-denied-403',
  'redirect',
  'echo-unknown-field',
  'truncated-stream',
];
