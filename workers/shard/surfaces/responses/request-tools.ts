/**
 * The `tools` and `tool_choice` of a Responses request as Gemini's function declarations, Google Search and
 * `toolConfig`. Function tools keep their full JSON Schema (`parametersJsonSchema`, cleaned of what Gemini refuses by
 * the Anthropic surface's `cleanSchema`); `namespace` tools are flattened (`./function-names.ts`); `web_search`
 * becomes Google Search grounding where the model allows it. Tools OpenAI runs itself (file search, code interpreter,
 * computer use, MCP, image generation, shells) have no Gemini counterpart and are refused, naming the tool.
 */
import { describe, expectObject, expectString, fail, type Json } from '../anthropic/request-checks';
import { cleanSchema } from '../anthropic/tool-schema';
import { type FunctionNames, geminiFunctionName } from './function-names';
import type { GeminiFunctionDeclaration, GeminiToolSettings } from './gemini-request';

const WEB_SEARCH_TYPES = new Set([
  'web_search',
  'web_search_preview',
  'web_search_2025_08_26',
  'web_search_preview_2025_03_11',
]);

/** What the model may do with tools: search at all (Gemini models), and search next to functions (Gemini 3). */
export interface SearchSupport {
  readonly model: string;
  readonly alone: boolean;
  readonly withFunctions: boolean;
}

export interface TranslatedTools {
  readonly declarations: readonly GeminiFunctionDeclaration[];
  /** whether the request asked for web search (then Google Search grounding is on) */
  readonly search: boolean;
}

function optionalText(value: unknown, path: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  const text = expectString(value, path);
  return text === '' ? undefined : text;
}

function declaration(
  tool: Json,
  path: string,
  names: FunctionNames,
  namespace?: { readonly name: string; readonly description?: string },
): GeminiFunctionDeclaration {
  const name = expectString(tool.name, `${path}.name`);
  if (name === '') fail(`${path}.name`, 'must not be empty.');
  const own = optionalText(tool.description, `${path}.description`);
  const description = [namespace?.description, own].filter((d) => d !== undefined).join('\n\n');
  const parameters = tool.parameters;
  const schema =
    parameters === undefined || parameters === null ? undefined : expectObject(parameters, `${path}.parameters`);
  return {
    name: names.declare(name, namespace?.name, `${path}.name`),
    ...(description !== '' ? { description } : {}),
    ...(schema !== undefined ? { parametersJsonSchema: cleanSchema(schema) } : {}),
  };
}

function namespaceDeclarations(tool: Json, path: string, names: FunctionNames): GeminiFunctionDeclaration[] {
  const name = expectString(tool.name, `${path}.name`);
  if (name === '') fail(`${path}.name`, 'must not be empty.');
  const description = optionalText(tool.description, `${path}.description`);
  if (!Array.isArray(tool.tools)) fail(`${path}.tools`, `expected an array, received ${describe(tool.tools)}.`);
  return tool.tools.map((raw, i) => {
    const inner = expectObject(raw, `${path}.tools[${i}]`);
    if (inner.type !== 'function') {
      fail(`${path}.tools[${i}].type`, `expected "function", received ${describe(inner.type)}.`);
    }
    return declaration(inner, `${path}.tools[${i}]`, names, { name, ...(description ? { description } : {}) });
  });
}

function checkWebSearch(tool: Json, path: string, support: SearchSupport): void {
  if (!support.alone) {
    fail(`${path}.type`, `${support.model} has no Google Search grounding, so web search is not available with it.`);
  }
  const filters = tool.filters;
  if (isNonEmptyDomainList(filters)) {
    fail(`${path}.filters`, 'Google Search grounding cannot be limited to domains; remove filters.allowed_domains.');
  }
}

function isNonEmptyDomainList(filters: unknown): boolean {
  if (filters === undefined || filters === null || typeof filters !== 'object') return false;
  const domains = (filters as { allowed_domains?: unknown }).allowed_domains;
  return Array.isArray(domains) && domains.length > 0;
}

export function toolsOf(value: unknown, names: FunctionNames, support: SearchSupport): TranslatedTools {
  if (value === undefined || value === null) return { declarations: [], search: false };
  if (!Array.isArray(value)) fail('tools', `expected an array, received ${describe(value)}.`);
  const declarations: GeminiFunctionDeclaration[] = [];
  let search = false;
  value.forEach((raw, i) => {
    const path = `tools[${i}]`;
    const tool = expectObject(raw, path);
    if (tool.type === 'function') declarations.push(declaration(tool, path, names));
    else if (tool.type === 'namespace') declarations.push(...namespaceDeclarations(tool, path, names));
    else if (typeof tool.type === 'string' && WEB_SEARCH_TYPES.has(tool.type)) {
      checkWebSearch(tool, path, support);
      search = true;
    } else {
      fail(
        `${path}.type`,
        `${describe(tool.type)} is a tool OpenAI runs itself, which Gemini does not offer here; declare a function tool (or web_search) instead.`,
      );
    }
  });
  if (search && declarations.length > 0 && !support.withFunctions) {
    fail(
      'tools',
      `${support.model} cannot use Google Search and functions in one request (Gemini 3 models can); remove the web_search tool or the functions.`,
    );
  }
  return { declarations, search };
}

/** The Gemini name a tool_choice names, which must be a declared function. */
function chosenFunction(choice: Json, path: string, names: FunctionNames, declared: ReadonlySet<string>): string {
  const name = expectString(choice.name, `${path}.name`);
  const namespace = choice.namespace === undefined ? undefined : expectString(choice.namespace, `${path}.namespace`);
  const gemini = geminiFunctionName(name, namespace);
  if (!declared.has(gemini) || !names.has(gemini)) {
    fail(`${path}.name`, `${JSON.stringify(gemini.slice(0, 80))} is not the name of a function in tools.`);
  }
  return gemini;
}

function functionChoice(
  value: unknown,
  declarations: readonly GeminiFunctionDeclaration[],
  names: FunctionNames,
): GeminiToolSettings['functionCallingConfig'] {
  if (value === undefined || value === null || value === 'auto') return undefined;
  if (value === 'none') return declarations.length > 0 ? { mode: 'NONE' } : undefined;
  const needFunctions = (path: string) => {
    if (declarations.length === 0) fail(path, 'requires at least one function in tools.');
  };
  if (value === 'required') {
    needFunctions('tool_choice');
    return { mode: 'ANY' };
  }
  const choice = expectObject(value, 'tool_choice');
  const declared = new Set(declarations.map((d) => d.name));
  if (choice.type === 'function') {
    needFunctions('tool_choice');
    return { mode: 'ANY', allowedFunctionNames: [chosenFunction(choice, 'tool_choice', names, declared)] };
  }
  if (choice.type === 'allowed_tools') {
    needFunctions('tool_choice');
    if (!Array.isArray(choice.tools))
      fail('tool_choice.tools', `expected an array, received ${describe(choice.tools)}.`);
    const allowed = choice.tools.map((t, i) =>
      chosenFunction(expectObject(t, `tool_choice.tools[${i}]`), `tool_choice.tools[${i}]`, names, declared),
    );
    if (choice.mode !== 'auto' && choice.mode !== 'required') {
      fail('tool_choice.mode', `expected "auto" or "required", received ${describe(choice.mode)}.`);
    }
    return { mode: choice.mode === 'required' ? 'ANY' : 'VALIDATED', allowedFunctionNames: allowed };
  }
  return fail(
    'tool_choice',
    `expected "auto", "none", "required" or a function choice, received ${describe(choice.type ?? value)}.`,
  );
}

/** Gemini's `toolConfig` for the request's `tool_choice`, or undefined when Gemini's defaults apply. */
export function toolConfigOf(
  value: unknown,
  tools: TranslatedTools,
  names: FunctionNames,
): GeminiToolSettings | undefined {
  const calling = functionChoice(value, tools.declarations, names);
  const combined = tools.search && tools.declarations.length > 0;
  if (calling === undefined && !combined) return undefined;
  return {
    ...(calling !== undefined ? { functionCallingConfig: calling } : {}),
    ...(combined ? { includeServerSideToolInvocations: true } : {}),
  };
}
