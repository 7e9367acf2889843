import {
  CHOSEN_FILE_ID_LENGTH,
  clientFileId,
  compatItemMark,
  fileIdMark,
  listedItemMark,
  markedDisplayName,
  remarkedUpdate,
  unmarkedDisplayName,
} from '../../../../../workers/shard/surfaces/resources/tenant-marks';
import { Refusal } from '../../../../../workers/shard/edge/refusal';

const MARK = 'k3j5a2bq';

describe('file ids', () => {
  it("put the client's mark in front of the id it chose, or of a random one", () => {
    expect(clientFileId(MARK, 'report', () => 'unused')).toBe(`${MARK}-report`);
    expect(clientFileId(MARK, undefined, () => '0f3a9c')).toBe(`${MARK}-0f3a9c`);
    expect(fileIdMark(`files/${MARK}-report`)).toBe(MARK);
    expect(fileIdMark(`${MARK}-report`)).toBe(MARK);
    expect(fileIdMark('abc123def456')).toBeUndefined();
  });

  it.each([
    ['too long for Google once marked', 'a'.repeat(CHOSEN_FILE_ID_LENGTH + 1)],
    ['ending in a dash', 'report-'],
    ['in capitals', 'Report'],
    ['holding a dot', 'a.b'],
  ])('refuse a chosen id %s with the gateway’s own 400', (_what, id) => {
    const refusal = clientFileId(MARK, id, () => 'x');
    expect(refusal).toBeInstanceOf(Refusal);
    expect(refusal).toMatchObject({ status: 400, code: 'invalid_file_name' });
  });

  it('take a chosen id of the longest length Google allows after the mark', () => {
    expect(clientFileId(MARK, 'a'.repeat(CHOSEN_FILE_ID_LENGTH), () => 'x')).toHaveLength(40);
  });
});

describe('display names', () => {
  it('keep the mark in front and give the client its own name back', () => {
    expect(markedDisplayName(MARK, 'my cache')).toBe(`zen:${MARK}:my cache`);
    expect(unmarkedDisplayName(`zen:${MARK}:my cache`)).toBe('my cache');
    expect(unmarkedDisplayName('zen:short:x')).toBe('zen:short:x');
    expect(unmarkedDisplayName('legacy name')).toBe('legacy name');
  });

  it('re-mark an update that sets the name or masks it, and leave other updates as sent', () => {
    expect(remarkedUpdate({ displayName: 'renamed' }, MARK, 'displayName')).toEqual({
      displayName: `zen:${MARK}:renamed`,
    });
    expect(remarkedUpdate({ ttl: '60s' }, MARK, 'ttl,displayName')).toEqual({
      ttl: '60s',
      displayName: `zen:${MARK}:`,
    });
    expect(remarkedUpdate({ displayName: 'x' }, MARK, null)).toEqual({ displayName: `zen:${MARK}:x` });
    expect(remarkedUpdate({ ttl: '60s' }, MARK, 'ttl')).toBeUndefined();
    expect(remarkedUpdate({ ttl: '60s' }, MARK, null)).toBeUndefined();
  });
});

describe('the mark of a listed item', () => {
  it("reads a file's from its id, a cache's and a batch's from their display name", () => {
    expect(listedItemMark('files', { name: `files/${MARK}-x` })).toBe(MARK);
    expect(listedItemMark('files', { name: 'files/x', displayName: `zen:${MARK}:x` })).toBeUndefined();
    expect(listedItemMark('cachedContents', { name: 'cachedContents/c', displayName: `zen:${MARK}:` })).toBe(MARK);
    expect(listedItemMark('batches', { name: 'batches/b', metadata: { displayName: `zen:${MARK}:b` } })).toBe(MARK);
    expect(listedItemMark('batches', { name: 'batches/b' })).toBeUndefined();
    expect(listedItemMark('files', 'not an object')).toBeUndefined();
  });

  it("reads an OpenAI-compatible file's from its id and a batch's from its input file", () => {
    expect(compatItemMark('files', { id: `files/${MARK}-x`, object: 'file' })).toBe(MARK);
    expect(compatItemMark('batches', { id: 'batches/b', input_file_id: `files/${MARK}-in` })).toBe(MARK);
    expect(compatItemMark('batches', { id: `batches/${MARK}-b`, input_file_id: 'files/in' })).toBeUndefined();
  });
});
