import { InvalidOptionError, OutputValidationError } from '../errors';
import { describeIssues } from '../internal/describe-issues';
import { describeThrown } from '../internal/describe-thrown';
import { textOf, toolCallsOf } from '../model/messages';
import type { Model, ResponseFormat } from '../model/model';
import { AGENT_DEFAULTS } from './defaults';
import type { AgentEvent } from './events';
import type { RunState } from './run-state';
import type { StandardSchemaV1 } from './standard-schema';
import type { Tool } from './tool';

/** Name of the tool a model without native structured output gives its answer through. */
export const FINAL_ANSWER_TOOL = 'final_answer';

/**
 * How a run asks for its structured answer:
 * - `native`: the provider's own structured output (`request.responseFormat`); the answer is the
 *   final message's text, parsed as JSON.
 * - `tool`: a `final_answer` tool whose input schema is the output schema; the answer is its input.
 * - `auto`: `native` when the model says it supports it (`supportsResponseFormat`), else `tool`.
 */
export type OutputMode = 'auto' | 'native' | 'tool';

/** The output settings of a run, resolved once per invocation. */
export interface OutputPlan {
  schema: StandardSchemaV1;
  /** JSON Schema of the answer (input side of the schema), without `$schema`. */
  jsonSchema: Record<string, unknown>;
  mode: 'native' | 'tool';
  maxRetries: number;
}

/** What a run with an output schema does next, when the answer decides it. */
export type OutputStep =
  | { type: 'check-output' }
  | { type: 'finish'; status: 'completed' }
  | { type: 'finish'; status: 'failed'; error: OutputValidationError };

interface OutputSettings {
  output?: StandardSchemaV1 | undefined;
  outputMode?: OutputMode | undefined;
  maxOutputRetries?: number | undefined;
  model: Model;
}

/** Resolves the output settings; throws {@link InvalidOptionError} for a schema that cannot work. */
export function planOutput(options: OutputSettings): OutputPlan | undefined {
  const schema = options.output;
  if (schema === undefined) return undefined;
  const mode = options.outputMode ?? 'auto';
  if (mode === 'native' && options.model.supportsResponseFormat !== true) {
    throw new InvalidOptionError(
      `outputMode is 'native' but model "${options.model.modelId}" (${options.model.provider}) does not support a response format; use 'auto' or 'tool'`,
    );
  }
  return {
    schema,
    jsonSchema: outputJsonSchema(schema),
    mode: mode === 'auto' ? (options.model.supportsResponseFormat ? 'native' : 'tool') : mode,
    maxRetries: options.maxOutputRetries ?? AGENT_DEFAULTS.maxOutputRetries,
  };
}

/** The JSON Schema of the answer, through Standard JSON Schema (zod 4 implements it). */
function outputJsonSchema(schema: StandardSchemaV1): Record<string, unknown> {
  const standard = schema['~standard'] as StandardSchemaV1['~standard'] & {
    jsonSchema?: { input?: (options: { target: string }) => Record<string, unknown> };
  };
  const convert = standard.jsonSchema?.input;
  if (typeof convert !== 'function') {
    throw new InvalidOptionError(
      `output: cannot derive a JSON Schema from a ${standard.vendor} schema; use a zod 4 schema (or another that implements Standard JSON Schema)`,
    );
  }
  let json: Record<string, unknown>;
  try {
    json = convert({ target: 'draft-2020-12' });
  } catch (cause) {
    throw new InvalidOptionError(
      `output: the schema cannot be expressed as JSON Schema (${describeThrown(cause)})`,
    );
  }
  const { $schema: _, ...rest } = json;
  if (rest.type !== 'object') {
    throw new InvalidOptionError(
      `output must be an object schema (z.object({...})), got JSON Schema type ${JSON.stringify(rest.type)}; wrap a list or a value in an object`,
    );
  }
  return rest;
}

/** The request field of a native plan. */
export function responseFormatOf(plan: OutputPlan): ResponseFormat {
  const description = plan.jsonSchema.description;
  return {
    type: 'json',
    schema: plan.jsonSchema,
    name: FINAL_ANSWER_TOOL,
    ...(typeof description === 'string' ? { description } : {}),
  };
}

/** The `final_answer` tool of a tool plan; `accept` records a valid answer in the state. */
export function finalAnswerTool(plan: OutputPlan, accept: (value: unknown) => void): Tool {
  return {
    name: FINAL_ANSWER_TOOL,
    description:
      'Give your final answer. Call this once you have everything you need; its input is the answer.',
    input: plan.schema,
    jsonSchema: plan.jsonSchema,
    execute(input) {
      accept(input);
      return 'Answer accepted.';
    },
  };
}

/**
 * The step the answer decides, from the state alone (so a resumed run decides the same): done
 * once a valid answer is recorded and no tool call is pending, failed once more answers were
 * refused than allowed, a check when the model answered without tool calls.
 */
export function outputStep(state: RunState, plan: OutputPlan): OutputStep | undefined {
  const last = state.messages.at(-1);
  const pendingCalls = last?.role === 'assistant' && toolCallsOf(last).length > 0;
  if (state.output?.value !== undefined && !pendingCalls && last?.role !== 'user') {
    return { type: 'finish', status: 'completed' };
  }
  if (state.output && state.output.refused > plan.maxRetries) {
    return { type: 'finish', status: 'failed', error: outputError(state, 'maxOutputRetries') };
  }
  if (last?.role === 'assistant' && !pendingCalls && state.output?.value === undefined) {
    return { type: 'check-output' };
  }
  return undefined;
}

/** The error of a run that ended without a valid answer: `endedBy` is the limit or status that ended it. */
export function outputError(state: RunState, endedBy: string): OutputValidationError {
  const refused = state.output?.refused ?? 0;
  const issues = state.output?.lastError ?? 'no answer was given';
  const why =
    endedBy === 'maxOutputRetries'
      ? `${refused} answer(s) failed validation, more than maxOutputRetries allows`
      : `the run ended (${endedBy}) before the model gave a valid answer`;
  return new OutputValidationError(`output: ${why}; the last one: ${issues}`, issues, refused);
}

type Verdict = { ok: true; value: unknown } | { ok: false; message: string };

/** Parses an answer's text as JSON (a surrounding Markdown code fence is tolerated) and validates it. */
export async function judgeText(text: string, schema: StandardSchemaV1): Promise<Verdict> {
  const body = text
    .trim()
    .replace(/^```(?:json)?\s*\n([\s\S]*?)\n?```$/, '$1')
    .trim();
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (error) {
    const shown = body.length > 200 ? `${body.slice(0, 200)}…` : body;
    return {
      ok: false,
      message: `the answer is not valid JSON (${(error as Error).message}): ${JSON.stringify(shown)}`,
    };
  }
  const result = await schema['~standard'].validate(json);
  if (result.issues) {
    return {
      ok: false,
      message: `the answer does not match the schema: ${describeIssues(result.issues)}`,
    };
  }
  return { ok: true, value: result.value };
}

/** Records a refused answer in the state and announces it. */
export function refuse(
  state: RunState,
  message: string,
  turn: number,
  emit: (event: AgentEvent) => void,
): void {
  const refused = (state.output?.refused ?? 0) + 1;
  state.output = { ...state.output, refused, lastError: message };
  emit({ type: 'output-rejected', runId: state.runId, turn, refused, message });
}

/**
 * Checks the final message of a turn without tool calls. A valid answer is recorded; otherwise
 * the model is told what was wrong in a user message (while retries are left) and answers again.
 */
export async function checkAnswer(
  state: RunState,
  plan: OutputPlan,
  emit: (event: AgentEvent) => void,
): Promise<void> {
  const last = state.messages.at(-1);
  if (last?.role !== 'assistant') return;
  const verdict = await judgeText(textOf(last), plan.schema);
  if (verdict.ok) {
    state.output = { ...state.output, refused: state.output?.refused ?? 0, value: verdict.value };
    return;
  }
  refuse(state, verdict.message, state.turns.length, emit);
  if ((state.output?.refused ?? 0) > plan.maxRetries) return;
  const how =
    plan.mode === 'tool'
      ? `Call the ${FINAL_ANSWER_TOOL} tool with your answer as its input.`
      : 'Answer again with only the JSON object that matches the required schema.';
  state.messages = [
    ...state.messages,
    { role: 'user', content: `Your answer was not accepted: ${verdict.message}. ${how}` },
  ];
}
