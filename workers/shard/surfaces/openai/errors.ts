/**
 * Google's errors as OpenAI clients read them: one OpenAI error object, whatever shape Google answered in.
 */
import { errorBody, openAIErrorType, type OpenAIErrorBody } from '../../../shared/http';
import { parseJson } from '../../../shared/json';
import { googleErrorOf } from '../../core/key-faults';
import { redact } from '../../core/redaction';

/**
 * Turns an upstream error body into one OpenAI error object. Google's compat endpoint answers with a JSON array
 * `[{"error":{code,message,status}}]`, which OpenAI clients cannot read; the native shape and OpenAI's own shape
 * are accepted too. The Google status (e.g. `RESOURCE_EXHAUSTED`) becomes `code`.
 */
export function toOpenAIError(status: number, text: string, secrets: readonly string[]): OpenAIErrorBody {
  const parsed = parseJson(text);
  const google = googleErrorOf(parsed);
  if (google?.message !== undefined) {
    return errorBody(redact(google.message, secrets), openAIErrorType(status), google.status ?? null);
  }
  return errorBody(
    `Gemini returned HTTP ${status} with a body that is not a Gemini error.`,
    openAIErrorType(status),
    'upstream_error',
  );
}
