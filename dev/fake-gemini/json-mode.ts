/**
 * JSON mode: a native generation request whose `generationConfig.responseMimeType` is `application/json` gets JSON
 * text back, as Google's structured output guarantees ("the model's response is ... valid JSON",
 * ai.google.dev/gemini-api/docs/structured-output), instead of the fake's plain sentence. Clients parse it: Gemini
 * CLI 0.61's model router asks a Flash-Lite model for `{complexity_reasoning, complexity_score}` this way, and on
 * anything that is not JSON retries for about two minutes and exits 1 (seen through `npm start`).
 *
 * With a schema (`responseJsonSchema`, JSON Schema; or `responseSchema`, Google's OpenAPI subset with upper-case
 * types) the answer is the plainest value it accepts: every property present, strings
 * {@link FAKE_REPLY_TEXT} (or an enum's first value), numbers 1, booleans true, arrays empty. Without one it is
 * {@link FAKE_REPLY_TEXT} as a JSON string. Tests that need particular values script them (`nativeReply`).
 *
 * @module
 */
import { FAKE_REPLY_TEXT } from './replies';

type Schema = Record<string, unknown>;

function asSchema(value: unknown): Schema | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Schema) : undefined;
}

/** The schema's type in lower case: the first non-null one of a type list, or what its keywords imply. */
function typeOf(schema: Schema): string | undefined {
  const declared = Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type;
  if (typeof declared === 'string') return declared.toLowerCase();
  if (schema.properties !== undefined) return 'object';
  if (schema.items !== undefined) return 'array';
  return undefined;
}

/** The plainest value `schema` accepts (see the module comment); `depth` stops a self-referencing schema. */
export function sampleOf(schema: Schema, depth = 0): unknown {
  if (depth > 8) return null;
  if ('const' in schema) return schema.const;
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return schema.enum[0];
  const alternative = [schema.anyOf, schema.oneOf].find((list) => Array.isArray(list) && list.length > 0) as
    | unknown[]
    | undefined;
  if (alternative) return sampleOf(asSchema(alternative[0]) ?? {}, depth + 1);
  switch (typeOf(schema)) {
    case 'object': {
      const properties = asSchema(schema.properties) ?? {};
      return Object.fromEntries(
        Object.entries(properties).map(([name, sub]) => [name, sampleOf(asSchema(sub) ?? {}, depth + 1)]),
      );
    }
    case 'array':
      return [];
    case 'integer':
    case 'number':
      return 1;
    case 'boolean':
      return true;
    case 'null':
      return null;
    default:
      return FAKE_REPLY_TEXT;
  }
}

/** The JSON text a JSON-mode request is answered with, or undefined when the request asks for text. */
export function jsonModeText(body: Record<string, unknown>): string | undefined {
  const config = asSchema(body.generationConfig);
  if (config?.responseMimeType !== 'application/json') return undefined;
  const schema = asSchema(config.responseJsonSchema) ?? asSchema(config.responseSchema);
  return JSON.stringify(schema === undefined ? FAKE_REPLY_TEXT : sampleOf(schema));
}
