/**
 * What the Live bridge passes from Google to the client: every message, text or binary, through the same redactor
 * as every body the gateway sends, and the messages a client sends to Google as they were.
 */
import { bridgeSockets, type LiveSocket } from '../../../../../workers/shard/surfaces/live/bridge';
import { redactText } from '../../../../../workers/shard/core/redaction-stream';
import { defined } from '../../../../helpers/guards';
import { canaryApiKeys } from '../../../../security/canaries';

const KEY = defined(canaryApiKeys(1)[0], 'canary key');
const escaped = [...KEY].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('');

class Socket implements LiveSocket {
  readonly sent: (string | ArrayBuffer)[] = [];
  private listener: (data: string | ArrayBuffer) => void = () => undefined;
  send(message: string | ArrayBuffer): void {
    this.sent.push(message);
  }
  close(): void {}
  onMessage(listener: (data: string | ArrayBuffer) => void): void {
    this.listener = listener;
  }
  onClose(): void {}
  onError(): void {}
  receive(data: string | ArrayBuffer): void {
    this.listener(data);
  }
}

function bytes(text: string): ArrayBuffer {
  const encoded = new TextEncoder().encode(text);
  const out = new ArrayBuffer(encoded.length);
  new Uint8Array(out).set(encoded);
  return out;
}

it('redacts every message Google sends, text or binary, in any spelling, and passes the client’s on as sent', () => {
  const client = new Socket();
  const upstream = new Socket();
  bridgeSockets(
    client,
    upstream,
    (text) => redactText(text, [KEY]),
    () => undefined,
  );
  upstream.receive(`{"serverContent":{"text":"${KEY} ${encodeURIComponent(KEY)}"}}`);
  upstream.receive(bytes(`{"setupComplete":{},"note":"${escaped}"}`));
  const clean = bytes('{"serverContent":{"turnComplete":true}}');
  upstream.receive(clean);
  client.receive(`{"clientContent":"${KEY}"}`);
  const [text, binary, untouched] = client.sent;
  expect(text).toBe('{"serverContent":{"text":"[redacted] [redacted]"}}');
  expect(new TextDecoder().decode(binary as ArrayBuffer)).toBe('{"setupComplete":{},"note":"[redacted]"}');
  expect(untouched).toBe(clean);
  expect(upstream.sent).toEqual([`{"clientContent":"${KEY}"}`]);
});
