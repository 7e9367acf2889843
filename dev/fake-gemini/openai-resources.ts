/**
 * The OpenAI-compatible files and batches under `/v1beta/openai/` (`files`, `files/{id}`, `files/{id}/content`,
 * `batches`, `batches/{id}`, `batches/{id}/cancel`), kept in the same per-project store as the native resources: a compat
 * file is a Files API file and a compat batch a native batch, so each name works on both surfaces.
 *
 * What is Google's and what is the fake's guess (see the README, "OpenAI-compatible files and batches"):
 * - Google documents `batches.create`, `retrieve` and reading results through the OpenAI SDK, uploads and downloads
 *   through the native Files API, with `input_file_id` a native file name and `output_file_id` handed to
 *   `files.download` (ai.google.dev/gemini-api/docs/openai, "Batch API"). The fake therefore uses Google's native
 *   names as OpenAI ids: `files/<id>` and `batches/<id>`. A path id may arrive percent-encoded (`files%2F<id>`, as
 *   the `openai` SDK encodes path parameters) or bare (`<id>`); both name the same resource.
 * - Google says compat upload and download are "currently not supported"; the fake serves them anyway (multipart
 *   `POST files` with `purpose=batch`, `GET files/{id}/content`), in OpenAI's shapes, so a gateway is ready for both.
 * - Another project's resource: 403 PERMISSION_DENIED for a file (as natively), 404 NOT_FOUND for a batch (as the fake's
 *   native batches), in the compat surface's array-wrapped error body. Google's real answer here is unconfirmed.
 *
 * The multipart upload is parsed as it streams: the file part is hashed, counted and dropped (its first
 * {@link RETAINED_UPLOAD_BYTES} kept so a batch can read a small JSONL input), never held whole.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseJsonObject } from './call';
import { storeGeneratedFile } from './files';
import { FAKE_REPLY_TEXT } from './replies';
import {
  type FakeResources,
  fileDenied,
  invalidArgument,
  RETAINED_UPLOAD_BYTES,
  randomId,
  type StoredBatch,
  type StoredFile,
} from './resources';
import { notFound, sendError, sendJson } from './respond';

/** The path of the compat upload, answered by {@link uploadOpenAIFile} before the server reads the body. */
export const OPENAI_FILES_PATH = '/v1beta/openai/files';

const FILE_LIFETIME_S = 48 * 3600;
const BATCH_WINDOW_S = 24 * 3600;
/** The most the fake reads of a non-file form field (`purpose`). */
const MAX_FIELD_BYTES = 1024;

/** What the compat surface adds to a native batch: OpenAI's own fields. */
interface CompatBatch {
  readonly endpoint: string;
  readonly completionWindow: string;
  readonly metadata: Record<string, unknown> | null;
  cancelledAt: number | undefined;
}
const compat = new WeakMap<StoredBatch, CompatBatch>();

const seconds = (iso: string): number => Math.floor(new Date(iso).getTime() / 1000);

/** Google's id from a path segment or a body field: `files/<id>` (encoded or not) or the bare id. */
export function compatIdOf(collection: 'files' | 'batches', value: string): string | undefined {
  let text: string;
  try {
    text = decodeURIComponent(value);
  } catch {
    return undefined;
  }
  const id = text.startsWith(`${collection}/`) ? text.slice(collection.length + 1) : text;
  return /^[a-z0-9][a-z0-9-]{0,63}$/.test(id) ? id : undefined;
}

function fileObject(f: StoredFile): Record<string, unknown> {
  const created = seconds(f.createTime);
  return {
    id: `files/${f.id}`,
    object: 'file',
    bytes: f.sizeBytes,
    created_at: created,
    expires_at: created + FILE_LIFETIME_S,
    filename: f.displayName ?? f.id,
    purpose: f.source === 'GENERATED' ? 'batch_output' : 'batch',
    status: 'processed',
    status_details: null,
  };
}

function batchObject(store: FakeResources, b: StoredBatch): Record<string, unknown> {
  const extra = compat.get(b);
  const created = seconds(b.createTime);
  const ended = b.endTime === undefined ? null : seconds(b.endTime);
  const output = typeof b.output?.responsesFile === 'string' ? b.output.responsesFile : null;
  const input = b.inputFile === undefined ? undefined : store.files.get(b.inputFile.replace(/^files\//, ''));
  const total = input?.lines ?? 0;
  const done = b.state === 'BATCH_STATE_SUCCEEDED';
  return {
    id: `batches/${b.id}`,
    object: 'batch',
    endpoint: extra?.endpoint ?? '/v1/chat/completions',
    errors: null,
    input_file_id: b.inputFile ?? null,
    completion_window: extra?.completionWindow ?? '24h',
    status: done ? 'completed' : b.state === 'BATCH_STATE_CANCELLED' ? 'cancelled' : 'in_progress',
    output_file_id: output,
    error_file_id: null,
    created_at: created,
    in_progress_at: created,
    expires_at: created + BATCH_WINDOW_S,
    finalizing_at: done ? ended : null,
    completed_at: done ? ended : null,
    failed_at: null,
    expired_at: null,
    cancelling_at: extra?.cancelledAt ?? null,
    cancelled_at: b.state === 'BATCH_STATE_CANCELLED' ? ended : null,
    request_counts: { total, completed: done ? total : 0, failed: 0 },
    metadata: extra?.metadata ?? null,
  };
}

/** The OpenAI batch output: one line per input line, each a chat completion (or embedding list) for its custom_id. */
function outputLines(store: FakeResources, b: StoredBatch, endpoint: string): string {
  const input = b.inputFile === undefined ? undefined : store.files.get(b.inputFile.replace(/^files\//, ''));
  const text = input?.head?.toString('utf8') ?? '';
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  return lines
    .map((line, i) => {
      const request = parseJsonObject(line) ?? {};
      const body = (request.body ?? {}) as Record<string, unknown>;
      const model = typeof body.model === 'string' ? body.model : 'gemini-3.8-flash';
      const reply =
        endpoint === '/v1/embeddings'
          ? { object: 'list', data: [{ object: 'embedding', index: 0, embedding: [0.1, 0.2, 0.3] }], model }
          : {
              id: `chatcmpl-fake-batch-${i}`,
              object: 'chat.completion',
              created: seconds(b.createTime),
              model,
              choices: [{ index: 0, message: { role: 'assistant', content: FAKE_REPLY_TEXT }, finish_reason: 'stop' }],
              usage: { prompt_tokens: 5, completion_tokens: 4, total_tokens: 9 },
            };
      return `${JSON.stringify({
        id: `batch_req_${i}`,
        custom_id: request.custom_id ?? `request-${i}`,
        response: { status_code: 200, request_id: `req_${i}`, body: reply },
        error: null,
      })}\n`;
    })
    .join('');
}

/** Completes a pending batch on its first look, as the native batches do, with an OpenAI-format output file. */
function complete(store: FakeResources, b: StoredBatch): void {
  if (b.state !== 'BATCH_STATE_PENDING') return;
  const now = new Date().toISOString();
  const out = storeGeneratedFile(
    store,
    b.apiKey,
    Buffer.from(outputLines(store, b, compat.get(b)?.endpoint ?? '/v1/chat/completions')),
    'application/jsonl',
  );
  b.state = 'BATCH_STATE_SUCCEEDED';
  b.updateTime = now;
  b.endTime = now;
  b.output = { responsesFile: `files/${out.id}` };
}

/** A page of OpenAI's list shape: `after` an id of the list (either id shape), at most `limit` items. */
function listPage<T>(
  res: ServerResponse,
  items: readonly T[],
  idOf: (item: T) => string,
  render: (item: T) => Record<string, unknown>,
  search: URLSearchParams,
  collection: 'files' | 'batches',
): void {
  const limitParam = search.get('limit');
  const limit = limitParam === null ? 20 : Number(limitParam);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
    sendError(res, 'openai', invalidArgument(`Invalid value for limit: ${limitParam ?? ''}`));
    return;
  }
  const after = search.get('after');
  let start = 0;
  if (after !== null) {
    const id = compatIdOf(collection, after);
    const at = items.findIndex((item) => idOf(item) === id);
    if (at === -1) {
      sendError(res, 'openai', invalidArgument(`Invalid value for after: ${after}`));
      return;
    }
    start = at + 1;
  }
  const page = items.slice(start, start + limit).map(render);
  sendJson(res, 200, {
    object: 'list',
    data: page,
    first_id: page[0]?.id ?? null,
    last_id: page.at(-1)?.id ?? null,
    has_more: start + limit < items.length,
  });
}

/** The call a compat resource route answers (the body already read: everything but the upload). */
export interface OpenAIResourceCall {
  readonly store: FakeResources;
  readonly apiKey: string;
  readonly method: string;
  readonly url: URL;
  readonly body: string;
  readonly res: ServerResponse;
}

/** Answers `/v1beta/openai/files...` and `/v1beta/openai/batches...` and returns true; false for any other path. */
export function handleOpenAIResources(call: OpenAIResourceCall): boolean {
  const { store, apiKey, method, url, res } = call;
  const path = url.pathname.slice('/v1beta/openai/'.length);
  if (path === 'files') {
    if (method !== 'GET') return false;
    const mine = [...store.files.values()].filter((f) => store.sees(apiKey, f));
    listPage(res, mine, (f) => f.id, fileObject, url.searchParams, 'files');
    return true;
  }
  const file = /^files\/([^/]+)(\/content)?$/.exec(path);
  if (file) {
    const id = compatIdOf('files', file[1] ?? '') ?? '';
    const stored = store.files.get(id);
    if (!store.sees(apiKey, stored)) {
      sendError(res, 'openai', fileDenied(id));
      return true;
    }
    if (file[2] !== undefined) {
      if (method !== 'GET') notFound(res, 'openai', `${method} is not allowed on files/${id}/content`);
      else if (stored.content === undefined) {
        // an uploaded file's bytes are not kept (only generated ones are); Google's refusal here is unconfirmed
        sendError(res, 'openai', invalidArgument(`Only generated files can be downloaded; files/${id} was uploaded.`));
      } else {
        res.writeHead(200, { 'content-type': stored.mimeType, 'content-length': String(stored.content.length) });
        res.end(stored.content);
      }
      return true;
    }
    if (method === 'GET') sendJson(res, 200, fileObject(stored));
    else if (method === 'DELETE') {
      store.files.delete(id);
      sendJson(res, 200, { id: `files/${id}`, object: 'file', deleted: true });
    } else notFound(res, 'openai', `${method} is not allowed on files/${id}`);
    return true;
  }
  if (path === 'batches') {
    if (method === 'GET') {
      const mine = [...store.batches.values()].filter((b) => store.sees(apiKey, b) && compat.has(b));
      listPage(
        res,
        mine,
        (b) => b.id,
        (b) => batchObject(store, b),
        url.searchParams,
        'batches',
      );
      return true;
    }
    if (method !== 'POST') return false;
    createBatch(call);
    return true;
  }
  const batch = /^batches\/([^/]+)(\/cancel)?$/.exec(path);
  if (!batch) return false;
  const id = compatIdOf('batches', batch[1] ?? '') ?? '';
  const stored = store.batches.get(id);
  if (!store.sees(apiKey, stored)) {
    notFound(res, 'openai', `Batch batches/${id} not found.`);
    return true;
  }
  if (batch[2] !== undefined && method === 'POST') {
    if (stored.state === 'BATCH_STATE_PENDING') {
      const now = new Date().toISOString();
      stored.state = 'BATCH_STATE_CANCELLED';
      stored.updateTime = now;
      stored.endTime = now;
      const extra = compat.get(stored);
      if (extra) extra.cancelledAt = seconds(now);
    }
    sendJson(res, 200, batchObject(store, stored));
  } else if (batch[2] === undefined && method === 'GET') {
    // the fake's batches finish as soon as anyone looks
    complete(store, stored);
    sendJson(res, 200, batchObject(store, stored));
  } else notFound(res, 'openai', `${method} is not allowed on batches/${id}${batch[2] ?? ''}`);
  return true;
}

const ENDPOINTS = ['/v1/chat/completions', '/v1/embeddings'];

function createBatch(call: OpenAIResourceCall): void {
  const { store, apiKey, res } = call;
  const body = parseJsonObject(call.body);
  if (!body) {
    sendError(res, 'openai', invalidArgument('Invalid JSON payload received.'));
    return;
  }
  const { input_file_id: inputFileId, endpoint, completion_window: window } = body;
  if (typeof inputFileId !== 'string') {
    sendError(res, 'openai', invalidArgument('input_file_id is required.'));
    return;
  }
  if (typeof endpoint !== 'string' || !ENDPOINTS.includes(endpoint)) {
    sendError(res, 'openai', invalidArgument(`Invalid value for endpoint: ${String(endpoint)}`));
    return;
  }
  if (window !== '24h') {
    sendError(res, 'openai', invalidArgument(`Invalid value for completion_window: ${String(window)}`));
    return;
  }
  const fileId = compatIdOf('files', inputFileId) ?? '';
  if (!store.sees(apiKey, store.files.get(fileId))) {
    sendError(res, 'openai', fileDenied(fileId));
    return;
  }
  const now = new Date().toISOString();
  const stored: StoredBatch = {
    id: randomId(24),
    ...store.owner(apiKey),
    model: 'models/gemini-3.8-flash',
    displayName: '',
    createTime: now,
    updateTime: now,
    endTime: undefined,
    state: 'BATCH_STATE_PENDING',
    inlineRequests: undefined,
    inputFile: `files/${fileId}`,
    output: undefined,
  };
  const metadata = body.metadata !== null && typeof body.metadata === 'object' ? body.metadata : null;
  compat.set(stored, {
    endpoint,
    completionWindow: window,
    metadata: metadata as Record<string, unknown> | null,
    cancelledAt: undefined,
  });
  store.batches.set(stored.id, stored);
  sendJson(res, 200, batchObject(store, stored));
}

// ---- the multipart upload, parsed as it streams ----

/** One part's headers: its form field name and file name. */
function partOf(headers: string): { readonly name: string; readonly filename: string | undefined } {
  const disposition = /^content-disposition:(.*)$/im.exec(headers)?.[1] ?? '';
  const name = /\bname="([^"]*)"/i.exec(disposition)?.[1] ?? '';
  const filename = /\bfilename="([^"]*)"/i.exec(disposition)?.[1];
  return { name, filename };
}

interface FilePart {
  readonly hash: ReturnType<typeof createHash>;
  readonly kept: Buffer[];
  keptBytes: number;
  bytes: number;
  lines: number;
  lastByte: number;
  filename: string | undefined;
}

/**
 * `POST /v1beta/openai/files` (multipart/form-data: `file`, `purpose`): the file part hashed and counted as it
 * arrives, never held; `onBytes` is told the body bytes received (the call record's `bodyBytes`).
 */
export async function uploadOpenAIFile(
  store: FakeResources,
  apiKey: string,
  req: IncomingMessage,
  res: ServerResponse,
  onBytes: (n: number) => void,
): Promise<void> {
  const boundary = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(req.headers['content-type'] ?? '');
  const delimiter = Buffer.from(`\r\n--${boundary?.[1] ?? boundary?.[2] ?? ''}`);
  const file: FilePart = {
    hash: createHash('sha256'),
    kept: [],
    keptBytes: 0,
    bytes: 0,
    lines: 0,
    lastByte: -1,
    filename: undefined,
  };
  const fields = new Map<string, string>();
  let sawFile = false;
  let state: 'preamble' | 'headers' | 'body' | 'done' = 'preamble';
  let current: { name: string; isFile: boolean; text: string } | undefined;
  // a leading CRLF lets the first delimiter match the same pattern as every later one
  let buf: Buffer = Buffer.from('\r\n');
  let received = 0;
  const emit = (chunk: Buffer): void => {
    if (current === undefined || chunk.length === 0) return;
    if (!current.isFile) {
      if (current.text.length < MAX_FIELD_BYTES) current.text += chunk.toString('utf8').slice(0, MAX_FIELD_BYTES);
      return;
    }
    file.hash.update(chunk);
    file.bytes += chunk.length;
    for (let at = chunk.indexOf(0x0a); at !== -1; at = chunk.indexOf(0x0a, at + 1)) file.lines += 1;
    file.lastByte = chunk.at(-1) ?? file.lastByte;
    if (file.keptBytes < RETAINED_UPLOAD_BYTES) {
      const slice = Buffer.from(chunk.subarray(0, RETAINED_UPLOAD_BYTES - file.keptBytes));
      file.kept.push(slice);
      file.keptBytes += slice.length;
    }
  };
  const finishPart = (): void => {
    if (current !== undefined && !current.isFile) fields.set(current.name, current.text);
    current = undefined;
  };
  const advance = (): void => {
    for (;;) {
      if (state === 'done') {
        buf = Buffer.alloc(0);
        return;
      }
      if (state === 'headers') {
        const end = buf.indexOf('\r\n\r\n');
        if (end === -1) return;
        const part = partOf(buf.subarray(0, end).toString('utf8'));
        const isFile = part.name === 'file';
        if (isFile) {
          sawFile = true;
          file.filename = part.filename;
        }
        current = { name: part.name, isFile, text: '' };
        buf = buf.subarray(end + 4);
        state = 'body';
        continue;
      }
      const at = buf.indexOf(delimiter);
      if (at === -1) {
        // keep what could still be the start of a delimiter
        const keep = Math.min(buf.length, delimiter.length + 1);
        if (state === 'body') emit(buf.subarray(0, buf.length - keep));
        buf = Buffer.from(buf.subarray(buf.length - keep));
        return;
      }
      if (buf.length < at + delimiter.length + 2) return;
      if (state === 'body') emit(buf.subarray(0, at));
      finishPart();
      const after = buf.subarray(at + delimiter.length, at + delimiter.length + 2).toString('latin1');
      buf = buf.subarray(at + delimiter.length + 2);
      state = after === '--' ? 'done' : 'headers';
    }
  };
  // `advance` moves the state; read through a function so the compiler does not narrow it to its initial value
  const finished = (): boolean => state === 'done';
  for await (const piece of req) {
    const chunk = piece as Buffer;
    received += chunk.length;
    onBytes(received);
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    advance();
  }
  if (boundary === null || !sawFile || !finished()) {
    return sendError(
      res,
      'openai',
      invalidArgument('The request must be multipart/form-data with a "file" part and a "purpose" field.'),
    );
  }
  const purpose = fields.get('purpose');
  if (purpose !== 'batch') {
    return sendError(res, 'openai', invalidArgument(`Invalid value for purpose: ${purpose ?? ''}. Only "batch".`));
  }
  const stored: StoredFile = {
    id: randomId(12),
    ...store.owner(apiKey),
    displayName: file.filename,
    mimeType: 'application/jsonl',
    sizeBytes: file.bytes,
    sha256Hash: file.hash.digest('base64'),
    createTime: new Date().toISOString(),
    source: 'UPLOADED',
    content: undefined,
    head: Buffer.concat(file.kept),
    lines: file.lines + (file.lastByte !== -1 && file.lastByte !== 0x0a ? 1 : 0),
  };
  store.files.set(stored.id, stored);
  sendJson(res, 200, fileObject(stored));
}
