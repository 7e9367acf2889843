/**
 * Google's resumable upload as `@google/genai` drives it, for tests that make the calls by hand: the start, which
 * answers with the session URL in `x-goog-upload-url`, and an upload-and-finalize call carrying the whole file.
 */

/** `fetch` options of the start: `POST /upload/v1beta/files` announcing `size` bytes of `mimeType`. */
export function resumableStart(
  apiKey: string,
  size: number,
  mimeType: string,
  file: Readonly<Record<string, unknown>> = {},
): RequestInit {
  return {
    method: 'POST',
    headers: {
      'x-goog-api-key': apiKey,
      'content-type': 'application/json',
      'x-goog-upload-protocol': 'resumable',
      'x-goog-upload-command': 'start',
      'x-goog-upload-header-content-length': String(size),
      'x-goog-upload-header-content-type': mimeType,
    },
    body: JSON.stringify({ file }),
  };
}

/** `fetch` options of one upload-and-finalize call at offset 0 sending `body`, the whole file. */
export function finalizeWhole(apiKey: string, body: string): RequestInit {
  return {
    method: 'POST',
    headers: { 'x-goog-api-key': apiKey, 'x-goog-upload-command': 'upload, finalize', 'x-goog-upload-offset': '0' },
    body,
  };
}
