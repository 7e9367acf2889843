/**
 * Every relative link in README.md and docs/**\/*.md resolves: the file or folder it names exists, and a `#anchor` is
 * produced by a heading of the target (GitHub's slugs: lower case, punctuation dropped, each space a `-`, repeats
 * numbered `-1`, `-2`, ...). Links in code (fenced blocks, inline spans) are text, not links. External links
 * (http, https, mailto) are not fetched: the suite runs offline.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, posix, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..', '..');

interface BrokenLink {
  readonly file: string;
  readonly line: number;
  readonly link: string;
  readonly problem: string;
}

/** What the checker may ask of the repository, so its own tests can hand it files from memory. */
interface Tree {
  /** whether a file or folder exists at this repository-relative path */
  readonly exists: (path: string) => boolean;
  /** a file's text, or undefined when it is not a readable file */
  readonly read: (path: string) => string | undefined;
}

/** Fenced blocks turned into empty lines, so line numbers stay true and nothing inside counts as markdown. */
function withoutFences(text: string): string[] {
  let fence: string | undefined;
  return text.split('\n').map((line) => {
    const marker = /^\s{0,3}(`{3,}|~{3,})/.exec(line)?.[1];
    if (fence === undefined && marker !== undefined) {
      fence = marker;
      return '';
    }
    if (fence !== undefined) {
      if (marker !== undefined && marker[0] === fence[0] && marker.length >= fence.length) fence = undefined;
      return '';
    }
    return line;
  });
}

/** The anchor GitHub gives a heading's text (github-slugger's rule, after the markdown is rendered). */
function githubSlug(heading: string): string {
  const rendered = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // a link or image reads as its text
    .replace(/<[^>]+>/g, ''); // inline HTML tags are not text
  return rendered
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

/** Every anchor a markdown text produces: its headings' slugs (repeats numbered) and explicit `id`/`name` anchors. */
function anchorsOf(text: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of withoutFences(text)) {
    const heading = /^\s{0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$/.exec(line)?.[1];
    if (heading !== undefined) {
      const slug = githubSlug(heading);
      const count = seen.get(slug) ?? 0;
      seen.set(slug, count + 1);
      anchors.add(count === 0 ? slug : `${slug}-${count}`);
    }
    for (const match of line.matchAll(/<a\s[^>]*\b(?:id|name)="([^"]+)"/g)) {
      if (match[1] !== undefined) anchors.add(match[1]);
    }
  }
  return anchors;
}

/** The link targets of a text, with the line each starts on: inline links and images, and reference definitions. */
function targetsOf(lines: readonly string[]): { readonly line: number; readonly target: string }[] {
  // a code span is text; blanking it keeps every offset, and a span (like a link) never crosses a blank line
  const text = lines.join('\n').replace(/(`+)(?:(?!\n\s*\n)[^`])*?\1/g, (span) => span.replace(/[^\n]/g, ' '));
  const lineAt = (offset: number): number => text.slice(0, offset).split('\n').length;
  const inline = /!?\[(?:[^\]\\\n]|\\.|\n(?!\s*\n))*\]\(\s*<?([^)\s>]*)>?(?:\s+"[^"]*")?\s*\)/g;
  const definition = /^ {0,3}\[[^\]\n]+\]:[ \t]*<?(\S+?)>?(?:[ \t]|$)/gm;
  return [...text.matchAll(inline), ...text.matchAll(definition)]
    .map((m) => ({ line: lineAt(m.index), target: m[1] ?? '' }))
    .sort((x, y) => x.line - y.line);
}

/** Why a link from `file` (repository-relative) does not resolve, or undefined when it does. */
function problemOf(file: string, target: string, tree: Tree): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return undefined; // http(s), mailto: not fetched
  const hash = target.indexOf('#');
  const pathPart = decodeURIComponent(hash === -1 ? target : target.slice(0, hash));
  const anchor = hash === -1 ? undefined : decodeURIComponent(target.slice(hash + 1));
  if (pathPart === '' && anchor === undefined) return 'empty link';
  const normalized =
    pathPart === ''
      ? file
      : pathPart.startsWith('/')
        ? posix.normalize(pathPart.slice(1))
        : posix.normalize(posix.join(posix.dirname(file), pathPart));
  if (normalized.startsWith('..')) return 'points outside the repository';
  const path = normalized.replace(/\/$/, ''); // a folder link may end in a slash
  if (!tree.exists(path)) return `no file ${path}`;
  if (anchor === undefined || !path.endsWith('.md')) return undefined;
  const text = tree.read(path);
  if (text === undefined) return `cannot read ${path}`;
  return anchorsOf(text).has(anchor) ? undefined : `no heading of ${path} makes #${anchor}`;
}

/** The links of one markdown file that do not resolve. */
function brokenLinks(file: string, text: string, tree: Tree): BrokenLink[] {
  return targetsOf(withoutFences(text)).flatMap(({ line, target }) => {
    const problem = problemOf(file, target, tree);
    return problem === undefined ? [] : [{ file, line, link: target, problem }];
  });
}

/** README.md and every markdown file under docs/, repository-relative with `/`. */
function markdownFiles(): string[] {
  const walk = (dir: string): string[] =>
    readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
      const path = posix.join(dir, entry.name);
      if (entry.isDirectory()) return walk(path);
      return entry.name.endsWith('.md') ? [path] : [];
    });
  return ['README.md', ...walk('docs')];
}

const repository: Tree = {
  exists: (path) => existsSync(join(ROOT, path)),
  read: (path) => {
    try {
      return readFileSync(join(ROOT, path), 'utf8');
    } catch {
      return undefined;
    }
  },
};

describe('links in the documentation', () => {
  const files = markdownFiles();

  it('finds the README and the manuals', () => {
    expect(files).toEqual(expect.arrayContaining(['README.md', 'docs/errors.md', 'docs/where-things-live.md']));
  });

  it.each(files)('%s: every relative link and anchor resolves', (file) => {
    const text = repository.read(file) ?? '';
    expect(brokenLinks(file, text, repository)).toEqual([]);
  });
});

describe('the link checker itself', () => {
  const memory = (files: Record<string, string>): Tree => ({
    exists: (path) => path in files || Object.keys(files).some((f) => f.startsWith(`${path}/`)),
    read: (path) => files[path],
  });

  it('slugs headings as GitHub does', () => {
    expect(githubSlug('Node.js versions')).toBe('nodejs-versions');
    expect(githubSlug('Google SDK (`@google/genai`)')).toBe('google-sdk-googlegenai');
    expect(githubSlug('8. Claude Code (`bench/claude-code.ts`)')).toBe('8-claude-code-benchclaude-codets');
    expect(githubSlug('Status view (`GET /zen/status`)')).toBe('status-view-get-zenstatus');
    expect(githubSlug('Rotating `PASS`')).toBe('rotating-pass');
    expect(githubSlug('A [linked](x.md) heading')).toBe('a-linked-heading');
    expect([...anchorsOf('# Status\n## Status\n### Status\n')]).toEqual(['status', 'status-1', 'status-2']);
  });

  it('reports a missing file, a missing anchor and a link out of the repository, with their lines', () => {
    const text = [
      '[ok](a.md#key-pool) [dir](adr/) [self](#here) [web](https://example.com/#nothing)',
      '[gone](b.md) [bad anchor](a.md#key-pools)',
      '# Here',
      '`[in code](nowhere.md)`',
      '```',
      '[in a fence](nowhere.md)',
      '```',
      '[up](../../outside.md) [a link whose text',
      'goes on](missing.md)',
    ].join('\n');
    const tree = memory({ 'docs/index.md': text, 'docs/a.md': '# A\n## Key pool\n', 'docs/adr/x.md': '# X\n' });
    expect(brokenLinks('docs/index.md', text, tree)).toEqual([
      { file: 'docs/index.md', line: 2, link: 'b.md', problem: 'no file docs/b.md' },
      { file: 'docs/index.md', line: 2, link: 'a.md#key-pools', problem: 'no heading of docs/a.md makes #key-pools' },
      { file: 'docs/index.md', line: 8, link: '../../outside.md', problem: 'points outside the repository' },
      { file: 'docs/index.md', line: 8, link: 'missing.md', problem: 'no file docs/missing.md' },
    ]);
  });
});
