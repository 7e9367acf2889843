/**
 * A hostile Gemini on 127.0.0.1: it answers every surface's calls in the shape the gateway expects, and quotes the
 * key each call carried back at the client in every spelling a decoder undoes (as is, JSON-escaped, percent-encoded,
 * both), in success bodies, error bodies, SSE events after the first, a streamed body cut at a chosen byte, response
 * headers, and Live API messages (text and binary) and close reasons. What gets through is the gateway's redaction.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { spelt } from '../helpers/secret-forms';

/** The spellings the hostile upstream quotes, by name; `split-<form>-<offset>` models pick one. */
export const FORMS = ['raw', 'escaped', 'percent', 'percent-escaped'] as const;
export type Form = (typeof FORMS)[number];

/** The key in the spelling `form`: characters as JSON string content (the escapes are JSON's). */
export function spelling(key: string, form: Form): string {
  return form === 'raw' ? key : spelt(key, form);
}

/** Every spelling of the key at once, as JSON string content. */
export const quote = (key: string): string => FORMS.map((form) => `${form}: ${spelling(key, form)}`).join(' | ');

/** The body of a split stream, and the byte its spelling of the key begins at. */
export function splitBody(key: string, form: Form): { readonly body: string; readonly at: number } {
  const before = '[{"candidates":[{"content":{"role":"model","parts":[{"text":"before ';
  return { body: `${before}${spelling(key, form)} after"}]}}]}]`, at: before.length };
}

/** Text a Live client sends to make the upstream close the session, quoting the key in the reason. */
export const LIVE_CLOSE_TEXT = 'close now';
export const LIVE_CLOSE_CODE = 1008;

export interface HostileUpstream {
  /** origin, e.g. `http://127.0.0.1:12345` */
  readonly url: string;
  /** every key a call or session carried, in order */
  readonly keysSeen: string[];
  /** `error`: every HTTP call answers a 400 that quotes the key, in its body and its content-type */
  mode: 'success' | 'error';
  close(): Promise<void>;
}

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function keyOf(request: IncomingMessage): string {
  const header = request.headers['x-goog-api-key'];
  if (typeof header === 'string') return header;
  return /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1] ?? 'no key';
}

/** SSE events written one at a time, a few milliseconds apart, so each reaches the gateway as a chunk of its own. */
async function sse(response: ServerResponse, headers: Record<string, string>, events: readonly string[]) {
  response.writeHead(200, { ...headers, 'content-type': 'text/event-stream' });
  for (const event of events) {
    response.write(`data: ${event}\r\n\r\n`);
    await pause(5);
  }
  response.end();
}

/** The JSON answer (a string, to keep its escapes) to a successful call, by path; undefined for a streamed one. */
function successBody(path: string, q: string): string | undefined {
  const candidate = `{"candidates":[{"content":{"role":"model","parts":[{"text":"${q}"}]},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":1,"candidatesTokenCount":1,"totalTokenCount":2}}`;
  if (path === '/v1beta/openai/models')
    return `{"object":"list","data":[{"id":"gemini-2.5-flash","object":"model","owned_by":"${q}"}]}`;
  if (path === '/v1beta/openai/chat/completions')
    return `{"id":"c1","object":"chat.completion","model":"gemini-2.5-flash","choices":[{"index":0,"message":{"role":"assistant","content":"${q}"},"finish_reason":"stop"}]}`;
  if (path === '/v1beta/models') return `{"models":[{"name":"models/gemini-2.5-flash","description":"${q}"}]}`;
  if (path.endsWith(':generateContent')) return candidate;
  if (path === '/v1beta/files')
    return `{"files":[{"name":"files/hostile1","displayName":"${q}","mimeType":"text/plain","uri":"https://x/v1beta/files/hostile1?note=${q}"}]}`;
  if (path === '/v1beta/cachedContents')
    return `{"name":"cachedContents/hostile2","model":"models/gemini-2.5-flash","displayName":"${q}"}`;
  return undefined;
}

async function answer(request: IncomingMessage, response: ServerResponse, upstream: HostileUpstream): Promise<void> {
  const key = keyOf(request);
  upstream.keysSeen.push(key);
  const url = new URL(request.url ?? '/', 'http://x');
  const body = Buffer.concat(await request.toArray()).toString('utf8');
  const q = quote(key);
  // a header value is no JSON string: the escapes are literal text there, still a spelling a client can undo
  const headers = { 'content-type': `application/json; charset=UTF-8; quoted="${q}"` };
  if (upstream.mode === 'error') {
    response.writeHead(400, headers);
    response.end(`{"error":{"code":400,"message":"Invalid value for ${q}","status":"INVALID_ARGUMENT"}}`);
    return;
  }
  const path = url.pathname;
  const first = `{"candidates":[{"content":{"role":"model","parts":[{"text":"Hello"}]}}]}`;
  const error = `{"error":{"code":500,"message":"Stream broke for ${q}","status":"INTERNAL"}}`;
  if (path.endsWith(':streamGenerateContent') && url.searchParams.get('alt') === 'sse') {
    return sse(response, headers, [first, `{"candidates":[{"content":{"parts":[{"text":"${q}"}]}}]}`, error]);
  }
  if (path === '/v1beta/openai/chat/completions' && (JSON.parse(body) as { stream?: boolean }).stream) {
    const chunk = (content: string) =>
      `{"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"${content}"}}]}`;
    return sse(response, headers, [chunk('Hello'), chunk(q), error]);
  }
  const split = /\/models\/split-([a-z-]+)-(\d+):streamGenerateContent$/.exec(path);
  if (split) {
    const { body: text, at } = splitBody(key, split[1] as Form);
    const cut = at + Number(split[2]);
    response.writeHead(200, headers);
    response.write(text.slice(0, cut));
    await pause(3);
    response.end(text.slice(cut));
    return;
  }
  if (path === '/download/v1beta/files/hostile1:download') {
    response.writeHead(200, {
      'content-type': 'text/plain',
      'content-disposition': `attachment; filename="${key}.txt"`,
    });
    response.write(`file bytes: ${q.slice(0, 50)}`);
    await pause(3);
    response.end(q.slice(50));
    return;
  }
  const whole = successBody(path, q);
  response.writeHead(whole === undefined ? 404 : 200, headers);
  response.end(whole ?? '{"error":{"code":404,"message":"not hostile here","status":"NOT_FOUND"}}');
}

export async function startHostileUpstream(): Promise<HostileUpstream> {
  const server = createServer((request, response) => {
    answer(request, response, upstream).catch(() => response.destroy());
  });
  const wss = new WebSocketServer({ server });
  wss.on('connection', (socket, request) => {
    const key = keyOf(request);
    upstream.keysSeen.push(key);
    socket.on('message', (data) => {
      const message = JSON.parse(String(data)) as Record<string, unknown>;
      if ('setup' in message) socket.send(Buffer.from(`{"setupComplete":{},"note":"${quote(key)}"}`));
      const text = JSON.stringify(message.clientContent ?? '');
      if (text.includes(LIVE_CLOSE_TEXT)) socket.close(LIVE_CLOSE_CODE, `quota for ${key}`);
      else if ('clientContent' in message)
        socket.send(`{"serverContent":{"modelTurn":{"parts":[{"text":"${quote(key)}"}]},"turnComplete":true}}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const upstream: HostileUpstream = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    keysSeen: [],
    mode: 'success',
    close: () =>
      new Promise<void>((resolve) => {
        wss.close();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return upstream;
}
