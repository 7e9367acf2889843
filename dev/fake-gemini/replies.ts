/**
 * The fake's successful content: deterministic, so tests can assert exact text and numbers.
 *
 * @module
 */

/** The text of every successful reply; a streamed reply's chunks concatenate to it. */
export const FAKE_REPLY_TEXT = 'Hello from fake Gemini';
/** The model version the fake reports in native replies. */
export const FAKE_MODEL_VERSION = 'gemini-3.8-flash-fake-001';
/** The thought signature attached to every tool call; clients must send it back unchanged. */
export const FAKE_THOUGHT_SIGNATURE = 'ZmFrZS10aG91Z2h0LXNpZ25hdHVyZQ==';
/**
 * Models the fake serves: current ids only (Google's deprecations page lists them with no shutdown date; 2.5 Flash-Lite
 * "remains available through the API until further notice"). The Gemini 3 Flash ones are what the Anthropic routes
 * map Claude models to. Any other id is unknown (404), a retired one answered as Google answers a shut-down model
 * ({@link FAKE_RETIRED_MODELS}).
 */
export const FAKE_MODELS: readonly string[] = [
  'gemini-2.5-flash-lite',
  'gemini-3.1-pro-preview',
  // 3.1 Pro's variant for agents with custom tools: Gemini CLI 0.61 sends its "pro" turns there when it
  // authenticates with an API key (PREVIEW_GEMINI_3_1_CUSTOM_TOOLS_MODEL in its packages/core/src/config/models.ts)
  'gemini-3.1-pro-preview-customtools',
  'gemini-3.5-flash',
  'gemini-3.5-flash-lite',
  'gemini-3.8-flash',
  'gemini-embedding-001',
  'imagen-4.0-generate-001',
];

/**
 * Shut-down models (ai.google.dev/gemini-api/docs/deprecations: "Once a model is shut down, it is completely turned
 * off, and the endpoint is no longer available"). Reports differ on what a retired id answers (404, 503, or a silent
 * route to a 3.x model; /work/shared/reference/agents-and-projects.md §3); the fake takes the strictest reading, the
 * 404 NOT_FOUND Google gives any model that is not served, and never lists them.
 */
export const FAKE_RETIRED_MODELS: readonly string[] = ['gemini-2.0-flash', 'gemini-2.5-flash', 'gemini-2.5-pro'];

/** The Imagen model `images/generations` serves, listed with the others as Google lists its Imagen models. */
export const FAKE_IMAGE_MODEL = 'imagen-4.0-generate-001';
/** Every generated image: a 1×1 PNG, base64-encoded, as Google's `b64_json` carries it. */
export const FAKE_IMAGE_B64 =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';

export const DEFAULT_STREAM_CHUNKS = 3;
export const DEFAULT_EMBEDDING_DIMENSIONS = 4;

/**
 * The embedding of the `index`-th input. Every value is exactly representable as float32, so a base64 float32
 * round trip must reproduce these numbers exactly.
 */
export function fakeEmbeddingValues(index: number, dimensions: number = DEFAULT_EMBEDDING_DIMENSIONS): number[] {
  const base = [(index + 1) * 0.5, -0.25, 0.125, -(index + 1)];
  return Array.from({ length: dimensions }, (_, j) => base[j] ?? j / 8);
}

/** Splits `text` ({@link FAKE_REPLY_TEXT} unless given) into `n` pieces (some empty when n exceeds its length). */
export function fakeReplyPieces(n: number, text: string = FAKE_REPLY_TEXT): string[] {
  return Array.from({ length: n }, (_, i) =>
    text.slice(Math.floor((i * text.length) / n), Math.floor(((i + 1) * text.length) / n)),
  );
}
