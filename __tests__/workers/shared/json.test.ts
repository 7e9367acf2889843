import { parseJson } from '../../../workers/shared/json';

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

describe('parseJson', () => {
  it('parses JSON text and UTF-8 bytes, any JSON value included', () => {
    expect(parseJson('{"a":[1,"é"]}')).toEqual({ a: [1, 'é'] });
    expect(parseJson(utf8('{"a":[1,"é"]}'))).toEqual({ a: [1, 'é'] });
    expect(parseJson('null')).toBeNull();
    expect(parseJson(utf8('false'))).toBe(false);
    expect(parseJson(' 0 ')).toBe(0);
  });

  it('drops a UTF-8 byte-order mark from bytes', () => {
    expect(parseJson(new Uint8Array([0xef, 0xbb, 0xbf, ...utf8('{"b":2}')]))).toEqual({ b: 2 });
  });

  it('is undefined for anything that is not JSON, bytes that are not UTF-8 included', () => {
    for (const input of ['', '{"model": ', '<html>502</html>', '{a:1}', "{'a':1}", 'undefined', utf8('[1,')]) {
      expect(parseJson(input)).toBeUndefined();
    }
    expect(parseJson(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]))).toBeUndefined();
    expect(parseJson(new Uint8Array([0x22, 0xc3, 0x22]))).toBeUndefined();
  });
});
