/**
 * A fake Gemini API on 127.0.0.1 for tests, local runs and benchmarks.
 *
 * It speaks the shapes Google's real endpoints use, including their failure modes, so the shard worker's fix-ups and
 * key-pool logic are tested against what production sends rather than what we wish it sent:
 * - OpenAI-compatible surface under `/v1beta/openai/` (chat completions with SSE, tools carrying
 *   `extra_content.google.thought_signature`, embeddings as float arrays, Imagen's `images/generations`, models
 *   list/retrieve); its errors are a JSON
 *   ARRAY `[{"error":{...}}]`, as Google's compat endpoint really answers (`./openai.ts`).
 * - Native surface under `/v1beta/models` (`:generateContent`, `:streamGenerateContent`, `:countTokens`,
 *   `:embedContent`, `:batchEmbedContents`); errors are `{"error":{...}}` with google.rpc details (`./native.ts`).
 * - Projects, as Google counts them (option `projects`: key → project label; a key not listed is its own project):
 *   quota windows per project and model (the `admission` hook is asked with the project; `./rate-limit.ts`), files,
 *   cached contents and batches owned by the project (any key of it sees them, another project's resource is
 *   Google's 403), and an implicit cache per project and model (`./implicit-cache.ts`: a prompt repeating a long
 *   prefix the project sent lately reports `cachedContentTokenCount` / `cached_tokens`).
 * - Google's strictness (`./request-errors.ts`): current model ids only ({@link FAKE_MODELS}); a shut-down id
 *   ({@link FAKE_RETIRED_MODELS}), an unknown one or a method the model does not serve is Google's 404 NOT_FOUND; a
 *   generation request without contents, a content without parts, a chat without messages is Google's 400.
 * - Stateful resources per project (`./files.ts`, `./stateful.ts`, `./resources.ts`): the resumable upload under
 *   `/upload/v1beta/files` (bodies streamed, hashed and counted, never held: an upload call is recorded with
 *   `body: ''` and its size in `bodyBytes`), `files` get/list/delete and `:download` (generated files only, e.g. batch outputs, also under `/download/v1beta/`), `cachedContents`,
 *   `models/{m}:batchGenerateContent` and `batches` (a batch completes on its first get), and `interactions`. Another
 *   project's (or an unknown) file or cached content answers Google's 403 PERMISSION_DENIED, also when a generation
 *   call, a batch or a cache merely references it; `resources(key)`, `resourceOwner(name)` (the creating key) and
 *   `resourceProject(name)` let tests see who owns what.
 *   The OpenAI-compatible `files` (multipart upload, streamed) and `batches` under `/v1beta/openai/` share that store,
 *   with Google's native names as ids (`./openai-resources.ts`).
 *
 * Behaviour is chosen per API key (`setKeyBehaviour`, `./behaviours.ts`) so one test can make one key of eight fail;
 * the error each one answers is in `./google-errors.ts`, the broken replies in `./respond.ts`. Replies are
 * deterministic ({@link FAKE_REPLY_TEXT}, {@link fakeEmbeddingValues}) so tests can assert exact content and numbers.
 * The API key is never written into any response, except by the two opt-in behaviours that quote it the way some of
 * Google's messages do (`suspended-key`, `denied-quoting-key`), so a gateway's redaction can be proven end to end.
 * Behaviours about a requested resource (`resource-denied-403`, `denied-quoting-key`) answer only calls that carry
 * a request body; a model list or lookup with the same key succeeds, as it does at Google.
 *
 * Standalone: `tsx dev/fake-gemini/cli.ts --port 8788 [--stream-chunks 5] [--chunk-delay-ms 50] [--behaviour ok]`.
 *
 * @module
 */
export { FAKE_BEHAVIOURS, type FakeBehaviour } from './behaviours';
export type { FakeGeminiCall } from './call';
export {
  FAKE_PROJECT_NUMBER,
  FAKE_RETRY_DELAY,
  type GoogleErrorObject,
  invalidValueError,
  unknownFieldsError,
} from './google-errors';
export { IMPLICIT_CACHE_TTL_MS, ImplicitCache, implicitCacheMinTokens } from './implicit-cache';
export { type Admission, type AdmissionRefusal, WindowedRateLimit } from './rate-limit';
export {
  FAKE_IMAGE_B64,
  FAKE_IMAGE_MODEL,
  FAKE_MODELS,
  FAKE_MODEL_VERSION,
  FAKE_RETIRED_MODELS,
  FAKE_REPLY_TEXT,
  FAKE_THOUGHT_SIGNATURE,
  fakeEmbeddingValues,
  fakeReplyPieces,
} from './replies';
export { modelNotFound } from './request-errors';
export { FILE_ID_RULE, type FakeResourceNames, RETAINED_UPLOAD_BYTES } from './resources';
export { SCRIPTED_CALL_ID, SCRIPTED_THOUGHT, scriptedCalls } from './scripted-calls';
export { type FakeGemini, type FakeGeminiOptions, type NativeReply, startFakeGemini } from './server';
