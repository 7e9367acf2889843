/**
 * The checks every part of an Anthropic Messages request goes through: a field of the wrong shape throws
 * {@link Invalid} with the field's path (`messages[2].content[0].source.type: …`), which `translateMessagesRequest`
 * answers as Anthropic's `invalid_request_error`.
 */
import { isJsonObject } from '../../../shared/json';

/** A validation failure deep inside the request; caught at the top and answered as a 400. */
export class Invalid extends Error {}

/** A JSON object of the request, its fields not yet checked. */
export type Json = Record<string, unknown>;

/** Names what a client sent in an error message: its kind, and at most 60 characters of a string. */
export function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.slice(0, 60))}`;
  return typeof value === 'object' ? 'an object' : String(value);
}

export function fail(path: string, message: string): never {
  throw new Invalid(`${path}: ${message}`);
}

export function expectObject(value: unknown, path: string): Json {
  if (!isJsonObject(value)) fail(path, `expected an object, received ${describe(value)}.`);
  return value;
}

export function expectString(value: unknown, path: string): string {
  if (typeof value !== 'string') fail(path, `expected a string, received ${describe(value)}.`);
  return value;
}

export function optionalNumber(value: unknown, path: string, integer = false): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (integer && !Number.isInteger(value))) {
    fail(path, `expected a non-negative ${integer ? 'integer' : 'number'}, received ${describe(value)}.`);
  }
  return value;
}
