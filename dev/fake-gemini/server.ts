/**
 * The fake's HTTP server: records every call, answers it by its key's behaviour (an error, a redirect, silence) or
 * its project's quota (a 429 from the admission hook), and hands the rest to the stateful routes, the
 * OpenAI-compatible or the native surface, telling them the caller's project.
 *
 * @module
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FakeBehaviour } from './behaviours';
import {
  apiKeyOf,
  headerRecord,
  parseJsonObject,
  type Ctx,
  type FakeGeminiCall,
  type Settings,
  type Surface,
} from './call';
import {
  admissionError,
  FAKE_RETRY_DELAY,
  googleError,
  UNREGISTERED_CALLER,
  type GoogleErrorObject,
} from './google-errors';
import { uploadChunk } from './files';
import { handleNative } from './native';
import { handleOpenAI } from './openai';
import { ImplicitCache, implicitCacheMinTokens } from './implicit-cache';
import { handleOpenAIResources, OPENAI_FILES_PATH, uploadOpenAIFile } from './openai-resources';
import type { Admission } from './rate-limit';
import { DEFAULT_STREAM_CHUNKS } from './replies';
import { FakeResources, type FakeResourceNames, referenceError } from './resources';
import { notFound, sendError, sendJson, sendRedirect, sendStream } from './respond';
import { handleResourceCall } from './stateful';

export interface FakeGeminiOptions {
  /** TCP port; 0 picks a free one. @default 0 */
  port?: number;
  /** content chunks per streamed reply (before the finish chunk). @default 3 */
  streamChunks?: number;
  /** delay before each streamed chunk, in milliseconds. @default 0 */
  chunkDelayMs?: number;
  /** where the `redirect` behaviour points (the request's path and query are appended). @default 'https://redirect.invalid' */
  redirectTo?: string;
  /** the status the `redirect` behaviour answers. @default 302 */
  redirectStatus?: 301 | 302 | 303 | 307 | 308;
  /** `RetryInfo.retryDelay` of the `quota-minute` behaviour. @default {@link FAKE_RETRY_DELAY} */
  retryDelay?: string;
  /**
   * Which keys belong to one Google project: key → project label. Every key of a project shares its quota windows
   * (the admission hook is asked with the project), its files, cached contents and batches, and its implicit cache;
   * another project's resource is Google's 403. A key not listed is its own project (named by the key itself).
   * `configure({ projects })` replaces the map; resources keep the project they were created in.
   * @default {} - every key is its own project
   */
  projects?: Readonly<Record<string, string>>;
  /**
   * The smallest common prefix, in tokens (the fake's tokens are words), that an implicit cache hit needs.
   * @default - Google's per-model minimum ({@link implicitCacheMinTokens}: 4,096 for Gemini 3.x)
   */
  implicitCacheMinTokens?: number;
  /**
   * Asked once per call that its key's behaviour would serve, with the caller's project; a refusal is answered as
   * Google's per-minute, per-project quota 429 (e.g. a `WindowedRateLimit` of `dev/fake-gemini/rate-limit.ts`, for
   * the capacity benchmark).
   * @default - every call is admitted
   */
  admission?: Admission;
  /**
   * Answers native `generateContent`, `streamGenerateContent` and `countTokens` calls before the fake, for any model:
   * a reply body (for a stream, an array of chunks, one SSE event each), a Google error as `{ error: {code, …} }`, or
   * undefined to leave the call to the fake. Key behaviours and `admission` still apply first.
   * @default - the fake's own replies only
   */
  nativeReply?: NativeReply;
}

/** See {@link FakeGeminiOptions.nativeReply}. */
export type NativeReply = (model: string, action: string, body: Record<string, unknown>) => unknown;

export interface FakeGemini {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly calls: FakeGeminiCall[];
  setKeyBehaviour(key: string, b: FakeBehaviour | undefined): void;
  setDefaultBehaviour(b: FakeBehaviour): void;
  configure(o: Partial<FakeGeminiOptions>): void;
  /**
   * The stateful resources `apiKey`'s project owns (whichever of its keys created them): files, cached contents,
   * batches, interactions and open upload sessions, by the names Google gives them.
   */
  resources(apiKey: string): FakeResourceNames;
  /** The key that created a resource (`files/x`, `cachedContents/x`, `batches/x`, an interaction or upload id). */
  resourceOwner(name: string): string | undefined;
  /** The project owning a resource, as {@link projectOf} names it. */
  resourceProject(name: string): string | undefined;
  /** `apiKey`'s project: its label in the `projects` option, else the key itself. */
  projectOf(apiKey: string): string;
  /** registers `files/<id>` or `cachedContents/<id>` as `apiKey`'s, as if it had created it (cleared by `reset`) */
  seedResource(apiKey: string, name: string): void;
  /**
   * clears calls, resources, the implicit cache, per-key behaviours, the default behaviour, and the stream, redirect
   * and project settings (back to the options it started with)
   */
  reset(): void;
  close(): Promise<void>;
}

/** What the running fake has been told, read afresh by every call. */
interface FakeState {
  settings: Settings;
  defaultBehaviour: FakeBehaviour;
  readonly behaviours: Map<string, FakeBehaviour>;
  readonly calls: FakeGeminiCall[];
  readonly admission: Admission | undefined;
  readonly nativeReply: NativeReply | undefined;
  readonly resources: FakeResources;
  readonly implicitCache: ImplicitCache;
  projects: Readonly<Record<string, string>>;
  /** `http://127.0.0.1:<port>`, known once the server listens */
  origin: string;
}

/** `next` over `current`, field by field. */
function mergeSettings(current: Settings, next: Partial<FakeGeminiOptions>): Settings {
  return {
    streamChunks: next.streamChunks ?? current.streamChunks,
    chunkDelayMs: next.chunkDelayMs ?? current.chunkDelayMs,
    redirectTo: next.redirectTo ?? current.redirectTo,
    redirectStatus: next.redirectStatus ?? current.redirectStatus,
    retryDelay: next.retryDelay ?? current.retryDelay,
  };
}

/** `POST /upload/v1beta/files?upload_id=…`: a chunk of an upload, whose body is streamed and never held. */
function uploadIdOf(req: IncomingMessage, url: URL): string | undefined {
  if (req.method !== 'POST' || url.pathname !== '/upload/v1beta/files') return undefined;
  return url.searchParams.get('upload_id') ?? undefined;
}

function recordCall(req: IncomingMessage, body: string, apiKey: string | undefined): FakeGeminiCall {
  const rawUrl = req.url ?? '/';
  const queryAt = rawUrl.indexOf('?');
  return {
    method: req.method ?? '',
    path: queryAt === -1 ? rawUrl : rawUrl.slice(0, queryAt),
    search: queryAt === -1 ? '' : rawUrl.slice(queryAt),
    headers: headerRecord(req),
    apiKey,
    body,
  };
}

async function handleCall(state: FakeState, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const uploadId = uploadIdOf(req, url);
  if (uploadId !== undefined) {
    // the session URL authorizes the upload by itself, as Google's does: no key needed, no behaviour applied
    const record: FakeGeminiCall = { ...recordCall(req, '', apiKeyOf(req, url)), bodyBytes: 0 };
    state.calls.push(record);
    return uploadChunk(state.resources, state.origin, record.apiKey, uploadId, req, res, (n) => {
      record.bodyBytes = n;
    });
  }
  if (req.method === 'POST' && url.pathname === OPENAI_FILES_PATH) return openAIUpload(state, req, res, url);
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks).toString('utf8');
  const apiKey = apiKeyOf(req, url);
  state.calls.push(recordCall(req, body, apiKey));
  const surface: Surface = url.pathname.startsWith('/v1beta/openai/') ? 'openai' : 'native';
  if (!apiKey) return sendError(res, surface, UNREGISTERED_CALLER);
  const { settings } = state;
  const behaviour = state.behaviours.get(apiKey) ?? state.defaultBehaviour;
  if (behaviour === 'hang') return; // never answers; close() tears the socket down
  if (behaviour === 'redirect') return sendRedirect(res, settings, req.url ?? '/');
  const model = /models\/([^/:]+)/.exec(url.pathname)?.[1] ?? parseJsonObject(body)?.model;
  const err = googleError(behaviour, {
    surface,
    method: req.method ?? '',
    model: typeof model === 'string' ? model : 'gemini-3.8-flash',
    apiKey,
    body,
    retryDelay: settings.retryDelay,
  });
  if (err) return sendError(res, surface, err);
  const project = state.resources.projectOf(apiKey);
  const refused = admissionError(state.admission, project, apiKey, model);
  if (refused) return sendError(res, surface, refused);

  const { resources, origin } = state;
  const method = req.method ?? '';
  if (handleResourceCall({ store: resources, origin, apiKey, method, url, body, req, res })) return;
  if (surface === 'openai' && handleOpenAIResources({ store: resources, apiKey, method, url, body, res })) return;
  // a generation call may only reference this key's files and cached contents, as at Google
  const denied = method === 'POST' ? referenceError(resources, apiKey, parseJsonObject(body), origin) : undefined;
  if (denied) return sendError(res, surface, denied);

  const ctx: Ctx = { req, res, url, body, behaviour, settings, project, implicitCache: state.implicitCache };
  const hooked = nativeHook(state.nativeReply, url.pathname, body);
  if (hooked !== undefined) return sendHooked(ctx, hooked);
  if (surface === 'openai') return handleOpenAI(ctx, url.pathname.slice('/v1beta/openai/'.length));
  if (url.pathname.startsWith('/v1beta/')) return handleNative(ctx, url.pathname.slice('/v1beta/'.length));
  return notFound(res, 'native', `Unknown path ${url.pathname}`);
}

/**
 * `POST /v1beta/openai/files`: the multipart upload, streamed (recorded with `body: ''` and its size in
 * `bodyBytes`, like an upload chunk), after the key and its behaviour are checked as for any call.
 */
async function openAIUpload(state: FakeState, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const apiKey = apiKeyOf(req, url);
  const record: FakeGeminiCall = { ...recordCall(req, '', apiKey), bodyBytes: 0 };
  state.calls.push(record);
  const refuse = async (err: GoogleErrorObject): Promise<void> => {
    for await (const _ of req);
    sendError(res, 'openai', err);
  };
  if (!apiKey) return refuse(UNREGISTERED_CALLER);
  const behaviour = state.behaviours.get(apiKey) ?? state.defaultBehaviour;
  if (behaviour === 'hang') return;
  if (behaviour === 'redirect') return sendRedirect(res, state.settings, req.url ?? '/');
  const err = googleError(behaviour, {
    surface: 'openai',
    method: 'POST',
    model: 'gemini-3.8-flash',
    apiKey,
    body: '',
    retryDelay: state.settings.retryDelay,
  });
  if (err) return refuse(err);
  return uploadOpenAIFile(state.resources, apiKey, req, res, (n) => {
    record.bodyBytes = n;
  });
}

const HOOKED_ACTION = /^\/v1beta\/models\/([^/:]+):(generateContent|streamGenerateContent|countTokens)$/;

/** The hook's answer to a native call it covers, with the action it answered; undefined leaves the call to the fake. */
function nativeHook(
  hook: NativeReply | undefined,
  pathname: string,
  body: string,
): { readonly action: string; readonly reply: unknown } | undefined {
  const [, model = '', action] = HOOKED_ACTION.exec(pathname) ?? [];
  if (hook === undefined || action === undefined) return undefined;
  const reply = hook(model, action, parseJsonObject(body) ?? {});
  return reply === undefined ? undefined : { action, reply };
}

function sendHooked(
  ctx: Ctx,
  { action, reply }: { readonly action: string; readonly reply: unknown },
): Promise<void> | void {
  const error = (reply as { error?: GoogleErrorObject }).error;
  if (error) return sendError(ctx.res, 'native', error);
  if (action !== 'streamGenerateContent') return sendJson(ctx.res, 200, reply);
  const chunks = Array.isArray(reply) ? reply : [reply];
  return sendStream(
    ctx,
    chunks.map((chunk) => JSON.stringify(chunk)),
    '\r\n\r\n',
  );
}

/** Starts the fake on 127.0.0.1. */
export async function startFakeGemini(o: FakeGeminiOptions = {}): Promise<FakeGemini> {
  const initial: Settings = {
    streamChunks: o.streamChunks ?? DEFAULT_STREAM_CHUNKS,
    chunkDelayMs: o.chunkDelayMs ?? 0,
    redirectTo: o.redirectTo ?? 'https://redirect.invalid',
    redirectStatus: o.redirectStatus ?? 302,
    retryDelay: o.retryDelay ?? FAKE_RETRY_DELAY,
  };
  const initialProjects = { ...o.projects };
  const minTokens = o.implicitCacheMinTokens;
  const state: FakeState = {
    settings: { ...initial },
    defaultBehaviour: 'ok',
    behaviours: new Map(),
    calls: [],
    admission: o.admission,
    nativeReply: o.nativeReply,
    // a key not listed is its own project; an own property only, so a key named like an Object method stays alone
    resources: new FakeResources((key) => (Object.hasOwn(state.projects, key) ? state.projects[key] : key) ?? key),
    implicitCache: new ImplicitCache({
      minTokens: minTokens === undefined ? implicitCacheMinTokens : () => minTokens,
    }),
    projects: initialProjects,
    origin: '',
  };
  const server = createServer((req, res) => {
    handleCall(state, req, res).catch((e: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { error: { code: 500, message: String(e), status: 'INTERNAL' } });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  state.origin = `http://127.0.0.1:${port}`;

  return {
    url: state.origin,
    calls: state.calls,
    setKeyBehaviour(key, b) {
      if (b === undefined) state.behaviours.delete(key);
      else state.behaviours.set(key, b);
    },
    setDefaultBehaviour(b) {
      state.defaultBehaviour = b;
    },
    configure(next) {
      state.settings = mergeSettings(state.settings, next);
      if (next.projects !== undefined) state.projects = { ...next.projects };
    },
    resources(apiKey) {
      return state.resources.ownedBy(apiKey);
    },
    resourceOwner(name) {
      return state.resources.ownerOf(name);
    },
    resourceProject(name) {
      return state.resources.projectOwning(name);
    },
    projectOf(apiKey) {
      return state.resources.projectOf(apiKey);
    },
    seedResource(apiKey, name) {
      state.resources.seed(apiKey, name);
    },
    reset() {
      state.calls.length = 0;
      state.resources.clear();
      state.implicitCache.clear();
      state.projects = initialProjects;
      state.behaviours.clear();
      state.defaultBehaviour = 'ok';
      state.settings = { ...initial };
    },
    close() {
      return new Promise<void>((resolve, reject) => {
        server.close((e) => (e ? reject(e) : resolve()));
        // hung requests and keep-alive sockets would otherwise keep close() waiting forever
        server.closeAllConnections();
      });
    },
  };
}
