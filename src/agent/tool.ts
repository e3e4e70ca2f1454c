import { type JsonSchemaObject, jsonSchema } from './json-schema';
import type { StandardSchemaV1 } from './standard-schema';

/** What a tool's `execute` receives besides its input. */
export interface ToolContext {
  runId: string;
  toolCallId: string;
  /**
   * `${runId}:${toolCallId}`: the same for every execution of this call, including one repeated
   * after a crash, so a tool with side effects can make them happen once (pass it as an
   * idempotency key to payment APIs, use it as a unique key in your database …).
   */
  idempotencyKey: string;
  /** 1-based turn of the model call that asked for this tool. */
  turn: number;
  /** Aborted when the run is aborted, times out, or this call passes its own timeout. */
  signal: AbortSignal;
  /**
   * Pauses the run until someone answers (for example a person approving an action). The run
   * ends with status `suspended`; continue it with `answers: { [toolCallId]: answer }`.
   */
  suspend(payload?: unknown): never;
}

/** A tool the model can call. Create one with {@link defineTool}. */
export interface Tool<Input = unknown> {
  /** Name the model calls it by: 1–64 letters, digits, `_` or `-`. */
  readonly name: string;
  /** What the tool does and when to use it, written for the model. */
  readonly description: string;
  /** Schema the model's input is validated against before `execute` runs (zod 3 or 4). */
  readonly input: StandardSchemaV1<unknown, Input>;
  /** JSON Schema sent to the model; derived from `input` when omitted. */
  readonly jsonSchema?: Record<string, unknown>;
  /** Overrides the agent's `toolTimeoutMs` for this tool. */
  readonly timeoutMs?: number;
  /** Runs the tool. A string is sent to the model as is; anything else as JSON. */
  execute(input: Input, context: ToolContext): unknown;
}

/**
 * A tool of any input type, as held in a list of tools.
 */
// biome-ignore lint/suspicious/noExplicitAny: `execute` takes its input contravariantly, so a list typed Tool<unknown>[] would refuse every real tool.
export type AnyTool = Tool<any>;

/**
 * Defines a tool whose `execute` input type is inferred from its zod schema.
 *
 * @example
 * ```ts
 * const getWeather = defineTool({
 *   name: 'get_weather',
 *   description: 'Current weather for a city',
 *   input: z.object({ city: z.string() }),
 *   execute: async ({ city }) => fetchWeather(city),
 * });
 * ```
 */
export function defineTool<Schema extends StandardSchemaV1>(definition: {
  name: string;
  description: string;
  input: Schema;
  jsonSchema?: Record<string, unknown>;
  timeoutMs?: number;
  execute(input: StandardSchemaV1.InferOutput<Schema>, context: ToolContext): unknown;
}): Tool<StandardSchemaV1.InferOutput<Schema>> {
  return definition as Tool<StandardSchemaV1.InferOutput<Schema>>;
}

/**
 * Defines a tool whose input is described by a JSON Schema instead of zod — for schemas that
 * come from elsewhere (an MCP server, an OpenAPI document, a database). The model's input is
 * validated with {@link jsonSchema} before `execute` runs; an invalid one goes back to the model
 * as a tool error naming the field. Give `Input` to type `execute`'s input (it is not inferred
 * from the schema).
 *
 * @example
 * ```ts
 * const getWeather = jsonSchemaTool<{ city: string }>({
 *   name: 'get_weather',
 *   description: 'Current weather for a city',
 *   inputSchema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
 *   execute: async ({ city }) => fetchWeather(city),
 * });
 * ```
 */
export function jsonSchemaTool<Input = Record<string, unknown>>(definition: {
  name: string;
  description: string;
  /** A JSON Schema of `type: "object"`; its `$schema` picks the draft (2020-12 without one). */
  inputSchema: JsonSchemaObject;
  timeoutMs?: number;
  execute(input: Input, context: ToolContext): unknown;
}): Tool<Input> {
  const { inputSchema, ...rest } = definition;
  const input = jsonSchema<Input>(inputSchema);
  // Providers take the schema without `$schema` (zod-derived schemas drop it too).
  const { $schema: _, ...sent } = inputSchema;
  return { ...rest, input, jsonSchema: sent };
}
