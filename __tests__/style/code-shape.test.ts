/**
 * The shape rules of the shipped code (workers, constructs, configuration, bundler, scripts): no function over 60
 * lines and no file over 400, measured on the TypeScript syntax tree, so a long function is split into named steps
 * when it is written, not found in a review later.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import ts from 'typescript';

const ROOT = resolve(__dirname, '..', '..');
const MAX_FUNCTION_LINES = 60;
const MAX_FILE_LINES = 400;
const SHIPPED = ['workers/', 'constructs/', 'bundler/', 'scripts/', 'config.ts', 'main.ts'];

function shippedFiles(): string[] {
  const tracked = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '*.ts'], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  return tracked
    .split('\n')
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts') && SHIPPED.some((p) => f === p || f.startsWith(p)));
}

type FunctionLike =
  | ts.FunctionDeclaration
  | ts.MethodDeclaration
  | ts.ConstructorDeclaration
  | ts.ArrowFunction
  | ts.FunctionExpression
  | ts.GetAccessorDeclaration;

function isFunctionLike(node: ts.Node): node is FunctionLike {
  return (
    ts.isFunctionDeclaration(node) ||
    ts.isMethodDeclaration(node) ||
    ts.isConstructorDeclaration(node) ||
    ts.isArrowFunction(node) ||
    ts.isFunctionExpression(node) ||
    ts.isGetAccessorDeclaration(node)
  );
}

function nameOf(node: FunctionLike): string {
  if (ts.isConstructorDeclaration(node)) return 'constructor';
  if (node.name !== undefined) return node.name.getText();
  // an arrow or function expression is known by the variable or property it is assigned to
  const holder = node.parent;
  if ((ts.isVariableDeclaration(holder) || ts.isPropertyAssignment(holder)) && holder.name !== undefined)
    return holder.name.getText();
  return '(anonymous)';
}

/** `file:line name (n lines)` for every function of `file` (its text `text`) longer than the limit. */
function longFunctions(file: string, text = readFileSync(resolve(ROOT, file), 'utf8')): string[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (isFunctionLike(node)) {
      const first = source.getLineAndCharacterOfPosition(node.getStart()).line;
      const last = source.getLineAndCharacterOfPosition(node.getEnd()).line;
      const lines = last - first + 1;
      if (lines > MAX_FUNCTION_LINES) found.push(`${file}:${first + 1} ${nameOf(node)} (${lines} lines)`);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

describe('the shape of the shipped code', () => {
  const files = shippedFiles();

  it('finds the shipped files', () => {
    expect(files).toEqual(expect.arrayContaining(['main.ts', 'config.ts', 'workers/shard/index.ts']));
  });

  it(`has no function over ${MAX_FUNCTION_LINES} lines`, () => {
    expect(files.flatMap((f) => longFunctions(f))).toEqual([]);
  });

  it(`has no file over ${MAX_FILE_LINES} lines`, () => {
    const long = files
      .map((f) => ({ f, lines: readFileSync(resolve(ROOT, f), 'utf8').split('\n').length }))
      .filter(({ lines }) => lines > MAX_FILE_LINES)
      .map(({ f, lines }) => `${f} (${lines} lines)`);
    expect(long).toEqual([]);
  });

  it('counts a function from its first line to its last, nested ones on their own', () => {
    const body = (n: number): string => Array.from({ length: n }, (_, i) => `  const v${i} = ${i};`).join('\n');
    const atLimit = `function fits() {\n${body(MAX_FUNCTION_LINES - 2)}\n}\n`;
    const over = `const outer = () => {\n  const inner = function () {\n${body(MAX_FUNCTION_LINES - 1)}\n  };\n};\n`;
    expect(longFunctions('fits.ts', atLimit)).toEqual([]);
    expect(longFunctions('over.ts', over)).toEqual([
      `over.ts:1 outer (${MAX_FUNCTION_LINES + 3} lines)`,
      `over.ts:2 inner (${MAX_FUNCTION_LINES + 1} lines)`,
    ]);
  });
});
