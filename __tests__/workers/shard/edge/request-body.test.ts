/**
 * The shard reads no body before the URL, route, password and declared size have passed, in workerd: an endless
 * upload without the password, to an unknown path, with the wrong method or with an over-limit content-length is
 * answered while the client is still sending, having read (almost) nothing; a chunked body is read only up to the
 * limit. A body that cannot be read (an upload cut short, chunked encoding the runtime rejects) is the client's
 * fault: 400 body_read_error, not 500.
 */
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { DEFAULT_MAX_BODY_BYTES, REPLAY_MAX_BYTES } from '../../../../workers/shared/contract';
import { startShardWorker, type ShardWorkerHarness } from '../../../helpers/shard-worker';

const PASS = 'body-reading-pass';
const KEYS = ['body-reading-key-1', 'body-reading-key-2'];
const MiB = 1024 * 1024;
/** what sockets and runtime buffers may hold of a body nobody reads: far below the 16 MiB replay bound */
const UNREAD_SLACK = 8 * MiB;

let h: ShardWorkerHarness;
beforeAll(async () => {
  h = await startShardWorker({ keys: KEYS, pass: PASS });
});
afterAll(() => h.close());
beforeEach(() => h.fake.reset());

interface Upload {
  /** the worker's request log line: what it answered, whether or not the answer reached the client */
  readonly line: Record<string, unknown>;
  /** body bytes the client managed to write before the answer arrived or the connection closed */
  readonly written: number;
}

let uploads = 0;

/**
 * Streams zeros (chunked, or with a declared content-length) until the worker answers, closes the connection, or
 * `cap` bytes are written, and reports how much was written by then. A worker that answers without reading the body
 * closes the connection with the rest unread, which the client may see as a reset before it can read the answer; the
 * worker's log line says what it answered either way.
 */
async function upload(path: string, headers: Record<string, string>, cap: number, method = 'POST'): Promise<Upload> {
  const { hostname, port } = new URL(h.url);
  const chunk = Buffer.alloc(64 * 1024);
  const id = `upload-${++uploads}`;
  const written = await new Promise<number>((resolve, reject) => {
    let sent = 0;
    let answered = false;
    const done = (): void => {
      if (!answered) resolve(sent);
      answered = true;
    };
    const req = httpRequest(
      { host: hostname, port, method, path, headers: { ...headers, 'x-request-id': id }, agent: false },
      (res) => {
        done();
        res.resume();
      },
    );
    req.on('error', done);
    const pump = (): void => {
      while (!answered && sent < cap) {
        sent += chunk.length;
        if (!req.write(chunk)) {
          req.once('drain', pump);
          return;
        }
      }
      if (!answered) reject(new Error(`the worker read all ${cap} bytes without answering`));
    };
    pump();
  });
  return { line: await h.waitForRequestLog(id), written };
}

const outcome = (u: Upload) => ({ status: u.line.status, code: u.line.error });

describe('no body byte is read before the checks that need none', () => {
  const endless = 64 * MiB;
  it.each<[string, string, Record<string, string>, string, number, string]>([
    ['no password', '/v1/chat/completions', {}, 'POST', 401, 'missing_api_key'],
    ['a wrong password', '/v1/chat/completions', { authorization: 'Bearer nope' }, 'POST', 401, 'invalid_api_key'],
    [
      'a wrong native password',
      '/v1beta/models/gemini-3.8-flash:generateContent',
      { 'x-goog-api-key': 'nope' },
      'POST',
      401,
      'invalid_api_key',
    ],
    ['an unknown path', '/v1/assistants', { authorization: `Bearer ${PASS}` }, 'POST', 404, 'unknown_url'],
    ['the wrong method', '/v1/models', { authorization: `Bearer ${PASS}` }, 'PUT', 405, 'method_not_allowed'],
  ])(
    'an endless chunked upload with %s is answered while still sending',
    async (_label, path, headers, method, status, code) => {
      const answer = await upload(
        path,
        { ...headers, 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
        endless,
        method,
      );
      expect(outcome(answer)).toEqual({ status, code });
      expect(answer.written).toBeLessThan(UNREAD_SLACK);
      expect(h.fake.calls).toEqual([]);
    },
  );

  it('an over-limit content-length is refused before a byte is read, even with the right password', async () => {
    const declared = DEFAULT_MAX_BODY_BYTES + 1;
    const answer = await upload(
      '/v1/chat/completions',
      { authorization: `Bearer ${PASS}`, 'content-length': String(declared) },
      declared,
    );
    expect(outcome(answer)).toEqual({ status: 413, code: 'request_too_large' });
    expect(answer.written).toBeLessThan(UNREAD_SLACK);
  });

  it('a chunked body to a route that parses it is read only up to the replay bound', async () => {
    const answer = await upload(
      '/v1/embeddings',
      { authorization: `Bearer ${PASS}`, 'transfer-encoding': 'chunked' },
      endless,
    );
    expect(outcome(answer)).toEqual({ status: 413, code: 'request_too_large' });
    expect(answer.written).toBeGreaterThanOrEqual(REPLAY_MAX_BYTES);
    expect(answer.written).toBeLessThan(REPLAY_MAX_BYTES + UNREAD_SLACK);
    expect(h.fake.calls).toEqual([]);
  });
});

/** Sends `head` and then `body` over a raw socket; resolves with whatever came back once the socket closes. */
function rawExchange(head: string, body: string, endEarly: 'half-close' | 'none' = 'none'): Promise<string> {
  const { hostname, port } = new URL(h.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => {
      socket.write(head + body);
      if (endEarly === 'half-close') socket.end();
    });
    const parts: Buffer[] = [];
    socket.on('data', (c: Buffer) => {
      parts.push(c);
      // one answer is all we wait for; workerd keeps the connection open otherwise
      if (Buffer.concat(parts).toString('latin1').includes('"error"')) socket.end();
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(parts).toString('utf8')));
    socket.setTimeout(5000, () => socket.destroy());
  });
}

const head = (id: string, framing: string): string =>
  `POST /v1/chat/completions HTTP/1.1\r\nhost: shard.test\r\nauthorization: Bearer ${PASS}\r\ncontent-type: application/json\r\nx-request-id: ${id}\r\n${framing}\r\n\r\n`;

describe('a body that cannot be read is the client’s fault', () => {
  it.each([
    ['a chunk extension', 'chunk-ext', '5;name=value\r\n{"a":\r\n0\r\n\r\n'],
    ['a chunk size that is not hex', 'chunk-bad-size', 'zz\r\n{"a":1}\r\n0\r\n\r\n'],
  ])('%s in a chunked body is 400 body_read_error, logged as such', async (_label, id, body) => {
    const answer = await rawExchange(head(id, 'transfer-encoding: chunked'), body);
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(answer).toContain('"code":"body_read_error"');
    expect(await h.waitForRequestLog(id)).toMatchObject({
      status: 400,
      error: 'body_read_error',
      route: 'chat.completions',
    });
    expect(h.fake.calls).toEqual([]);
  });

  it('an upload cut short of its content-length is 400 body_read_error in the log', async () => {
    await rawExchange(
      head('cut-upload', 'content-length: 100000'),
      '{"model":"gemini-3.8-flash","messages":[',
      'half-close',
    );
    expect(await h.waitForRequestLog('cut-upload', 5000)).toMatchObject({ status: 400, error: 'body_read_error' });
    expect(h.jsonLogs().filter((l) => l.error === 'internal_error')).toEqual([]);
    expect(h.fake.calls).toEqual([]);
  });
});
