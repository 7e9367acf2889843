/**
 * Reads server-sent events from a byte stream that arrives in arbitrary pieces: an event, a line, a line break
 * (CR LF) or a UTF-8 character may be split across chunks. Lines end in CR LF, LF or CR, an empty line ends an
 * event, and only `data:` fields matter here (Gemini sends nothing else).
 */
export class SseDataDecoder {
  private readonly decoder = new TextDecoder('utf-8');
  /** the start of a line whose end has not arrived */
  private line = '';
  /** the data lines of the event being received */
  private data: string[] = [];
  /** whether any line of the current event has arrived (an event without a blank line after it is incomplete) */
  private inEvent = false;
  /** a chunk ended in CR: a LF at the start of the next one belongs to the same line break */
  private skipLF = false;

  /** The data of every event `bytes` completes, in order. */
  push(bytes: Uint8Array): string[] {
    return this.lines(this.decoder.decode(bytes, { stream: true }));
  }

  /**
   * Flushes the decoder at the end of the stream. `complete` is false when the stream ended inside an event (or
   * inside a UTF-8 character), that is, when the sender was cut off.
   */
  end(): { readonly events: string[]; readonly complete: boolean } {
    const events = this.lines(this.decoder.decode());
    return { events, complete: this.line === '' && !this.inEvent };
  }

  private lines(input: string): string[] {
    let text = input;
    if (text === '') return [];
    if (this.skipLF) {
      this.skipLF = false;
      if (text.startsWith('\n')) text = text.slice(1);
    }
    const events: string[] = [];
    let start = 0;
    while (start < text.length) {
      const cr = text.indexOf('\r', start);
      const lf = text.indexOf('\n', start);
      const end = cr === -1 ? lf : lf === -1 ? cr : Math.min(cr, lf);
      if (end === -1) {
        this.line += text.slice(start);
        break;
      }
      const line = this.line + text.slice(start, end);
      this.line = '';
      if (text[end] === '\r') {
        if (end + 1 === text.length) this.skipLF = true;
        start = end + 1 < text.length && text[end + 1] === '\n' ? end + 2 : end + 1;
      } else {
        start = end + 1;
      }
      this.field(line, events);
    }
    return events;
  }

  private field(line: string, events: string[]): void {
    if (line === '') {
      if (this.data.length > 0) events.push(this.data.join('\n'));
      this.data = [];
      this.inEvent = false;
      return;
    }
    this.inEvent = true;
    if (line.startsWith(':')) return; // a comment
    const colon = line.indexOf(':');
    const name = colon === -1 ? line : line.slice(0, colon);
    if (name !== 'data') return;
    const value = colon === -1 ? '' : line.slice(colon + 1);
    this.data.push(value.startsWith(' ') ? value.slice(1) : value);
  }
}
