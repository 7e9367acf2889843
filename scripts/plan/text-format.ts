/**
 * The small formatting pieces of the deploy summary, for a terminal (aligned columns) and for Markdown (a GitHub job
 * summary): tables, headings, key ranges, sizes.
 *
 * @module
 */

export type Format = 'text' | 'markdown';

/** `[1,2,3,5,7,8]` → `1–3, 5, 7–8`. */
export function ranges(numbers: readonly number[]): string {
  const sorted = [...new Set(numbers)].sort((a, b) => a - b);
  const parts: string[] = [];
  let start = sorted[0];
  let previous = start;
  for (const n of [...sorted.slice(1), Number.NaN]) {
    if (n === (previous ?? 0) + 1) {
      previous = n;
      continue;
    }
    if (start !== undefined) parts.push(start === previous ? String(start) : `${start}–${previous}`);
    start = n;
    previous = n;
  }
  return parts.join(', ');
}

/** Bytes as KiB or MiB with one decimal. */
export function size(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
  return `${(bytes / 1024).toFixed(1)} KiB`;
}

/** `n thing` / `n things`. */
export function count(n: number, thing: string, things = `${thing}s`): string {
  return `${n} ${n === 1 ? thing : things}`;
}

export function heading(text: string, level: 2 | 3, format: Format): string {
  if (format === 'markdown') return `${'#'.repeat(level)} ${text}`;
  return `${text}\n${(level === 2 ? '=' : '-').repeat(text.length)}`;
}

/** Inline code in Markdown, the bare text in a terminal. */
export function code(text: string, format: Format): string {
  return format === 'markdown' ? `\`${text}\`` : text;
}

function markdownCell(cell: string): string {
  return cell.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** A table: a Markdown pipe table, or columns padded to their widest cell. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[], format: Format): string {
  if (format === 'markdown') {
    const line = (cells: readonly string[]) => `| ${cells.map(markdownCell).join(' | ')} |`;
    return [line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n');
  }
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
