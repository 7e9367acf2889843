/**
 * The Files API: the resumable upload (`/upload/v1beta/files`), and `files` get, list, delete and download.
 *
 * Upload bytes are streamed: hashed, counted and dropped (only the first {@link RETAINED_UPLOAD_BYTES} are kept, so a
 * small batch input can be read back), so a 100 MB upload keeps the fake's memory bounded; the call is recorded with
 * an empty `body` and its size in `bodyBytes`.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseJsonObject } from './call';
import type { GoogleErrorObject } from './google-errors';
import {
  FILE_ID_RULE,
  fileDenied,
  type FakeResources,
  invalidArgument,
  sendListing,
  RETAINED_UPLOAD_BYTES,
  randomId,
  type StoredFile,
  type UploadSession,
} from './resources';
import { notFound, sendError, sendJson } from './respond';

/** Files last 48 hours (ai.google.dev/gemini-api/docs/files; `expirationTime` = `createTime` + 48 h, probed live). */
const FILE_LIFETIME_MS = 48 * 3600 * 1000;
/** Google's advertised chunk granularity (8 MiB), sent back on the start call as Google does. */
const CHUNK_GRANULARITY = String(8 * 1024 * 1024);

/** The File resource as Google returns it. */
export function fileResource(origin: string, f: StoredFile): Record<string, unknown> {
  const created = new Date(f.createTime).getTime();
  return {
    name: `files/${f.id}`,
    ...(f.displayName === undefined ? {} : { displayName: f.displayName }),
    mimeType: f.mimeType,
    sizeBytes: String(f.sizeBytes),
    createTime: f.createTime,
    updateTime: f.createTime,
    expirationTime: new Date(created + FILE_LIFETIME_MS).toISOString(),
    sha256Hash: f.sha256Hash,
    uri: `${origin}/v1beta/files/${f.id}`,
    state: 'ACTIVE',
    source: f.source,
  };
}

/** Stores a file the fake generated (a batch's responses), owned by `apiKey`'s project. */
export function storeGeneratedFile(
  store: FakeResources,
  apiKey: string,
  content: Buffer,
  mimeType: string,
): StoredFile {
  const file: StoredFile = {
    id: randomId(12),
    ...store.owner(apiKey),
    displayName: undefined,
    mimeType,
    sizeBytes: content.length,
    sha256Hash: createHash('sha256').update(content).digest('base64'),
    createTime: new Date().toISOString(),
    source: 'GENERATED',
    content,
    head: undefined,
    lines: 0,
  };
  store.files.set(file.id, file);
  return file;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

/**
 * `POST /upload/v1beta/files` with `x-goog-upload-command: start`: opens an upload session owned by `apiKey`'s project and
 * answers, as Google does, 200 with an empty body and the session URL in `x-goog-upload-url`.
 */
export async function startUpload(
  store: FakeResources,
  origin: string,
  apiKey: string,
  req: IncomingMessage,
  res: ServerResponse,
  body: string,
): Promise<void> {
  if (header(req, 'x-goog-upload-protocol') !== 'resumable' || header(req, 'x-goog-upload-command') !== 'start') {
    return sendError(res, 'native', invalidArgument('Only the resumable upload protocol is supported.'));
  }
  const meta = parseJsonObject(body || '{}');
  if (!meta) return sendError(res, 'native', invalidArgument('Invalid JSON payload received.'));
  const file = (meta.file ?? {}) as Record<string, unknown>;
  const name = typeof file.name === 'string' ? file.name : undefined;
  const fileId = name?.replace(/^files\//, '');
  if (fileId !== undefined && !FILE_ID_RULE.test(fileId)) {
    return sendError(
      res,
      'native',
      invalidArgument(
        `Invalid value for name: "${name ?? ''}". The ID can contain up to 40 characters that are lowercase ` +
          'alphanumeric or dashes (-), and cannot start or end with a dash.',
      ),
    );
  }
  if (
    fileId !== undefined &&
    (store.files.has(fileId) || [...store.uploads.values()].some((u) => u.fileId === fileId))
  ) {
    return sendError(res, 'native', {
      code: 409,
      message: `File files/${fileId} already exists.`,
      status: 'ALREADY_EXISTS',
    });
  }
  const declared = header(req, 'x-goog-upload-header-content-length');
  const declaredBytes = declared === undefined ? undefined : Number(declared);
  if (declaredBytes !== undefined && (!Number.isInteger(declaredBytes) || declaredBytes < 0)) {
    return sendError(res, 'native', invalidArgument(`Invalid X-Goog-Upload-Header-Content-Length: ${declared ?? ''}`));
  }
  const id = randomId(32);
  store.uploads.set(id, {
    id,
    ...store.owner(apiKey),
    fileId,
    displayName: typeof file.displayName === 'string' ? file.displayName : undefined,
    mimeType:
      (typeof file.mimeType === 'string' ? file.mimeType : undefined) ??
      header(req, 'x-goog-upload-header-content-type') ??
      'application/octet-stream',
    declaredBytes,
    received: 0,
  });
  res.writeHead(200, {
    'x-goog-upload-url': `${origin}/upload/v1beta/files?upload_id=${id}&upload_protocol=resumable`,
    'x-goog-upload-status': 'active',
    'x-goog-upload-chunk-granularity': CHUNK_GRANULARITY,
    'content-length': '0',
  });
  res.end();
}

/** Reads and drops the rest of a request the fake refuses, so the client sees the answer rather than a reset. */
async function drain(req: IncomingMessage): Promise<void> {
  for await (const _ of req);
}

/**
 * `POST <x-goog-upload-url>`: one chunk (`upload`), or the last (`upload, finalize`). The body is streamed, hashed
 * and counted; `onBytes` is told the running size (the call record's `bodyBytes`). A session URL works without a key
 * (Google's session URL is self-authorizing) and with any key of its project; with another project's key it is
 * refused.
 */
export async function uploadChunk(
  store: FakeResources,
  origin: string,
  apiKey: string | undefined,
  uploadId: string,
  req: IncomingMessage,
  res: ServerResponse,
  onBytes: (n: number) => void,
): Promise<void> {
  const session = store.uploads.get(uploadId);
  const refuse = async (err: GoogleErrorObject): Promise<void> => {
    await drain(req);
    sendError(res, 'native', err);
  };
  if (!session) return refuse({ code: 404, message: 'Upload session not found.', status: 'NOT_FOUND' });
  if (apiKey !== undefined && !store.sees(apiKey, session)) {
    return refuse({ code: 403, message: 'The caller does not have permission', status: 'PERMISSION_DENIED' });
  }
  const command = (header(req, 'x-goog-upload-command') ?? '').split(',').map((c) => c.trim());
  if (command.includes('query')) {
    await drain(req);
    res.writeHead(200, { 'x-goog-upload-status': 'active', 'x-goog-upload-size-received': String(session.received) });
    res.end();
    return;
  }
  if (!command.includes('upload') && !command.includes('finalize')) {
    return refuse(invalidArgument(`Unknown X-Goog-Upload-Command: ${command.join(', ')}`));
  }
  const offset = Number(header(req, 'x-goog-upload-offset') ?? '0');
  if (offset !== session.received) {
    return refuse(invalidArgument(`Invalid X-Goog-Upload-Offset: expected ${session.received}, got ${offset}.`));
  }
  const stream = streams.get(session) ?? { hash: createHash('sha256'), kept: [], keptBytes: 0, lines: 0, lastByte: -1 };
  streams.set(session, stream);
  let chunkBytes = 0;
  for await (const piece of req) {
    const chunk = piece as Buffer;
    stream.hash.update(chunk);
    chunkBytes += chunk.length;
    for (let at = chunk.indexOf(0x0a); at !== -1; at = chunk.indexOf(0x0a, at + 1)) stream.lines += 1;
    stream.lastByte = chunk.at(-1) ?? stream.lastByte;
    if (stream.keptBytes < RETAINED_UPLOAD_BYTES) {
      const slice = Buffer.from(chunk.subarray(0, RETAINED_UPLOAD_BYTES - stream.keptBytes));
      stream.kept.push(slice);
      stream.keptBytes += slice.length;
    }
    onBytes(chunkBytes);
  }
  session.received += chunkBytes;
  if (session.declaredBytes !== undefined && session.received > session.declaredBytes) {
    store.uploads.delete(uploadId);
    return sendError(
      res,
      'native',
      invalidArgument(`Received ${session.received} bytes, more than the declared ${session.declaredBytes}.`),
    );
  }
  if (!command.includes('finalize')) {
    res.writeHead(200, { 'x-goog-upload-status': 'active', 'content-length': '0' });
    res.end();
    return;
  }
  if (session.declaredBytes !== undefined && session.received !== session.declaredBytes) {
    return sendError(
      res,
      'native',
      invalidArgument(`Received ${session.received} bytes, but ${session.declaredBytes} were declared.`),
    );
  }
  store.uploads.delete(uploadId);
  const file: StoredFile = {
    id: session.fileId ?? randomId(12),
    apiKey: session.apiKey,
    project: session.project,
    displayName: session.displayName,
    mimeType: session.mimeType,
    sizeBytes: session.received,
    sha256Hash: stream.hash.digest('base64'),
    createTime: new Date().toISOString(),
    source: 'UPLOADED',
    content: undefined,
    head: Buffer.concat(stream.kept),
    // a last line without a newline still counts
    lines: stream.lines + (stream.lastByte !== -1 && stream.lastByte !== 0x0a ? 1 : 0),
  };
  store.files.set(file.id, file);
  res.writeHead(200, { 'x-goog-upload-status': 'final', 'content-type': 'application/json; charset=UTF-8' });
  res.end(JSON.stringify({ file: fileResource(origin, file) }));
}

/** What an upload session has streamed so far, kept beside the session so the session record stays plain data. */
interface UploadStream {
  readonly hash: ReturnType<typeof createHash>;
  readonly kept: Buffer[];
  keptBytes: number;
  lines: number;
  lastByte: number;
}
const streams = new WeakMap<UploadSession, UploadStream>();

/** `/v1beta/files...` and `/download/v1beta/files/{id}:download`; undefined when `path` is not a files route. */
export function handleFiles(
  store: FakeResources,
  origin: string,
  apiKey: string,
  method: string,
  path: string,
  search: URLSearchParams,
  res: ServerResponse,
): true | undefined {
  if (path === 'files') {
    if (method !== 'GET') return undefined;
    const mine = [...store.files.values()].filter((f) => store.sees(apiKey, f));
    // files.list: pageSize defaults to 10, at most 100 (ai.google.dev/api/files#method:-files.list)
    sendListing(res, mine, search, { defaultSize: 10, maxSize: 100 }, 'files', (f) => fileResource(origin, f));
    return true;
  }
  const match = /^files\/([^/:]+)(:download)?$/.exec(path);
  if (!match) return undefined;
  const [, id = '', download] = match;
  const file = store.files.get(id);
  if (!store.sees(apiKey, file)) {
    sendError(res, 'native', fileDenied(id));
    return true;
  }
  if (download) {
    if (method !== 'GET') notFound(res, 'native', `${method} is not allowed on files/${id}:download`);
    else if (file.content === undefined) {
      // Google lets only generated files (batch outputs, generated media) be downloaded; its exact refusal is unconfirmed
      sendError(res, 'native', invalidArgument(`Only generated files can be downloaded; files/${id} was uploaded.`));
    } else {
      res.writeHead(200, { 'content-type': file.mimeType, 'content-length': String(file.content.length) });
      res.end(file.content);
    }
    return true;
  }
  if (method === 'GET') sendJson(res, 200, fileResource(origin, file));
  else if (method === 'DELETE') {
    store.files.delete(id);
    sendJson(res, 200, {});
  } else notFound(res, 'native', `${method} is not allowed on files/${id}`);
  return true;
}
