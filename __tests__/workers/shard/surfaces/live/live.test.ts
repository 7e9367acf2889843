/**
 * The Live API's pure parts: which paths reach the WebSocket route (the SDK's double slash included, nothing looser),
 * and how the bridge passes messages and close codes between the client's socket and Google's.
 */
import { bridgeSockets, type LiveSocket, PEER_LOST } from '../../../../../workers/shard/surfaces/live/bridge';
import { matchRoute } from '../../../../../workers/shard/surfaces/registry';

const BIDI = 'ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent';
const CONSTRAINED = 'ws/google.ai.generativelanguage.v1alpha.GenerativeService.BidiGenerateContentConstrained';

describe('Live API routes', () => {
  const none = new URLSearchParams();

  it.each([`/${BIDI}`, `//${BIDI}`])('routes %s to live.bidi on Google’s single-slash path', (path) => {
    expect(matchRoute('GET', path, new URLSearchParams({ key: 'k' }))).toEqual({
      kind: 'route',
      route: { name: 'live.bidi', surface: 'live', method: 'GET', upstreamPath: `/${BIDI}` },
    });
  });

  it.each([`///${BIDI}`, `/%2F${BIDI}`, `/${BIDI}/`, `/v1beta/${BIDI}`, `/${BIDI.replace('v1beta', 'v2')}`])(
    'does not route %s',
    (path) => {
      expect(matchRoute('GET', path, none)).toEqual({ kind: 'not-found' });
    },
  );

  it('allows only GET', () => {
    expect(matchRoute('POST', `/${BIDI}`, none)).toEqual({ kind: 'method-not-allowed', allow: 'GET' });
  });

  it('takes the ephemeral token of BidiGenerateContentConstrained from access_token, and refuses a malformed one', () => {
    expect(matchRoute('GET', `//${CONSTRAINED}`, new URLSearchParams({ access_token: 'auth_tokens/abc-1' }))).toEqual({
      kind: 'route',
      route: {
        name: 'live.bidiConstrained',
        surface: 'live',
        method: 'GET',
        upstreamPath: `/${CONSTRAINED}`,
        accessToken: 'auth_tokens/abc-1',
      },
    });
    for (const token of [undefined, 'abc', 'auth_tokens/a&key=x', 'auth_tokens/']) {
      const params = new URLSearchParams(token === undefined ? {} : { access_token: token });
      expect(matchRoute('GET', `/${CONSTRAINED}`, params)).toMatchObject({ kind: 'bad-query' });
    }
  });
});

/** A socket whose peer's events the test fires, recording what the bridge did to it. */
class FakeSocket implements LiveSocket {
  readonly sent: (string | ArrayBuffer)[] = [];
  readonly closes: { code?: number; reason?: string }[] = [];
  failSends = false;
  private message: (data: string | ArrayBuffer) => void = () => undefined;
  private close_: (code: number, reason: string) => void = () => undefined;
  private error: () => void = () => undefined;

  send(message: string | ArrayBuffer): void {
    if (this.failSends) throw new Error('closed');
    this.sent.push(message);
  }
  close(code?: number, reason?: string): void {
    this.closes.push({ ...(code !== undefined ? { code } : {}), ...(reason !== undefined ? { reason } : {}) });
  }
  onMessage(listener: (data: string | ArrayBuffer) => void): void {
    this.message = listener;
  }
  onClose(listener: (code: number, reason: string) => void): void {
    this.close_ = listener;
  }
  onError(listener: () => void): void {
    this.error = listener;
  }
  receive(data: string | ArrayBuffer): void {
    this.message(data);
  }
  peerCloses(code: number, reason = ''): void {
    this.close_(code, reason);
  }
  fails(): void {
    this.error();
  }
}

function bridged(): { client: FakeSocket; upstream: FakeSocket; ended: [string, number][] } {
  const client = new FakeSocket();
  const upstream = new FakeSocket();
  const ended: [string, number][] = [];
  bridgeSockets(
    client,
    upstream,
    (text) => text.split('canary-key').join('[redacted]'),
    (by, code) => ended.push([by, code]),
  );
  return { client, upstream, ended };
}

describe('bridgeSockets', () => {
  it('passes text and binary messages both ways as they arrive', () => {
    const { client, upstream } = bridged();
    const binary = new Uint8Array([1, 2, 3]).buffer;
    client.receive('{"setup":{}}');
    upstream.receive(binary);
    upstream.receive('{"setupComplete":{}}');
    expect(upstream.sent).toEqual(['{"setup":{}}']);
    expect(client.sent).toEqual([binary, '{"setupComplete":{}}']);
  });

  it('closes the client with the code and the redacted reason Google closed with, once', () => {
    const { client, upstream, ended } = bridged();
    upstream.peerCloses(1008, 'quota for canary-key exceeded');
    client.peerCloses(1008, 'echo');
    expect(client.closes).toEqual([{ code: 1008, reason: 'quota for [redacted] exceeded' }]);
    expect(upstream.closes).toEqual([{ code: 1008, reason: '' }]);
    expect(ended).toEqual([['upstream', 1008]]);
  });

  it('closes Google’s side without a code when the client sent none', () => {
    const { client, upstream, ended } = bridged();
    client.peerCloses(1005);
    expect(upstream.closes).toEqual([{}]);
    expect(ended).toEqual([['client', 1005]]);
  });

  it('closes the other side with 1011 when one drops without a close frame, or errors', () => {
    const dropped = bridged();
    dropped.upstream.peerCloses(1006);
    expect(dropped.client.closes).toEqual([{ code: PEER_LOST, reason: 'peer lost' }]);
    expect(dropped.ended).toEqual([['upstream', 1006]]);
    const failed = bridged();
    failed.client.fails();
    expect(failed.upstream.closes).toEqual([{ code: PEER_LOST, reason: 'peer lost' }]);
  });

  it('ends the session when a message cannot be passed on', () => {
    const { client, upstream, ended } = bridged();
    upstream.failSends = true;
    client.receive('{"clientContent":{}}');
    expect(client.closes).toEqual([{ code: PEER_LOST, reason: 'peer lost' }]);
    expect(ended).toEqual([['upstream', 1006]]);
  });

  it('keeps a passed-on close reason within the 123 bytes a close frame holds', () => {
    const { client, upstream } = bridged();
    upstream.peerCloses(1011, 'é'.repeat(100));
    expect(new TextEncoder().encode(client.closes[0]?.reason).length).toBeLessThanOrEqual(123);
  });
});
