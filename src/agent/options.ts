import { InvalidOptionError } from '../errors';
import { assertInstrumentation } from '../instrumentation/assert-instrumentation';
import type { Instrumentation } from '../instrumentation/instrumentation';
import type { ImagePart, TextPart } from '../model/messages';
import type { Model, ModelRequest } from '../model/model';
import type { PriceTable } from '../model/pricing';
import type { RedactOptions, Redactor } from '../secrets/redact';
import type { BlobStore } from '../store/blob-store';
import type { SessionStore } from '../store/session-store';
import type { AgentEvent } from './events';
import type { AgentHooks } from './hooks';
import type { Budgets } from './limits';
import { FINAL_ANSWER_TOOL, type OutputMode } from './output';
import type { RunState } from './run-state';
import type { StandardSchemaV1 } from './standard-schema';
import type { AnyTool } from './tool';

/**
 * Options of {@link runAgent} and {@link streamAgent}. Defaults are in `AGENT_DEFAULTS`.
 * `Output` is the type of the validated answer when `output` is given.
 */
export interface AgentOptions<Output = unknown> extends Budgets {
  /** The model adapter to call. */
  model: Model;
  /**
   * The first user message of a new run. When the run continues from `checkpoints`, it is
   * ignored (the run already has it), so a crashed run restarted with the very same options
   * continues instead of starting over.
   */
  prompt?: string | Array<TextPart | ImagePart>;
  /** A further user message appended to a continued run whose last turn is complete (multi-turn sessions). */
  followUp?: string | Array<TextPart | ImagePart>;
  /** System prompt (kept in the run state, so a resumed run reuses it unless given again). */
  system?: string;
  /** Tools the model may call. Names must be unique. */
  tools?: readonly AnyTool[];
  /**
   * Schema of the run's final answer (a zod 4 object schema). The answer is asked for through
   * the provider's structured output or a `final_answer` tool (see `outputMode`), validated, and
   * returned typed as `result.output`; an answer that fails is sent back to the model to correct,
   * within the run's limits and `maxOutputRetries`.
   */
  output?: StandardSchemaV1<unknown, Output>;
  /**
   * How the answer is asked for: `native` (the provider's structured output), `tool` (a
   * `final_answer` tool), or `auto`: native when the model supports it.
   * @defaultValue 'auto'
   */
  outputMode?: OutputMode;
  /** Refused answers allowed before the run fails with an `OutputValidationError`. @defaultValue 3 */
  maxOutputRetries?: number;
  /** Identifies the run in events, idempotency keys and the checkpoint store. Defaults to a UUID. */
  runId?: string;
  /** A state to continue from (from a result, or loaded from your own storage). */
  state?: RunState;
  /**
   * Where the run is checkpointed after every step, under `runId`. When no `state` is given and
   * the store holds one for `runId`, the run continues from it: a crashed run re-started with
   * the same options picks up where it stopped.
   */
  checkpoints?: SessionStore;
  /** Answers to suspended tool calls, by tool call id; each becomes that call's result. */
  answers?: Record<string, unknown>;
  /** Model calls allowed over the whole run, resumes included. */
  maxTurns?: number;
  /** Wall-clock limit of this invocation; the run ends with status `timeout`. */
  maxDurationMs?: number;
  /** Aborts the run (status `aborted`); running tools see it on their own signal. */
  signal?: AbortSignal;
  /** Upper bound on output tokens of each model call before budgets clamp it. */
  maxTokensPerCall?: number;
  /** Smallest output room worth a call; less than this ends the run with `budget_exceeded`. */
  minTokensPerCall?: number;
  /** Extra or overriding prices, merged over the built-in table. */
  prices?: PriceTable;
  /** Tool calls of one turn that run at once. */
  toolConcurrency?: number;
  /** Default per-tool timeout (a tool's own `timeoutMs` wins). */
  toolTimeoutMs?: number;
  /**
   * Largest tool output the model sees, in UTF-8 bytes: a longer one is cut there, with a marker
   * the model reads (how much was cut, and where the full output is).
   */
  maxToolResultBytes?: number;
  /**
   * Keeps the full output of every tool result cut by `maxToolResultBytes`, under
   * `runs/<runId>/tool-results/<toolCallId>.txt` (both URI-encoded). Under a worker, give it in
   * `agentTask`'s agent settings (the worker's own `blobs` keeps large run outputs).
   */
  blobs?: BlobStore;
  /** Retry policy for retryable model errors. */
  retry?: { maxRetries?: number; minDelayMs?: number; maxDelayMs?: number };
  /** Hooks around model and tool calls. */
  hooks?: AgentHooks;
  /** Replaces the built-in prompt-token estimate used for budget checks. */
  estimateInputTokens?: (request: ModelRequest) => number;
  /** Stop sequences for every model call. */
  stopSequences?: string[];
  /** Passed untouched to the model adapter. */
  providerOptions?: Record<string, unknown>;
  /** Fraction of a budget at which `budget-warning` is emitted. */
  budgetWarningAt?: number;
  /** Called with every event, in order. */
  onEvent?: (event: AgentEvent) => void;
  /**
   * Secrets hidden from events and error messages: the built-in key formats and key variables
   * of `process.env` by default, plus your own; `false` turns it off.
   */
  redact?: RedactOptions | Redactor | false;
  /**
   * Wrappers around the run, each model call and each tool call, for tracing and metrics
   * (`otelInstrumentation()` from `loopwork/otel`). @defaultValue none: nothing is wrapped
   */
  instrumentation?: Instrumentation;
}

function fail(option: string, rule: string, value: unknown): never {
  throw new InvalidOptionError(`${option} must be ${rule}, got ${describe(value)}`);
}

function describe(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (typeof value === 'string') return JSON.stringify(value);
  return value === null ? 'null' : typeof value;
}

function positiveInteger(option: string, value: unknown): void {
  if (value !== undefined && !(Number.isInteger(value) && (value as number) > 0)) {
    fail(option, 'a positive integer', value);
  }
}

function positiveNumber(option: string, value: unknown): void {
  if (value !== undefined && !(typeof value === 'number' && Number.isFinite(value) && value > 0)) {
    fail(option, 'a positive finite number', value);
  }
}

function nonNegativeInteger(option: string, value: unknown): void {
  if (value !== undefined && !(Number.isInteger(value) && (value as number) >= 0)) {
    fail(option, 'a non-negative integer', value);
  }
}

/** Throws {@link InvalidOptionError} naming the first option that cannot work. */
export function validateAgentOptions(options: AgentOptions): void {
  if (typeof options !== 'object' || options === null) fail('options', 'an object', options);
  const model = options.model as Partial<Model> | undefined;
  if (
    !model ||
    typeof model.generate !== 'function' ||
    model.specificationVersion !== 'loopwork.model.v1'
  ) {
    fail('model', 'a loopwork model adapter (specificationVersion "loopwork.model.v1")', model);
  }
  for (const key of ['maxTurns', 'maxInputTokens', 'maxOutputTokens', 'maxTotalTokens'] as const) {
    positiveInteger(key, options[key]);
  }
  for (const key of [
    'maxTokensPerCall',
    'minTokensPerCall',
    'toolConcurrency',
    'toolTimeoutMs',
    'maxToolResultBytes',
  ] as const) {
    positiveInteger(key, options[key]);
  }
  if (options.blobs !== undefined && typeof options.blobs?.put !== 'function') {
    fail('blobs', 'a BlobStore (an object with put, get, delete and list)', options.blobs);
  }
  assertInstrumentation(options.instrumentation);
  positiveNumber('maxCostUsd', options.maxCostUsd);
  positiveNumber('maxDurationMs', options.maxDurationMs);
  nonNegativeInteger('retry.maxRetries', options.retry?.maxRetries);
  nonNegativeInteger('maxOutputRetries', options.maxOutputRetries);
  validateOutput(options);
  nonNegativeInteger('retry.minDelayMs', options.retry?.minDelayMs);
  nonNegativeInteger('retry.maxDelayMs', options.retry?.maxDelayMs);
  const threshold = options.budgetWarningAt;
  if (
    threshold !== undefined &&
    !(typeof threshold === 'number' && threshold > 0 && threshold <= 1)
  ) {
    fail('budgetWarningAt', 'a number in (0, 1]', threshold);
  }
  if (
    options.runId !== undefined &&
    (typeof options.runId !== 'string' || options.runId.length === 0)
  ) {
    fail('runId', 'a non-empty string', options.runId);
  }
  if (
    options.prompt === undefined &&
    options.state === undefined &&
    options.checkpoints === undefined
  ) {
    throw new InvalidOptionError(
      'prompt is required to start a run (or pass state / checkpoints to continue one)',
    );
  }
  for (const key of ['prompt', 'followUp'] as const) {
    const value = options[key];
    if (value !== undefined && typeof value !== 'string' && !Array.isArray(value)) {
      fail(key, 'a string or an array of text and image parts', value);
    }
  }
  if (options.prompt !== undefined && options.state !== undefined) {
    throw new InvalidOptionError(
      'prompt starts a new run, but state continues one; pass the new message as followUp',
    );
  }
  const names = new Set<string>();
  for (const tool of options.tools ?? []) {
    if (names.has(tool.name)) {
      throw new InvalidOptionError(
        `tools: two tools are named "${tool.name}"; tool names must be unique`,
      );
    }
    names.add(tool.name);
  }
}

function validateOutput(options: AgentOptions): void {
  const mode = options.outputMode;
  if (mode !== undefined && mode !== 'auto' && mode !== 'native' && mode !== 'tool') {
    fail('outputMode', "'auto', 'native' or 'tool'", mode);
  }
  if (options.output === undefined) return;
  if (typeof options.output?.['~standard']?.validate !== 'function') {
    fail('output', 'a schema (a zod object schema such as z.object({...}))', options.output);
  }
  if (options.tools?.some((tool) => tool.name === FINAL_ANSWER_TOOL)) {
    throw new InvalidOptionError(
      `tools: a tool is named "${FINAL_ANSWER_TOOL}", which a run with output reserves for its answer; rename it`,
    );
  }
}
