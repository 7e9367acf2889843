/**
 * The README stays what a newcomer reads in one sitting (issue 21): at most 250 lines, a quick start of exactly the two
 * commands CI's contract names, and a reason for every package the project installs.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

const ROOT = resolve(__dirname, '..', '..');
const README = readFileSync(resolve(ROOT, 'README.md'), 'utf8');
const MAX_LINES = 250;

/** The text of the section under `## <title>`, up to the next `## `. */
function section(title: string): string {
  const start = README.indexOf(`\n## ${title}`);
  if (start < 0) throw new Error(`README.md has no "## ${title}" section`);
  const end = README.indexOf('\n## ', start + 1);
  return README.slice(start, end < 0 ? undefined : end);
}

describe('README.md', () => {
  it(`is at most ${MAX_LINES} lines`, () => {
    expect(README.trimEnd().split('\n').length).toBeLessThanOrEqual(MAX_LINES);
  });

  it('starts with two commands: one that sets up and runs on the defaults, one that runs the tests', () => {
    const block = /```sh\n([\s\S]*?)```/.exec(section('Quick start'))?.[1] ?? '';
    const commands = block
      .split('\n')
      .map((line) => line.replace(/#.*$/, '').trim())
      .filter((line) => line.length > 0);
    expect(commands).toEqual(['npm ci && npm start', 'npm test']);
  });

  it('gives a reason for every package in package.json, naming it or its scope', () => {
    const pkg = JSON.parse(readFileSync(resolve(ROOT, 'package.json'), 'utf8')) as {
      dependencies?: Record<string, string>;
      devDependencies?: Record<string, string>;
    };
    const table = section('Why each dependency');
    const names = Object.keys({ ...pkg.dependencies, ...pkg.devDependencies }).filter((n) => !n.startsWith('@types/'));
    const unexplained = names.filter((name) => {
      const scope = name.startsWith('@') ? name.split('/')[0] : undefined;
      return !table.includes(`\`${name}\``) && !(scope !== undefined && table.includes(`\`${scope}/*\``));
    });
    expect(unexplained).toEqual([]);
  });
});
