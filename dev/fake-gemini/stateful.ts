/**
 * The stateful routes besides files: `cachedContents`, batches (`models/{m}:batchGenerateContent`, `batches`) and
 * `interactions`, each resource owned by the project of the key that created it; and {@link handleResourceCall}, which routes every
 * stateful call (files included) for the server.
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseJsonObject } from './call';
import { handleFiles, startUpload, storeGeneratedFile } from './files';
import { generateContentReply } from './native';
import { FAKE_MODELS, FAKE_REPLY_TEXT } from './replies';
import { modelError } from './request-errors';
import {
  CACHE_DENIED,
  type FakeResources,
  fileDenied,
  fileIdOf,
  invalidArgument,
  sendListing,
  RETAINED_UPLOAD_BYTES,
  randomId,
  referenceError,
  type StoredBatch,
  type StoredCache,
  type StoredInteraction,
} from './resources';
import { notFound, sendError, sendInvalidJson, sendJson } from './respond';

/** Page sizes of the cached-content and batch listings: 100 by default, 1000 at most (Google's docs give no numbers we could confirm). */
const LIST_SIZES = { defaultSize: 100, maxSize: 1000 } as const;

/** Without `ttl` or `expireTime` a cached content lives one hour (probed live: expireTime - createTime = 1 h). */
const DEFAULT_CACHE_TTL_MS = 3600 * 1000;

/** The call a stateful route answers. */
export interface ResourceCall {
  readonly store: FakeResources;
  /** the fake's own origin, for upload URLs and file URIs */
  readonly origin: string;
  readonly apiKey: string;
  readonly method: string;
  readonly url: URL;
  readonly body: string;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
}

function ttlMs(value: unknown): number | undefined {
  const match = typeof value === 'string' ? /^(\d+(?:\.\d+)?)s$/.exec(value) : null;
  return match ? Number(match[1]) * 1000 : undefined;
}

function cacheResource(c: StoredCache): Record<string, unknown> {
  return {
    name: `cachedContents/${c.id}`,
    model: c.model,
    createTime: c.createTime,
    updateTime: c.updateTime,
    expireTime: c.expireTime,
    displayName: c.displayName,
    usageMetadata: { totalTokenCount: c.totalTokenCount },
  };
}

/** When the body sets `ttl` or `expireTime`, the new expiry; an error for a malformed one. */
function expiryOf(body: Record<string, unknown>, now: number): string | undefined | { error: string } {
  if (body.ttl !== undefined) {
    const ms = ttlMs(body.ttl);
    return ms === undefined
      ? { error: `Invalid value for ttl: ${JSON.stringify(body.ttl)}` }
      : new Date(now + ms).toISOString();
  }
  if (body.expireTime !== undefined) {
    const at = typeof body.expireTime === 'string' ? Date.parse(body.expireTime) : Number.NaN;
    return Number.isNaN(at)
      ? { error: `Invalid value for expireTime: ${JSON.stringify(body.expireTime)}` }
      : new Date(at).toISOString();
  }
  return undefined;
}

function handleCaches(call: ResourceCall, path: string): true | undefined {
  const { store, apiKey, method, res } = call;
  if (path === 'cachedContents') {
    if (method === 'GET') {
      const mine = [...store.caches.values()].filter((c) => store.sees(apiKey, c));
      sendListing(res, mine, call.url.searchParams, LIST_SIZES, 'cachedContents', cacheResource);
      return true;
    }
    if (method !== 'POST') return undefined;
    const body = parseJsonObject(call.body);
    if (!body) {
      sendInvalidJson(res, 'native');
      return true;
    }
    const model = typeof body.model === 'string' ? body.model.replace(/^models\//, '') : '';
    const unserved = modelError(model, 'createCachedContent');
    if (unserved) {
      sendError(res, 'native', unserved);
      return true;
    }
    const denied = referenceError(store, apiKey, body, call.origin);
    if (denied) {
      sendError(res, 'native', denied);
      return true;
    }
    const now = Date.now();
    const expiry = expiryOf(body, now);
    if (typeof expiry === 'object') {
      sendError(res, 'native', invalidArgument(expiry.error));
      return true;
    }
    const created = new Date(now).toISOString();
    const cache: StoredCache = {
      id: randomId(40),
      ...store.owner(apiKey),
      model: `models/${model}`,
      displayName: typeof body.displayName === 'string' ? body.displayName : '',
      createTime: created,
      updateTime: created,
      expireTime: expiry ?? new Date(now + DEFAULT_CACHE_TTL_MS).toISOString(),
      totalTokenCount: JSON.stringify(body.contents ?? []).length,
    };
    store.caches.set(cache.id, cache);
    sendJson(res, 200, cacheResource(cache));
    return true;
  }
  const match = /^cachedContents\/([^/:]+)$/.exec(path);
  if (!match) return undefined;
  const cache = store.caches.get(match[1] ?? '');
  if (!store.sees(apiKey, cache)) {
    sendError(res, 'native', CACHE_DENIED);
    return true;
  }
  if (method === 'GET') sendJson(res, 200, cacheResource(cache));
  else if (method === 'DELETE') {
    store.caches.delete(cache.id);
    sendJson(res, 200, {});
  } else if (method === 'PATCH') {
    const body = parseJsonObject(call.body || '{}');
    if (!body) {
      sendInvalidJson(res, 'native');
      return true;
    }
    const now = Date.now();
    const expiry = expiryOf(body, now);
    if (typeof expiry === 'object') {
      sendError(res, 'native', invalidArgument(expiry.error));
      return true;
    }
    if (expiry !== undefined) cache.expireTime = expiry;
    cache.updateTime = new Date(now).toISOString();
    sendJson(res, 200, cacheResource(cache));
  } else notFound(res, 'native', `${method} is not allowed on cachedContents/${cache.id}`);
  return true;
}

const BATCH_TYPE = 'type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatch';
const BATCH_OUTPUT_TYPE = 'type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatchOutput';

/** A batch as Google returns it: a long-running Operation whose metadata is the GenerateContentBatch. */
function batchResource(b: StoredBatch): Record<string, unknown> {
  const count = b.inlineRequests?.length;
  const done = b.state !== 'BATCH_STATE_PENDING';
  return {
    name: `batches/${b.id}`,
    metadata: {
      '@type': BATCH_TYPE,
      model: b.model,
      displayName: b.displayName,
      createTime: b.createTime,
      updateTime: b.updateTime,
      ...(b.endTime === undefined ? {} : { endTime: b.endTime }),
      ...(count === undefined ? {} : { batchStats: { requestCount: String(count) } }),
      state: b.state,
      name: `batches/${b.id}`,
      ...(b.output === undefined ? {} : { output: b.output }),
    },
    ...(done ? { done: true } : {}),
    ...(b.output === undefined ? {} : { response: { '@type': BATCH_OUTPUT_TYPE, ...b.output } }),
  };
}

/** The key of each line of a small JSONL batch input, or as many undefined keys as the input had lines. */
function inputKeys(store: FakeResources, fileName: string): Array<unknown> {
  const file = store.files.get(fileName.replace(/^files\//, ''));
  if (!file) return [];
  if (file.head !== undefined && file.sizeBytes <= RETAINED_UPLOAD_BYTES) {
    return file.head
      .toString('utf8')
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => parseJsonObject(line)?.key);
  }
  return Array.from({ length: file.lines }, () => undefined);
}

/** Runs a pending batch to completion: inlined responses for inline input, a generated JSONL file for file input. */
function complete(store: FakeResources, b: StoredBatch): void {
  if (b.state !== 'BATCH_STATE_PENDING') return;
  const now = new Date().toISOString();
  b.state = 'BATCH_STATE_SUCCEEDED';
  b.updateTime = now;
  b.endTime = now;
  if (b.inlineRequests !== undefined) {
    b.output = {
      inlinedResponses: {
        inlinedResponses: b.inlineRequests.map((r) => ({
          response: generateContentReply((r.request ?? {}) as Record<string, unknown>, FAKE_REPLY_TEXT, true),
          ...(r.metadata === undefined ? {} : { metadata: r.metadata }),
        })),
      },
    };
    return;
  }
  const lines = inputKeys(store, b.inputFile ?? '').map((key) =>
    JSON.stringify({
      ...(key === undefined ? {} : { key }),
      response: generateContentReply({}, FAKE_REPLY_TEXT, true),
    }),
  );
  const out = storeGeneratedFile(
    store,
    b.apiKey,
    Buffer.from(lines.map((l) => `${l}\n`).join('')),
    'application/jsonl',
  );
  b.output = { responsesFile: `files/${out.id}` };
}

async function createBatch(call: ResourceCall, model: string): Promise<void> {
  const { store, apiKey, res } = call;
  const unserved = modelError(model, 'batchGenerateContent');
  if (unserved) return sendError(res, 'native', unserved);
  const body = parseJsonObject(call.body);
  if (!body) return sendInvalidJson(res, 'native');
  const batch = (body.batch ?? {}) as Record<string, unknown>;
  const input = (batch.inputConfig ?? {}) as Record<string, unknown>;
  const requests = ((input.requests ?? {}) as Record<string, unknown>).requests;
  const fileName = typeof input.fileName === 'string' ? input.fileName : undefined;
  if (!Array.isArray(requests) && fileName === undefined) {
    return sendError(res, 'native', invalidArgument('batch.input_config must set requests or file_name.'));
  }
  if (fileName !== undefined) {
    const id = fileIdOf(fileName, call.origin) ?? fileName;
    if (!store.sees(apiKey, store.files.get(id))) return sendError(res, 'native', fileDenied(id));
  }
  const denied = referenceError(store, apiKey, requests, call.origin);
  if (denied) return sendError(res, 'native', denied);
  const now = new Date().toISOString();
  const stored: StoredBatch = {
    id: randomId(24),
    ...store.owner(apiKey),
    model: `models/${model}`,
    displayName: typeof batch.displayName === 'string' ? batch.displayName : '',
    createTime: now,
    updateTime: now,
    endTime: undefined,
    state: 'BATCH_STATE_PENDING',
    inlineRequests: Array.isArray(requests) ? (requests as Array<Record<string, unknown>>) : undefined,
    inputFile: fileName === undefined ? undefined : `files/${fileIdOf(fileName, call.origin) ?? fileName}`,
    output: undefined,
  };
  store.batches.set(stored.id, stored);
  sendJson(res, 200, batchResource(stored));
}

function handleBatches(call: ResourceCall, path: string): true | undefined {
  const { store, apiKey, method, res } = call;
  if (path === 'batches' && method === 'GET') {
    const mine = [...store.batches.values()].filter((b) => store.sees(apiKey, b));
    // batches.list is Google's Operations list
    sendListing(res, mine, call.url.searchParams, LIST_SIZES, 'operations', batchResource);
    return true;
  }
  const match = /^batches\/([^/:]+)(:cancel)?$/.exec(path);
  if (!match) return undefined;
  const [, id = '', cancel] = match;
  const batch = store.batches.get(id);
  if (!store.sees(apiKey, batch)) {
    // not confirmed against Google: an unknown batch answers 404, as Google's Operations do
    notFound(res, 'native', `Batch batches/${id} not found.`);
    return true;
  }
  if (cancel && method === 'POST') {
    if (batch.state === 'BATCH_STATE_PENDING') {
      batch.state = 'BATCH_STATE_CANCELLED';
      batch.updateTime = new Date().toISOString();
      batch.endTime = batch.updateTime;
    }
    sendJson(res, 200, {});
  } else if (!cancel && method === 'GET') {
    // the fake's batches finish as soon as anyone looks
    complete(store, batch);
    sendJson(res, 200, batchResource(batch));
  } else if (!cancel && method === 'DELETE') {
    store.batches.delete(id);
    sendJson(res, 200, {});
  } else notFound(res, 'native', `${method} is not allowed on batches/${id}${cancel ?? ''}`);
  return true;
}

/** The Interactions API's own error shape: a string `code`, no `status` (probed live). */
function sendInteractionError(res: ServerResponse, status: number, code: string, message: string): void {
  sendJson(res, status, { error: { code, message } });
}

function interactionResource(i: StoredInteraction): Record<string, unknown> {
  const previous = i.body.previous_interaction_id;
  return {
    id: i.id,
    object: 'interaction',
    model: i.body.model,
    status: i.status,
    created: i.created,
    updated: i.created,
    ...(typeof previous === 'string' ? { previous_interaction_id: previous } : {}),
    steps: [{ type: 'model_output', content: [{ type: 'text', text: FAKE_REPLY_TEXT }] }],
    usage: { total_input_tokens: 1, total_output_tokens: 4, total_tokens: 5 },
  };
}

function handleInteractions(call: ResourceCall, path: string): true | undefined {
  const { store, apiKey, method, res } = call;
  if (path === 'interactions' && method === 'POST') {
    const body = parseJsonObject(call.body);
    if (!body) {
      sendInteractionError(res, 400, 'invalid_request', 'Invalid JSON payload received.');
      return true;
    }
    if (typeof body.model !== 'string' || !FAKE_MODELS.includes(body.model.replace(/^models\//, ''))) {
      sendInteractionError(res, 404, 'not_found', `Model ${String(body.model)} not found.`);
      return true;
    }
    const previous = body.previous_interaction_id;
    if (
      previous !== undefined &&
      (typeof previous !== 'string' || !store.sees(apiKey, store.interactions.get(previous)))
    ) {
      // the shape of Google's answer to another project's previous_interaction_id is not confirmed
      sendInteractionError(res, 404, 'not_found', `Interaction ${String(previous)} not found.`);
      return true;
    }
    const denied = referenceError(store, apiKey, body.input, call.origin);
    if (denied) {
      sendInteractionError(res, denied.code, 'permission_denied', denied.message);
      return true;
    }
    const interaction: StoredInteraction = {
      id: randomId(32),
      ...store.owner(apiKey),
      body,
      created: new Date().toISOString(),
      status: 'completed',
    };
    store.interactions.set(interaction.id, interaction);
    sendJson(res, 200, interactionResource(interaction));
    return true;
  }
  const match = /^interactions\/([^/:]+)(\/cancel)?$/.exec(path);
  if (!match) return undefined;
  const [, id = '', cancel] = match;
  const interaction = store.interactions.get(id);
  if (!store.sees(apiKey, interaction)) {
    sendInteractionError(res, 404, 'not_found', `Interaction ${id} not found.`);
    return true;
  }
  if (cancel && method === 'POST') sendJson(res, 200, interactionResource(interaction));
  else if (!cancel && method === 'GET') sendJson(res, 200, interactionResource(interaction));
  else if (!cancel && method === 'DELETE') {
    store.interactions.delete(id);
    sendJson(res, 200, {});
  } else notFound(res, 'native', `${method} is not allowed on interactions/${id}${cancel ?? ''}`);
  return true;
}

/**
 * Answers a stateful call (files, uploads, cached contents, batches, interactions) and returns true; returns false
 * for any other call, which the surfaces answer.
 */
export function handleResourceCall(call: ResourceCall): boolean {
  const { pathname } = call.url;
  if (pathname === '/upload/v1beta/files' && call.method === 'POST') {
    void startUpload(call.store, call.origin, call.apiKey, call.req, call.res, call.body);
    return true;
  }
  const download = /^\/download\/v1beta\/(files\/[^/:]+:download)$/.exec(pathname);
  if (download) {
    return (
      handleFiles(
        call.store,
        call.origin,
        call.apiKey,
        call.method,
        download[1] ?? '',
        call.url.searchParams,
        call.res,
      ) ?? false
    );
  }
  if (!pathname.startsWith('/v1beta/')) return false;
  const path = pathname.slice('/v1beta/'.length);
  const batchCreate = /^models\/([^/:]+):batchGenerateContent$/.exec(path);
  if (batchCreate && call.method === 'POST') {
    void createBatch(call, batchCreate[1] ?? '');
    return true;
  }
  return (
    (handleFiles(call.store, call.origin, call.apiKey, call.method, path, call.url.searchParams, call.res) ??
      handleCaches(call, path) ??
      handleBatches(call, path) ??
      handleInteractions(call, path)) === true
  );
}
