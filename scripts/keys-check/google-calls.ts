/**
 * The calls `npm run keys:check` makes to Google, each with one key in `x-goog-api-key` (never in a URL, so no log
 * line, proxy or error message can carry it): the free model list for a key's state, and the Files API calls that
 * tell which keys share a project (a resumable upload of a few bytes, a lookup, a delete).
 *
 * @module
 */
import { type KeyState, keyStateOf, unansweredState } from './key-state';
import type { ProjectProbe } from './projects';

/** Google's endpoint; `GEMINI_BASE_URL` replaces it (the fake Gemini in tests). */
export const GOOGLE_BASE_URL = 'https://generativelanguage.googleapis.com';
/** How long one call may take. */
export const CALL_TIMEOUT_MS = 15_000;
/** What the probe file holds and is called: says what it is to anyone who sees it in AI Studio meanwhile. */
const PROBE_TEXT = 'zen-ai-router keys:check probe: it finds which keys share a project, and is deleted at once\n';
const PROBE_NAME = 'zen-ai-router-keys-check';

export interface GoogleCallsOptions {
  /** `GOOGLE_BASE_URL` or a replacement, without a trailing slash */
  readonly baseUrl: string;
  /** the keys, by index */
  readonly keys: readonly string[];
  /** stops the state checks and the search (not the deletes, which must still run) */
  readonly signal: AbortSignal;
  readonly fetch?: typeof fetch;
}

export interface GoogleCalls {
  /** the state of key `index`, from `GET /v1beta/models?pageSize=1` */
  state(index: number): Promise<KeyState>;
  readonly probe: ProjectProbe;
}

async function jsonOf(res: Response): Promise<unknown> {
  try {
    return JSON.parse(await res.text());
  } catch {
    return undefined;
  }
}

/** The upload session URL, only when it is on Google's own origin (the key is sent nowhere else). */
function sessionUrl(res: Response, baseUrl: string): string | undefined {
  const url = res.headers.get('x-goog-upload-url');
  if (res.status !== 200 || url === null) return undefined;
  try {
    return new URL(url).origin === new URL(baseUrl).origin ? url : undefined;
  } catch {
    return undefined;
  }
}

/** One call with key `index`, stopped by `signal` (when given) or after {@link CALL_TIMEOUT_MS}. */
type KeyedCall = (index: number, url: string, init?: RequestInit, signal?: AbortSignal) => Promise<Response>;

/** The resumable upload of the probe file (start, then one chunk that finalizes); the file's name, if made. */
async function uploadProbe(
  call: KeyedCall,
  baseUrl: string,
  index: number,
  signal: AbortSignal,
): Promise<string | undefined> {
  const bytes = Buffer.byteLength(PROBE_TEXT);
  const start = await call(
    index,
    `${baseUrl}/upload/v1beta/files`,
    {
      method: 'POST',
      headers: {
        'x-goog-upload-protocol': 'resumable',
        'x-goog-upload-command': 'start',
        'x-goog-upload-header-content-length': String(bytes),
        'x-goog-upload-header-content-type': 'text/plain',
        'content-type': 'application/json',
      },
      body: JSON.stringify({ file: { displayName: PROBE_NAME } }),
    },
    signal,
  );
  await start.arrayBuffer();
  const url = sessionUrl(start, baseUrl);
  if (url === undefined) return undefined;
  const done = await call(
    index,
    url,
    {
      method: 'POST',
      headers: { 'x-goog-upload-command': 'upload, finalize', 'x-goog-upload-offset': '0' },
      body: PROBE_TEXT,
    },
    signal,
  );
  const name = ((await jsonOf(done)) as { file?: { name?: unknown } } | undefined)?.file?.name;
  return done.status === 200 && typeof name === 'string' && /^files\/[a-z0-9-]{1,64}$/.test(name) ? name : undefined;
}

/** The probe of `./projects.ts` over Google's Files API. */
function filesProbe(call: KeyedCall, baseUrl: string, signal: AbortSignal): ProjectProbe {
  return {
    // a failed upload leaves the key unknown; only a stop (Ctrl-C) ends the search
    upload: (index) =>
      uploadProbe(call, baseUrl, index, signal).catch((error: unknown) => {
        if (signal.aborted) throw error;
        return undefined;
      }),
    async sees(index, file) {
      const res = await call(index, `${baseUrl}/v1beta/${file}`, {}, signal).catch((error: unknown) => {
        if (signal.aborted) throw error;
        return undefined;
      });
      await res?.arrayBuffer();
      return res?.status === 200 ? 'same' : res?.status === 403 ? 'other' : 'unknown';
    },
    // not stopped by `signal`: the files must go even when the run is being stopped
    async remove(index, file) {
      const res = await call(index, `${baseUrl}/v1beta/${file}`, { method: 'DELETE' });
      await res.arrayBuffer();
      return res.status === 200;
    },
  };
}

export function googleCalls(options: GoogleCallsOptions): GoogleCalls {
  const { baseUrl, keys, signal } = options;
  const fetchImpl = options.fetch ?? fetch;
  const call: KeyedCall = (index, url, init = {}, stop) => {
    const timeout = AbortSignal.timeout(CALL_TIMEOUT_MS);
    return fetchImpl(url, {
      ...init,
      headers: { ...(init.headers as Record<string, string> | undefined), 'x-goog-api-key': keys[index] ?? '' },
      signal: stop ? AbortSignal.any([stop, timeout]) : timeout,
    });
  };
  return {
    async state(index) {
      try {
        const res = await call(index, `${baseUrl}/v1beta/models?pageSize=1`, {}, signal);
        return keyStateOf(res.status, await jsonOf(res));
      } catch (error) {
        return unansweredState(error);
      }
    },
    probe: filesProbe(call, baseUrl, signal),
  };
}
