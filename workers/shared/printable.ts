/**
 * Text a client sent, made safe to print: in `npm start`'s request lines, and in the paths a 404 message and the
 * request's log line quote back.
 */

/** Characters a terminal acts on rather than prints: C0 and C1 controls, DEL, line breaks and bidirectional marks. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: this pattern exists to find control characters and escape them
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const NAMED_ESCAPES: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * `text` with every control character written as an escape (`\x1b`, `\n`, `\u202e`), so nothing a client put in a
 * request (a model name, a request id, a message quoting it) can move the cursor, recolour or clear the terminal,
 * change its title or fake a line of `npm start`'s output.
 */
export function printable(text: string): string {
  return text.replace(CONTROL, (char) => {
    const code = char.charCodeAt(0);
    return (
      NAMED_ESCAPES[char] ??
      (code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`)
    );
  });
}
