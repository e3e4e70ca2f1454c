import { type FlexibleSchema, jsonSchema, type Tool, type ToolSet } from 'ai';
import {
  AGENT_DEFAULTS,
  type AnyTool,
  InvalidOptionError,
  type Suspension,
  type ToolContext,
  type ToolFailureReason,
} from 'loopwork';
import { describeIssues, describeThrown, toolOutputText } from 'loopwork/adapter-kit';

/** Options of {@link aiSdkTools}. */
export interface AiSdkToolsOptions {
  /** The run the tools serve: part of each call's idempotency key (`<runId>:<toolCallId>`). */
  runId: string;
  /** Time a tool may run before it is aborted and reported to the model as timed out. @defaultValue AGENT_DEFAULTS.toolTimeoutMs */
  toolTimeoutMs?: number;
  /** The 1-based turn of the model call that asked for a tool (`ToolContext.turn`). @defaultValue 0 */
  turn?: () => number;
  /**
   * Called when a tool calls `suspend(payload)`. The model reads a placeholder result; the
   * runtime stops after the step and replaces it with the answer when the run is continued.
   * Without it, `suspend()` fails the call.
   */
  onSuspend?: (suspension: Suspension) => void;
}

/**
 * What a loopwork tool call that did not succeed throws inside the AI SDK: its message is the
 * error result the model reads, its `reason` says why in loopwork's terms.
 */
export class ToolFailure extends Error {
  constructor(
    readonly reason: ToolFailureReason,
    message: string,
  ) {
    super(message);
    this.name = 'ToolFailure';
  }
}

/** The result the model reads for a suspended call until it is answered. */
export const SUSPENDED_OUTPUT = '[loopwork] waiting for an answer';

class Suspend {
  constructor(readonly payload: unknown) {}
}

/**
 * The input schema the AI SDK validates with and shows the model: zod schemas (3 or 4) as they
 * are (the AI SDK converts them), else the tool's own `jsonSchema` validated by its schema.
 */
function schemaOf(tool: AnyTool): FlexibleSchema<unknown> {
  const standard = tool.input['~standard'];
  if (tool.jsonSchema) {
    return jsonSchema(tool.jsonSchema as never, {
      validate: async (value) => {
        const result = await standard.validate(value);
        return result.issues
          ? { success: false, error: new Error(describeIssues(result.issues)) }
          : { success: true, value: result.value };
      },
    });
  }
  if (standard.vendor === 'zod' || 'jsonSchema' in standard)
    return tool.input as unknown as FlexibleSchema<unknown>;
  throw new InvalidOptionError(
    `[loopwork:ai-sdk] tool "${tool.name}": cannot derive a JSON Schema from a ${standard.vendor} schema; pass jsonSchema`,
  );
}

/** Runs `execute` until it settles, the call times out, or the run is aborted. */
async function withTimeout(
  tool: AnyTool,
  timeoutMs: number,
  signal: AbortSignal | undefined,
  execute: (signal: AbortSignal) => Promise<unknown>,
): Promise<unknown> {
  const controller = new AbortController();
  const onAbort = () => controller.abort(signal?.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  let timer: NodeJS.Timeout | undefined;
  const stopped = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      // Rejected before the abort below, so the call reads as timed out, not aborted.
      reject(
        new ToolFailure(
          'timeout',
          `Tool "${tool.name}" timed out after ${timeoutMs} ms and was stopped.`,
        ),
      );
      controller.abort(new Error(`tool "${tool.name}" timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    // A tool that ignores its signal must not hold the run once it is aborted.
    controller.signal.addEventListener('abort', () => reject(controller.signal.reason), {
      once: true,
    });
  });
  try {
    return await Promise.race([execute(controller.signal), stopped]);
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
}

function toAiSdkTool(tool: AnyTool, options: AiSdkToolsOptions): Tool {
  const timeoutMs = tool.timeoutMs ?? options.toolTimeoutMs ?? AGENT_DEFAULTS.toolTimeoutMs;
  return {
    description: tool.description,
    inputSchema: schemaOf(tool),
    async execute(input: unknown, { toolCallId, abortSignal }) {
      const context = (signal: AbortSignal): ToolContext => ({
        runId: options.runId,
        toolCallId,
        idempotencyKey: `${options.runId}:${toolCallId}`,
        turn: options.turn?.() ?? 0,
        signal,
        suspend(payload?: unknown): never {
          throw new Suspend(payload);
        },
      });
      try {
        const output = await withTimeout(tool, timeoutMs, abortSignal, async (signal) =>
          tool.execute(input, context(signal)),
        );
        return toolOutputText(output);
      } catch (error) {
        if (abortSignal?.aborted || error instanceof ToolFailure) throw error;
        if (error instanceof Suspend) {
          if (!options.onSuspend)
            throw new ToolFailure('threw', `Tool "${tool.name}" cannot suspend here.`);
          options.onSuspend({ toolCallId, toolName: tool.name, payload: error.payload });
          return SUSPENDED_OUTPUT;
        }
        throw new ToolFailure('threw', `Tool "${tool.name}" failed: ${describeThrown(error)}`);
      }
    },
  };
}

/**
 * loopwork tools (`defineTool`) as an AI SDK `ToolSet`, for `ToolLoopAgent`, `generateText` or
 * `streamText`. Each call is validated by the tool's schema (by the AI SDK), runs with the
 * tool's timeout, the call's abort signal and the idempotency key `<runId>:<toolCallId>`; its
 * output goes to the model as text (JSON for anything but a string); a failure goes back as a
 * tool error whose message the model reads.
 *
 * @example
 * ```ts
 * const tools = aiSdkTools([getWeather], { runId: 'run-1' });
 * const { text } = await generateText({ model, tools, prompt: 'Weather in Paris?', stopWhen: stepCountIs(5) });
 * ```
 */
export function aiSdkTools(tools: readonly AnyTool[], options: AiSdkToolsOptions): ToolSet {
  const set: ToolSet = {};
  for (const tool of tools) {
    if (Object.hasOwn(set, tool.name))
      throw new InvalidOptionError(`[loopwork:ai-sdk] tools: two tools are named "${tool.name}"`);
    set[tool.name] = toAiSdkTool(tool, options);
  }
  return set;
}
