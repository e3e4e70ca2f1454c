import { z } from 'zod';
import { InvalidOptionError } from '../errors';
import type { ToolSpec } from '../model/model';
import { compileJsonSchemaInput, isJsonSchemaInput } from './json-schema';
import type { Tool } from './tool';

const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/;
const specs = new WeakMap<Tool, ToolSpec>();

type ZodToJsonSchema = (schema: unknown, options?: object) => Record<string, unknown>;
let zod3Converter: Promise<ZodToJsonSchema> | undefined;

async function loadZod3Converter(toolName: string): Promise<ZodToJsonSchema> {
  zod3Converter ??= import('zod-to-json-schema').then(
    (module) => module.zodToJsonSchema as ZodToJsonSchema,
    (cause) => {
      zod3Converter = undefined;
      throw new InvalidOptionError(
        `tool "${toolName}" uses a zod 3 schema, which needs the optional peer dependency ` +
          `zod-to-json-schema (npm install zod-to-json-schema), or pass jsonSchema yourself (${String(cause)})`,
      );
    },
  );
  return zod3Converter;
}

async function toJsonSchema(tool: Tool): Promise<Record<string, unknown>> {
  if (tool.jsonSchema) return tool.jsonSchema;
  if (isJsonSchemaInput(tool.input)) {
    const { $schema: _, ...json } = tool.input.jsonSchema;
    return json;
  }
  const schema = tool.input as unknown as Record<string, unknown>;
  // zod 4 schemas carry `_zod`; zod 3 schemas only `_def`. zod-to-json-schema must never see a
  // zod 4 schema: it would silently return an empty schema and the model would get no fields.
  if ('_zod' in schema) {
    const { $schema: _, ...json } = z.toJSONSchema(schema as unknown as z.ZodType, { io: 'input' });
    return json;
  }
  if ('_def' in schema && tool.input['~standard'].vendor === 'zod') {
    const convert = await loadZod3Converter(tool.name);
    const { $schema: _, ...json } = convert(schema, {
      $refStrategy: 'none',
      target: 'jsonSchema7',
    });
    return json;
  }
  throw new InvalidOptionError(
    `tool "${tool.name}": cannot derive a JSON Schema from a ${tool.input['~standard'].vendor} schema; pass jsonSchema`,
  );
}

/**
 * The spec sent to the model for a tool, derived once per tool object and cached.
 * Throws {@link InvalidOptionError} for a bad name or a schema that is not an object.
 */
export async function toolSpecOf(tool: Tool): Promise<ToolSpec> {
  const cached = specs.get(tool);
  if (cached) return cached;
  if (typeof tool.name !== 'string' || !TOOL_NAME.test(tool.name)) {
    throw new InvalidOptionError(
      `tools: name ${JSON.stringify(tool.name)} is invalid; use 1-64 letters, digits, "_" or "-"`,
    );
  }
  if (typeof tool.execute !== 'function') {
    throw new InvalidOptionError(`tools: tool "${tool.name}" has no execute function`);
  }
  if (typeof tool.input?.['~standard']?.validate !== 'function') {
    throw new InvalidOptionError(
      `tools: tool "${tool.name}" needs an input schema (a zod object schema such as z.object({...}))`,
    );
  }
  // Loads the validator now, so a missing peer dependency fails the run before its first turn.
  if (isJsonSchemaInput(tool.input)) await compileJsonSchemaInput(tool.input);
  const inputSchema = await toJsonSchema(tool);
  if (inputSchema.type !== 'object') {
    throw new InvalidOptionError(
      `tools: tool "${tool.name}" input must be an object schema (z.object({...})), got JSON Schema type ${JSON.stringify(inputSchema.type)}`,
    );
  }
  const spec: ToolSpec = { name: tool.name, description: tool.description, inputSchema };
  specs.set(tool, spec);
  return spec;
}
