/**
 * Google's stateful resources as the fake keeps them: files, upload sessions, cached contents, batches and
 * interactions, each owned by the project of the API key that created it. Every key of that project sees and uses
 * it, no other key does (ai.google.dev/gemini-api/docs/files: files are stored per project; the same holds for
 * cached contents and batches, see /work/shared/reference/agents-and-projects.md §1).
 *
 * Ids are global, as Google's are, so a call can tell "another project's resource" from "no such resource" — and,
 * like Google, answers both the same way (403 for files and cached contents), so the owner never leaks.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { GoogleErrorObject } from './google-errors';
import { sendError, sendJson } from './respond';

/** Who a stored resource belongs to: the key that created it, and that key's project, which owns it. */
export interface Owned {
  readonly apiKey: string;
  readonly project: string;
}

/** A file of the Files API; uploaded bytes are never kept, generated ones (batch outputs) are. */
export interface StoredFile extends Owned {
  readonly id: string;
  readonly displayName: string | undefined;
  readonly mimeType: string;
  readonly sizeBytes: number;
  /** base64 of the SHA-256 digest of the bytes */
  readonly sha256Hash: string;
  readonly createTime: string;
  readonly source: 'UPLOADED' | 'GENERATED';
  /** the bytes of a generated file (only generated files can be downloaded) */
  readonly content: Buffer | undefined;
  /** up to {@link RETAINED_UPLOAD_BYTES} of an uploaded file, kept so a batch can read a small JSONL input */
  readonly head: Buffer | undefined;
  /** newline-terminated lines of an uploaded file, counted while streaming (a batch input's request count) */
  readonly lines: number;
}

/** An upload started with `x-goog-upload-command: start` and not yet finalized. */
export interface UploadSession extends Owned {
  readonly id: string;
  readonly fileId: string | undefined;
  readonly displayName: string | undefined;
  readonly mimeType: string;
  /** `x-goog-upload-header-content-length` of the start call, when given */
  readonly declaredBytes: number | undefined;
  received: number;
}

export interface StoredCache extends Owned {
  readonly id: string;
  readonly model: string;
  readonly displayName: string;
  readonly createTime: string;
  updateTime: string;
  expireTime: string;
  readonly totalTokenCount: number;
}

export type BatchState = 'BATCH_STATE_PENDING' | 'BATCH_STATE_SUCCEEDED' | 'BATCH_STATE_CANCELLED';

export interface StoredBatch extends Owned {
  readonly id: string;
  readonly model: string;
  readonly displayName: string;
  readonly createTime: string;
  updateTime: string;
  endTime: string | undefined;
  state: BatchState;
  /** the inline requests, or undefined for a file input */
  readonly inlineRequests: ReadonlyArray<Record<string, unknown>> | undefined;
  /** `files/<id>` of the input file */
  readonly inputFile: string | undefined;
  output: Record<string, unknown> | undefined;
}

export interface StoredInteraction extends Owned {
  readonly id: string;
  readonly body: Record<string, unknown>;
  readonly created: string;
  status: 'completed' | 'cancelled';
}

/** What one key's project owns, by resource name; see {@link FakeResources.ownedBy}. */
export interface FakeResourceNames {
  /** `files/<id>`, uploaded and generated */
  readonly files: string[];
  /** `cachedContents/<id>` */
  readonly cachedContents: string[];
  /** `batches/<id>` */
  readonly batches: string[];
  /** interaction ids */
  readonly interactions: string[];
  /** upload ids of started, unfinished uploads */
  readonly uploadSessions: string[];
}

/** How much of an uploaded file the fake keeps (for batch inputs); the rest is hashed and counted, never held. */
export const RETAINED_UPLOAD_BYTES = 64 * 1024;

/** Google's rule for a client-chosen file id (ai.google.dev/api/files, `File.name`). */
export const FILE_ID_RULE = /^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$/;

/** A random id of lowercase letters and digits, as Google's generated ids look. */
export function randomId(length: number): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  return [...randomBytes(length)].map((b) => alphabet[b % alphabet.length]).join('');
}

/** Every resource of every project. */
export class FakeResources {
  /** @param projectOf the project of a key, read afresh on every call (a key not listed is its own project) */
  constructor(readonly projectOf: (apiKey: string) => string = (apiKey) => apiKey) {}

  readonly files = new Map<string, StoredFile>();
  readonly uploads = new Map<string, UploadSession>();
  readonly caches = new Map<string, StoredCache>();
  readonly batches = new Map<string, StoredBatch>();
  readonly interactions = new Map<string, StoredInteraction>();

  clear(): void {
    this.files.clear();
    this.uploads.clear();
    this.caches.clear();
    this.batches.clear();
    this.interactions.clear();
  }

  /** The owner of what `apiKey` creates now: the key and its project. */
  owner(apiKey: string): Owned {
    return { apiKey, project: this.projectOf(apiKey) };
  }

  /** Whether `apiKey` may see and use `r`: `r` exists and belongs to the key's project. */
  sees<T extends Owned>(apiKey: string, r: T | undefined): r is T {
    return r !== undefined && r.project === this.projectOf(apiKey);
  }

  /** What `apiKey`'s project owns (whichever of its keys created it). */
  ownedBy(apiKey: string): FakeResourceNames {
    const mine = <T extends Owned & { id: string }>(m: Map<string, T>): string[] =>
      [...m.values()].filter((r) => this.sees(apiKey, r)).map((r) => r.id);
    return {
      files: mine(this.files).map((id) => `files/${id}`),
      cachedContents: mine(this.caches).map((id) => `cachedContents/${id}`),
      batches: mine(this.batches).map((id) => `batches/${id}`),
      interactions: mine(this.interactions),
      uploadSessions: mine(this.uploads),
    };
  }

  /**
   * Registers `name` (`files/x` or `cachedContents/x`) as `apiKey`'s (and its project's), as if that key had uploaded
   * or created it, so a test can name a resource without creating it through the API first.
   */
  seed(apiKey: string, name: string, now = new Date()): void {
    const [collection, id] = name.split('/', 2);
    if (id === undefined || id === '') throw new Error(`seed takes files/<id> or cachedContents/<id>, got ${name}`);
    const createTime = now.toISOString();
    if (collection === 'files') {
      this.files.set(id, {
        id,
        ...this.owner(apiKey),
        displayName: undefined,
        mimeType: 'text/plain',
        sizeBytes: 0,
        sha256Hash: '47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=',
        createTime,
        source: 'UPLOADED',
        content: undefined,
        head: undefined,
        lines: 0,
      });
      return;
    }
    if (collection !== 'cachedContents') throw new Error(`seed takes files/<id> or cachedContents/<id>, got ${name}`);
    const expireTime = new Date(now.getTime() + 3600 * 1000).toISOString();
    this.caches.set(id, {
      id,
      ...this.owner(apiKey),
      model: 'models/gemini-3.8-flash',
      displayName: '',
      createTime,
      updateTime: createTime,
      expireTime,
      totalTokenCount: 0,
    });
  }

  /** The key that created `name` (`files/x`, `cachedContents/x`, `batches/x`, an interaction id, an upload id). */
  ownerOf(name: string): string | undefined {
    return this.find(name)?.apiKey;
  }

  /** The project owning `name`, named as in the fake's `projects` option (an unlisted key is its own project). */
  projectOwning(name: string): string | undefined {
    return this.find(name)?.project;
  }

  private find(name: string): Owned | undefined {
    const [collection, id = ''] = name.includes('/') ? name.split('/', 2) : ['', name];
    const map = {
      files: this.files,
      cachedContents: this.caches,
      batches: this.batches,
    }[collection ?? ''] as Map<string, Owned> | undefined;
    if (map) return map.get(id);
    return this.interactions.get(name) ?? this.uploads.get(name);
  }
}

/** Google's answer for a file that is not this project's or does not exist (python-genai #1218, the text). */
export function fileDenied(id: string): GoogleErrorObject {
  return {
    code: 403,
    message: `You do not have permission to access the File ${id} or it may not exist.`,
    status: 'PERMISSION_DENIED',
  };
}

/** Google's answer for a cached content that is not this project's, was deleted or never existed (probed live). */
export const CACHE_DENIED: GoogleErrorObject = {
  code: 403,
  message: 'CachedContent not found (or permission denied)',
  status: 'PERMISSION_DENIED',
};

export function invalidArgument(message: string): GoogleErrorObject {
  return { code: 400, message, status: 'INVALID_ARGUMENT' };
}

/** A page of `items` at `pageToken` (an offset the fake wrote), or the 400 Google answers to a token it did not. */
export function pageOf<T>(
  items: readonly T[],
  search: URLSearchParams,
  defaultSize: number,
  maxSize: number,
): { readonly page: T[]; readonly nextPageToken: string | undefined } | GoogleErrorObject {
  const sizeParam = search.get('pageSize');
  const asked = sizeParam === null ? defaultSize : Number(sizeParam);
  if (!Number.isInteger(asked) || asked < 0) return invalidArgument(`Invalid value for pageSize: ${sizeParam ?? ''}`);
  const size = Math.min(asked === 0 ? defaultSize : asked, maxSize);
  const token = search.get('pageToken');
  const start = token
    ? Number(
        Buffer.from(token, 'base64url')
          .toString('utf8')
          .replace(/^offset:/, ''),
      )
    : 0;
  if (!Number.isInteger(start) || start < 0 || start > items.length) return invalidArgument('Invalid page token.');
  const end = start + size;
  return {
    page: items.slice(start, end),
    nextPageToken: end < items.length ? Buffer.from(`offset:${end}`).toString('base64url') : undefined,
  };
}

/** Google's own host, whose file URIs Google resolves; `origin` plays it for the fake's. */
const GOOGLE_ORIGIN = 'https://generativelanguage.googleapis.com';

/**
 * The id of a Gemini file reference: `files/<id>`, or a URI of Google's files (on `origin`, the fake's stand-in for
 * Google's host, or on Google's own) ending in `/files/<id>`; undefined for anything else. A URI on another host is
 * not one of Google's files: Google would fetch it as a web page, as it does any other URL (the fake fetches nothing).
 */
export function fileIdOf(reference: string, origin?: string): string | undefined {
  const match = /^(?:([a-z]+:\/\/[^/]+)\/(?:v1beta|v1|v1alpha)\/)?files\/([a-z0-9-]+)$/.exec(reference);
  if (match === null) return undefined;
  const [, host, id] = match;
  return host === undefined || host === GOOGLE_ORIGIN || host === origin ? id : undefined;
}

/** Keys whose string values name a file: native (both casings), interactions (`uri`), OpenAI-compatible parts. */
const FILE_REFERENCE_KEYS = new Set(['fileUri', 'file_uri', 'uri', 'url', 'file_id', 'fileName', 'file_name']);
const CACHE_REFERENCE_KEYS = new Set(['cachedContent', 'cached_content']);

/**
 * The error Google answers for a request body that references a file or cached content the key's project does not
 * own, or undefined when every reference is the project's own.
 */
export function referenceError(
  store: FakeResources,
  apiKey: string,
  body: unknown,
  origin: string,
): GoogleErrorObject | undefined {
  if (Array.isArray(body)) {
    for (const item of body) {
      const err = referenceError(store, apiKey, item, origin);
      if (err) return err;
    }
    return undefined;
  }
  if (!body || typeof body !== 'object') return undefined;
  for (const [key, value] of Object.entries(body)) {
    if (typeof value === 'string') {
      const fileId = FILE_REFERENCE_KEYS.has(key) ? fileIdOf(value, origin) : undefined;
      if (fileId !== undefined && !store.sees(apiKey, store.files.get(fileId))) return fileDenied(fileId);
      if (
        CACHE_REFERENCE_KEYS.has(key) &&
        !store.sees(apiKey, store.caches.get(value.replace(/^cachedContents\//, '')))
      ) {
        return CACHE_DENIED;
      }
    } else {
      const err = referenceError(store, apiKey, value, origin);
      if (err) return err;
    }
  }
  return undefined;
}

/**
 * Answers a native listing of `items` as Google does: the page under `field` (left out when empty), its
 * `nextPageToken` when more follow, or the 400 for a bad `pageSize` or `pageToken`.
 */
export function sendListing<T>(
  res: ServerResponse,
  items: readonly T[],
  search: URLSearchParams,
  sizes: { readonly defaultSize: number; readonly maxSize: number },
  field: string,
  toResource: (item: T) => unknown,
): void {
  const paged = pageOf(items, search, sizes.defaultSize, sizes.maxSize);
  if ('code' in paged) {
    sendError(res, 'native', paged);
    return;
  }
  sendJson(res, 200, {
    ...(paged.page.length > 0 ? { [field]: paged.page.map(toResource) } : {}),
    ...(paged.nextPageToken === undefined ? {} : { nextPageToken: paged.nextPageToken }),
  });
}
