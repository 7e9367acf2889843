/**
 * Assembles the status page (`GET /zen`) at build time: `status-page.html` with `status-page.css` and the client
 * script (`client/main.ts`, compiled for browsers) put in place of its two markers, and the Content-Security-Policy
 * that lets exactly those two run, by their SHA-256 hashes, and nothing else: no other script or style, no request but
 * to the page's own origin, no frame, form target or base URL. A worker imports the page from `zen-status-page`;
 * {@link statusPageAlias} points that import at the assembled page and its policy, so the hashes are computed from
 * the very bytes served. Deterministic: the same sources give the same page.
 */
import { buildSync, transformSync } from 'esbuild';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** Where the page's sources live: the zen surface's own folder. */
export const STATUS_PAGE_DIR = resolve(__dirname, '..', 'workers', 'shard', 'surfaces', 'zen', 'page');

const STYLE_MARKER = '<style>/*! status-page.css */</style>';
const SCRIPT_MARKER = '<script>/*! client/main.ts */</script>';

/** The browsers the page's script and style are compiled for: those of the last few years, phones included. */
const BROWSERS = ['chrome100', 'firefox100', 'safari15', 'edge100'];

export interface StatusPage {
  readonly html: string;
  readonly contentSecurityPolicy: string;
}

/** A CSP source for `text`: its SHA-256, as the browser hashes an inline element's content. */
export function cspHash(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}

function clientScript(dir: string): string {
  const result = buildSync({
    entryPoints: [join(dir, 'client', 'main.ts')],
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: BROWSERS,
    minify: true,
    legalComments: 'none',
    charset: 'utf8',
    write: false,
    logLevel: 'silent',
  });
  const [file] = result.outputFiles;
  if (file === undefined) throw new Error('esbuild produced no status page script');
  return file.text.trim();
}

function style(dir: string): string {
  const css = readFileSync(join(dir, 'status-page.css'), 'utf8');
  return transformSync(css, { loader: 'css', minify: true, target: BROWSERS, legalComments: 'none' }).code.trim();
}

/** The markup without its comments and the indentation between tags. */
function markup(dir: string): string {
  return readFileSync(join(dir, 'status-page.html'), 'utf8')
    .replace(/<!--[\s\S]*?-->\s*/g, '')
    .replace(/>\s+</g, '><')
    .trim();
}

/** `template` with `marker` replaced by `open` + `content` + `close`, which must hold no closing tag of its own. */
function inline(template: string, marker: string, tag: 'script' | 'style', content: string): string {
  if (!template.includes(marker)) throw new Error(`status-page.html lacks its marker ${marker}`);
  if (content.toLowerCase().includes(`</${tag}`)) throw new Error(`the status page's ${tag} would close its element`);
  // split and join: a replacement string would read `$&` and `$'` in the minified code as patterns
  return template.split(marker).join(`<${tag}>${content}</${tag}>`);
}

/** The page as served, and the policy that allows its inline script and style by hash; `dir` holds its sources. */
export function statusPage(dir: string = STATUS_PAGE_DIR): StatusPage {
  const script = clientScript(dir);
  const css = style(dir);
  const html = inline(inline(markup(dir), STYLE_MARKER, 'style', css), SCRIPT_MARKER, 'script', script);
  const contentSecurityPolicy = [
    "default-src 'none'",
    `script-src ${cspHash(script)}`,
    `style-src ${cspHash(css)}`,
    "connect-src 'self'",
    'img-src data:',
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
    // the script writes text only; any markup sink (innerHTML and the like) is refused outright
    "require-trusted-types-for 'script'",
    "trusted-types 'none'",
  ].join('; ');
  return { html, contentSecurityPolicy };
}

/** The module the workers import the page from; {@link statusPageAlias} maps it to the assembled page. */
export const STATUS_PAGE_MODULE = 'zen-status-page';

/**
 * esbuild's `alias` entry that resolves the workers' `import { html, contentSecurityPolicy } from 'zen-status-page'`
 * to the assembled page, as a `data:` module (the synchronous build the bundler runs takes no plugins).
 */
export function statusPageAlias(dir: string = STATUS_PAGE_DIR): Record<string, string> {
  const page = statusPage(dir);
  const module = Object.entries(page)
    .map(([name, value]) => `export const ${name} = ${JSON.stringify(value)};`)
    .join('\n');
  return { [STATUS_PAGE_MODULE]: `data:text/javascript;base64,${Buffer.from(module, 'utf8').toString('base64')}` };
}
