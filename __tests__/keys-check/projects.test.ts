import fc from 'fast-check';
import {
  contradictions,
  findProjects,
  foundLabels,
  parseDeclared,
  type ProjectProbe,
} from '../../scripts/keys-check/projects';
import { keyStateOf, unansweredState } from '../../scripts/keys-check/key-state';

/** A Files API over a known layout: `projectOf[i]` is key i's project; records what was made and deleted. */
function stubProbe(projectOf: readonly number[], failUploadOf: ReadonlySet<number> = new Set()) {
  const files = new Map<string, number>();
  let made = 0;
  const probe: ProjectProbe = {
    async upload(key) {
      if (failUploadOf.has(key)) return undefined;
      const name = `files/f${made++}`;
      files.set(name, projectOf[key] ?? -1);
      return name;
    },
    async sees(key, file) {
      return files.get(file) === projectOf[key] ? 'same' : 'other';
    },
    async remove(key, file) {
      if (files.get(file) !== projectOf[key]) return false;
      return files.delete(file);
    },
  };
  return { probe, files, made: () => made };
}

/** The layout as sets of keys, so two numberings of the same grouping compare equal. */
const grouping = (projectOf: ReadonlyArray<number | undefined>): string[] =>
  [
    ...new Set(
      projectOf.map((p) => JSON.stringify(projectOf.flatMap((q, i) => (q === p && p !== undefined ? [i] : [])))),
    ),
  ].sort();

describe('findProjects', () => {
  it('finds any layout Google has, with one upload per project, and leaves no file behind', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 24 }), async (layout) => {
        const stub = stubProbe(layout);
        const keys = layout.map((_, i) => i);
        const found = await findProjects(layout.length, keys, stub.probe, 3);
        expect(grouping(found.projectOf)).toEqual(grouping(layout));
        expect(found.projectOf[0]).toBe(0);
        expect(stub.made()).toBe(new Set(layout).size);
        expect([...stub.files.keys(), ...found.leftovers]).toEqual([]);
      }),
    );
  });

  it('only sorts the keys it is given, and leaves a key unknown when its upload fails', async () => {
    const stub = stubProbe([0, 0, 1, 1, 2], new Set([2]));
    const found = await findProjects(5, [0, 1, 2, 3], stub.probe);
    expect(found.projectOf).toEqual([0, 0, undefined, 1, undefined]);
    expect(foundLabels(found.projectOf)).toEqual(['p1', 'p1', 'key3', 'p2', 'key5']);
  });

  it('deletes every file it made when a lookup fails, and names a file it could not delete', async () => {
    const stub = stubProbe([0, 1, 1]);
    const failing: ProjectProbe = {
      ...stub.probe,
      sees: async () => {
        throw new Error('stopped');
      },
    };
    await expect(findProjects(3, [0, 1, 2], failing)).rejects.toThrow('stopped');
    expect([...stub.files.keys()]).toEqual([]);

    const stuck = stubProbe([0, 1]);
    const found = await findProjects(2, [0, 1], { ...stuck.probe, remove: async () => false });
    expect(found.leftovers).toEqual(['files/f0', 'files/f1']);
  });
});

describe('a declared KEY_PROJECTS against what Google shows', () => {
  it('agrees when it groups the known keys alike, whatever the labels and the unknown keys', () => {
    expect(contradictions(['x', 'x', 'y', 'z'], [0, 0, 1, undefined])).toEqual([]);
    expect(contradictions(['x', 'x', 'y', 'y'], [0, 0, 1, undefined])).toEqual([]);
  });

  it('names a project it splits and a label that holds several projects', () => {
    expect(contradictions(['a', 'b', 'b', 'c'], [0, 0, 1, 2])).toEqual([
      'KEY1 and KEY2 share one Google project, but KEY_PROJECTS splits them into a, b',
      'KEY_PROJECTS puts KEY2 and KEY3 in project b, but Google shows 2 projects',
    ]);
  });

  it('agrees with any relabelling of the found layout, and contradicts every merge of two projects', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 2, maxLength: 16 }), (layout) => {
        const labels = layout.map((p) => `team-${(p * 7) % 5}`);
        expect(contradictions(labels, layout)).toEqual([]);
        const projects = [...new Set(layout)];
        if (projects.length < 2) return;
        const merged = layout.map((p) =>
          p === projects[1] ? `team-${((projects[0] ?? 0) * 7) % 5}` : `team-${(p * 7) % 5}`,
        );
        expect(contradictions(merged, layout)).not.toEqual([]);
      }),
    );
  });

  it('parses a declared layout, naming what is wrong with it', () => {
    expect(parseDeclared(' a , a,b ', 3)).toEqual({ labels: ['a', 'a', 'b'] });
    expect(parseDeclared('a,,b', 3)).toEqual({
      problem: 'KEY_PROJECTS label "" must be 1 to 32 of a-z, 0-9, "_", "-", starting with a letter or digit',
    });
  });
});

describe('key states from Google answers', () => {
  const error = (code: number, status: string, reason?: string) => ({
    error: {
      code,
      status,
      message: 'Consumer api_key:AIzaSECRET has been suspended',
      details: reason ? [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason }] : [],
    },
  });

  it.each([
    [200, {}, { kind: 'ok', detail: '' }],
    [
      400,
      error(400, 'INVALID_ARGUMENT', 'API_KEY_INVALID'),
      { kind: 'invalid', detail: '400 INVALID_ARGUMENT API_KEY_INVALID' },
    ],
    [
      403,
      error(403, 'PERMISSION_DENIED', 'CONSUMER_SUSPENDED'),
      { kind: 'suspended', detail: '403 PERMISSION_DENIED CONSUMER_SUSPENDED' },
    ],
    [
      403,
      error(403, 'PERMISSION_DENIED', 'SERVICE_DISABLED'),
      { kind: 'service-disabled', detail: '403 PERMISSION_DENIED SERVICE_DISABLED' },
    ],
    [400, error(400, 'FAILED_PRECONDITION'), { kind: 'region-refused', detail: '400 FAILED_PRECONDITION' }],
    [429, error(429, 'RESOURCE_EXHAUSTED'), { kind: 'other', detail: '429 RESOURCE_EXHAUSTED' }],
    [502, '<html>bad gateway</html>', { kind: 'other', detail: '502' }],
    // a reason that is not an enum value is not printed
    [403, error(403, 'PERMISSION_DENIED', 'api_key:AIzaSECRET'), { kind: 'other', detail: '403 PERMISSION_DENIED' }],
  ])('reads %i with its status and ErrorInfo only, never the message (case %#)', (status, body, state) => {
    expect(keyStateOf(status, body)).toEqual(state);
  });

  it('names an unanswered call by its error name or code, never its message', () => {
    expect(
      unansweredState(
        Object.assign(new Error('connect ECONNREFUSED https://x?key=AIzaSECRET'), { cause: { code: 'ECONNREFUSED' } }),
      ),
    ).toEqual({
      kind: 'other',
      detail: 'no answer: ECONNREFUSED',
    });
    expect(unansweredState(new DOMException('The operation timed out.', 'TimeoutError'))).toEqual({
      kind: 'other',
      detail: 'no answer: TimeoutError',
    });
  });
});
