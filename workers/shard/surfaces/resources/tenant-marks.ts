/**
 * Where a client's mark (`./tenancy.ts`) is stored at Google, so that a listing can tell whose each item is although
 * Google keeps no creator: in what Google keeps and only the gateway writes.
 * - A file: its id, chosen by the gateway when the upload starts (`files/<mark>-<id>`). A client that names its file
 *   keeps the name it chose after the mark; the rest of Google's rule for ids (40 lowercase letters, digits or dashes)
 *   leaves it 31 characters.
 * - A cached content and a batch: their `displayName`, prefixed with `zen:<mark>:` on creation and on an update that
 *   sets it, and stripped from every reply, so a client sees the name it gave.
 * - An OpenAI-compatible batch, whose object has no display name: its input file's mark (only a client holding that
 *   file can create it).
 * Interactions and upload sessions are never listed, so they carry no mark: their seal is enough.
 *
 * @module
 */
import { isJsonObject } from '../../../shared/json';
import type { ListedCollection } from '../../../shared/owner-tag';
import { Refusal } from '../../edge/refusal';
import { MARK_LENGTH, MARK_PATTERN } from './tenancy';

const DISPLAY_MARK = new RegExp(`^zen:(${MARK_PATTERN}):`);
const FILE_ID_MARK = new RegExp(`^(${MARK_PATTERN})-`);
/** Google's rule for a file id: at most 40 lowercase letters, digits or dashes, no dash at either end. */
const FILE_ID = /^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$/;
/** What a client may choose after its mark and a dash. */
export const CHOSEN_FILE_ID_LENGTH = 40 - MARK_LENGTH - 1;

/** `displayName` as stored: the client's own, behind its mark. */
export function markedDisplayName(mark: string, displayName: string): string {
  return `zen:${mark}:${displayName}`;
}

/** A stored `displayName` as the client gave it: the mark stripped. */
export function unmarkedDisplayName(value: string): string {
  return value.replace(DISPLAY_MARK, '');
}

function displayNameMark(value: unknown): string | undefined {
  return typeof value === 'string' ? DISPLAY_MARK.exec(value)?.[1] : undefined;
}

/** The mark in a file's Google id (`<mark>-…`), with or without `files/` in front. */
export function fileIdMark(value: unknown): string | undefined {
  return typeof value === 'string' ? FILE_ID_MARK.exec(value.replace(/^files\//, ''))?.[1] : undefined;
}

/** The mark of an item of Google's native listing of `collection`; undefined for an unmarked one. */
export function listedItemMark(collection: ListedCollection, item: unknown): string | undefined {
  if (!isJsonObject(item)) return undefined;
  switch (collection) {
    case 'files':
      return fileIdMark(item.name);
    case 'cachedContents':
      return displayNameMark(item.displayName);
    case 'batches':
      return isJsonObject(item.metadata) ? displayNameMark(item.metadata.displayName) : undefined;
  }
}

/** The mark of an item of an OpenAI-compatible listing: a file's id's, a batch's input file's. */
export function compatItemMark(collection: 'files' | 'batches', item: unknown): string | undefined {
  if (!isJsonObject(item)) return undefined;
  return fileIdMark(collection === 'files' ? item.id : item.input_file_id);
}

/**
 * The id of a file a client uploads: its mark, then the id it chose (`chosen`, Google's id without `files/`) or a
 * random one; the 400 when the chosen id cannot follow the mark within Google's rule.
 */
export function clientFileId(mark: string, chosen: string | undefined, random: () => string): string | Refusal {
  const id = `${mark}-${chosen ?? random()}`;
  if (FILE_ID.test(id)) return id;
  return new Refusal(
    400,
    'invalid_file_name',
    `A file name chosen through this gateway may hold at most ${CHOSEN_FILE_ID_LENGTH} lowercase letters, digits or dashes after its owner tag, and may not start or end with a dash: the gateway puts ${MARK_LENGTH + 1} characters of its own in front, which Google's limit of 40 counts.`,
  );
}

/**
 * A cached content's or a batch's update body with its `displayName` behind `mark`: when the body sets one, and when
 * the update mask names it without one (which would clear the mark). Undefined when the body stays as it is.
 */
export function remarkedUpdate(
  json: Readonly<Record<string, unknown>>,
  mark: string,
  updateMask: string | null,
): Record<string, unknown> | undefined {
  const given = json.displayName;
  const masked = updateMask?.split(',').some((f) => f.trim() === 'displayName' || f.trim() === 'display_name');
  if (typeof given !== 'string' && !masked) return undefined;
  return { ...json, displayName: markedDisplayName(mark, typeof given === 'string' ? given : '') };
}
