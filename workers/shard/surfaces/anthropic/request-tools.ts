/** Anthropic `tools` and `tool_choice` as Gemini function declarations and `toolConfig`; only custom tools exist. */
import type { GeminiFunctionDeclaration, GeminiToolConfig } from './gemini-types';
import { describe, expectObject, expectString, fail } from './request-checks';
import { cleanSchema } from './tool-schema';

export function toolsOf(value: unknown): GeminiFunctionDeclaration[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) fail('tools', `expected an array, received ${describe(value)}.`);
  return value.map((raw, i) => {
    const path = `tools[${i}]`;
    const tool = expectObject(raw, path);
    if (tool.type !== undefined && tool.type !== null && tool.type !== 'custom') {
      fail(
        `${path}.type`,
        `${describe(tool.type)} is a tool Anthropic defines or runs itself, which Gemini does not offer; declare it as a custom tool with a name and an input_schema.`,
      );
    }
    const name = expectString(tool.name, `${path}.name`);
    if (name === '') fail(`${path}.name`, 'must not be empty.');
    const schema = expectObject(tool.input_schema, `${path}.input_schema`);
    const description = tool.description;
    if (description !== undefined && description !== null) expectString(description, `${path}.description`);
    return {
      name,
      ...(typeof description === 'string' && description !== '' ? { description } : {}),
      parametersJsonSchema: cleanSchema(schema),
    };
  });
}

export function toolConfigOf(
  value: unknown,
  declarations: readonly GeminiFunctionDeclaration[],
): GeminiToolConfig | undefined {
  if (value === undefined || value === null || declarations.length === 0) return undefined;
  const choice = expectObject(value, 'tool_choice');
  // disable_parallel_tool_use has no Gemini equivalent; the model may still call several functions at once
  switch (choice.type) {
    case 'auto':
      return { functionCallingConfig: { mode: 'AUTO' } };
    case 'any':
      return { functionCallingConfig: { mode: 'ANY' } };
    case 'none':
      return { functionCallingConfig: { mode: 'NONE' } };
    case 'tool': {
      const name = expectString(choice.name, 'tool_choice.name');
      if (!declarations.some((d) => d.name === name)) {
        fail('tool_choice.name', `${JSON.stringify(name.slice(0, 80))} is not the name of a tool in tools.`);
      }
      return { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: [name] } };
    }
    default:
      return fail('tool_choice.type', `expected "auto", "any", "tool" or "none", received ${describe(choice.type)}.`);
  }
}
