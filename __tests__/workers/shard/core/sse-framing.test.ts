import { EventBoundaries, sseWithErrorEvent, StreamEndedMidEvent } from '../../../../workers/shard/core/sse-framing';

describe('sseWithErrorEvent', () => {
  it('passes a clean stream through unchanged and appends an error event when the upstream breaks', async () => {
    const enc = new TextEncoder();
    const clean = new ReadableStream<Uint8Array>({
      start: (c) => {
        c.enqueue(enc.encode('data: 1\n\n'));
        c.close();
      },
    });
    expect(await new Response(sseWithErrorEvent(clean, '{"error":{}}', () => undefined)).text()).toBe('data: 1\n\n');

    let failures = 0;
    let sent = false;
    const broken = new ReadableStream<Uint8Array>({
      pull(c) {
        if (sent) c.error(new Error('socket closed'));
        else c.enqueue(enc.encode('data: {"partial'));
        sent = true;
      },
    });
    const text = await new Response(sseWithErrorEvent(broken, '{"error":{"code":"x"}}', () => failures++)).text();
    // the half-written event is dropped: the client's parser sees whole events only, then the error
    expect(text).toBe('data: {"error":{"code":"x"}}\n\n');
    expect(failures).toBe(1);
  });
  const chunked = (...parts: string[]) => {
    const enc = new TextEncoder();
    return new ReadableStream<Uint8Array>({
      start(c) {
        for (const part of parts) c.enqueue(enc.encode(part));
        c.close();
      },
    });
  };

  it('drops the unfinished event and appends the error event when a stream ends cleanly mid-event, or with no event at all', async () => {
    const errors: unknown[] = [];
    const run = (...parts: string[]) =>
      new Response(sseWithErrorEvent(chunked(...parts), '{"error":{"code":"x"}}', (e) => errors.push(e))).text();
    expect(await run('data: {"a":1}\n\n', 'data: {"b"')).toBe('data: {"a":1}\n\ndata: {"error":{"code":"x"}}\n\n');
    expect(await run('data: {"a":1}\r\n\r\ndata: {"b":2}\r\n')).toBe(
      'data: {"a":1}\r\n\r\ndata: {"error":{"code":"x"}}\n\n',
    );
    expect(await run('data: [DONE]\n')).toBe('data: {"error":{"code":"x"}}\n\n');
    expect(await run()).toBe('data: {"error":{"code":"x"}}\n\n');
    expect(errors).toHaveLength(4);
    expect(errors.every((e) => e instanceof StreamEndedMidEvent)).toBe(true);
  });

  it('passes whole events on unchanged and ends quietly on every SSE event boundary, even one split across chunks', async () => {
    const errors: unknown[] = [];
    const run = (...parts: string[]) =>
      new Response(sseWithErrorEvent(chunked(...parts), '{}', (e) => errors.push(e))).text();
    expect(await run('data: 1\n', '\n')).toBe('data: 1\n\n');
    expect(await run('data: 1\r\n\r', '\n')).toBe('data: 1\r\n\r\n');
    expect(await run('data: 1\r\r')).toBe('data: 1\r\r');
    expect(await run('data: 1\n', '', '\n')).toBe('data: 1\n\n');
    expect(await run('da', 'ta: 1\n\nda', 'ta: 2\r\n\r\n', ': keep-alive\n\n')).toBe(
      'data: 1\n\ndata: 2\r\n\r\n: keep-alive\n\n',
    );
    expect(errors).toEqual([]);
  });

  it('finds event boundaries byte by byte across chunk edges', () => {
    const ends = (...parts: string[]) => {
      const b = new EventBoundaries();
      return parts.map((p) => b.lastEnd(new TextEncoder().encode(p)));
    };
    expect(ends('a\n\nb')).toEqual([3]);
    expect(ends('a\r\n', '\r\n')).toEqual([-1, 2]);
    expect(ends('a\r', '\n', '\r', '\n')).toEqual([-1, -1, -1, 1]);
    expect(ends('a\n', '\r\nb')).toEqual([-1, 2]);
    expect(ends('a\n', 'b\n')).toEqual([-1, -1]);
    expect(ends('a\r\nb\r\n')).toEqual([-1]);
  });
});
