/**
 * The call the fake is answering: what it records of it, what the surfaces read from it, and the settings in force.
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FakeBehaviour } from './behaviours';
import type { ImplicitCache } from './implicit-cache';

export interface FakeGeminiCall {
  method: string;
  /** the raw request path, without the query string */
  path: string;
  /** the raw query string including `?`, or '' */
  search: string;
  /** lower-cased header names; repeated headers joined with ', ' */
  headers: Record<string, string>;
  /** from `Authorization: Bearer`, else `x-goog-api-key`, else `?key=` */
  apiKey: string | undefined;
  /** the request body; '' for an upload chunk (`POST /upload/v1beta/files?upload_id=…`), which is never held */
  body: string;
  /** for an upload chunk only: how many body bytes the fake has received (and hashed, then dropped) */
  bodyBytes?: number;
}

/** Google's two API surfaces, which word their errors differently. */
export type Surface = 'openai' | 'native';

/** The options of `startFakeGemini` that `configure` can change while it runs. */
export interface Settings {
  streamChunks: number;
  chunkDelayMs: number;
  redirectTo: string;
  redirectStatus: number;
  retryDelay: string;
}

/** A call that passed the key and behaviour checks and is answered by one of the surfaces. */
export interface Ctx {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  body: string;
  behaviour: FakeBehaviour;
  settings: Settings;
  /** the caller key's project (its label in the `projects` option, else the key itself) */
  project: string;
  /** the implicit cache every project's generation calls share, each under its own project */
  implicitCache: ImplicitCache;
}

export function parseJsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

export function apiKeyOf(req: IncomingMessage, url: URL): string | undefined {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice('Bearer '.length);
  const header = req.headers['x-goog-api-key'];
  if (typeof header === 'string') return header;
  return url.searchParams.get('key') ?? undefined;
}

export function headerRecord(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}
