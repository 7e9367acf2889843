/**
 * The layering the constructs keep: infrastructure code depends on the cdktf libraries, on itself and on the
 * contract with the workers (and the key layout, the one pure function synth and the workers both place keys by, and
 * the usage schema, which names the usage dataset's binding),
 * never on a build script, the bundler or the workers' code; the contract depends on nothing, and the key layout on
 * the contract alone, so both tsconfigs compile them.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { preProcessFile } from 'typescript';

const ROOT = resolve(__dirname, '..', '..');
const CONTRACT = 'workers/shared/contract.ts';
const KEY_LAYOUT = 'workers/shared/key-layout.ts';
const USAGE_SCHEMA = 'workers/shared/usage-schema.ts';
const PACKAGES = new Set(['cdktf', 'constructs', '@cdktf/provider-cloudflare']);

/** Every module specifier `file` imports or re-exports. */
function importsOf(file: string): string[] {
  const { importedFiles } = preProcessFile(readFileSync(join(ROOT, file), 'utf8'), true, true);
  return importedFiles.map((f) => f.fileName);
}

/** A relative specifier as a path from the project root, with the `.ts` it resolves to. */
function rootPath(from: string, specifier: string): string {
  return `${relative(ROOT, resolve(ROOT, dirname(from), specifier))}.ts`;
}

function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return (specifier.startsWith('@') ? parts.slice(0, 2) : parts.slice(0, 1)).join('/');
}

describe('module dependencies', () => {
  const constructFiles = readdirSync(join(ROOT, 'constructs'))
    .filter((name) => name.endsWith('.ts'))
    .map((name) => `constructs/${name}`);

  test.each(constructFiles)(
    '%s imports only Node.js, the cdktf libraries, other constructs and the contract',
    (file) => {
      const outside = importsOf(file).filter((specifier) => {
        if (specifier.startsWith('node:')) return false;
        if (!specifier.startsWith('.')) return !PACKAGES.has(packageName(specifier));
        const target = rootPath(file, specifier);
        return !(
          target.startsWith('constructs/') ||
          target === CONTRACT ||
          target === KEY_LAYOUT ||
          target === USAGE_SCHEMA
        );
      });
      expect(outside).toEqual([]);
    },
  );

  test('the contract imports nothing', () => {
    expect(importsOf(CONTRACT)).toEqual([]);
  });

  test('the usage schema (the usage binding, its dataset and the data point) imports nothing', () => {
    expect(importsOf(USAGE_SCHEMA)).toEqual([]);
  });

  test('the key layout imports the contract alone', () => {
    expect(importsOf(KEY_LAYOUT)).toEqual(['./contract']);
  });
});
