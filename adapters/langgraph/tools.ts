import type { RunnableConfig } from '@langchain/core/runnables';
import type { StructuredToolInterface } from '@langchain/core/tools';
import {
  AGENT_DEFAULTS,
  type AnyTool,
  InvalidOptionError,
  type ToolContext,
  type ToolFailureReason,
} from 'loopwork';
import { describeIssues, describeThrown, toolOutputText } from 'loopwork/adapter-kit';
import { z } from 'zod';
import { EVENT, LOOPWORK_TOOL_TAG } from './event-names';
import { loadPeers, type Peers } from './peers';

/** Options of {@link langChainTools}. */
export interface LangChainToolsOptions {
  /** The run the tools serve: part of each call's idempotency key (`<runId>:<toolCallId>`). */
  runId: string;
  /** Time a tool may run before it is aborted and reported to the model as timed out. @defaultValue AGENT_DEFAULTS.toolTimeoutMs */
  toolTimeoutMs?: number;
  /** The 1-based turn of the model call that asked for a tool (`ToolContext.turn`). @defaultValue 0 */
  turn?: () => number;
}

/** Payload of the custom events a loopwork tool sends (`EVENT.tool*`). */
export interface ToolEventData {
  toolCallId: string;
  toolName: string;
  /** The model's input (started). */
  input?: unknown;
  /** What the model reads (finished). */
  output?: string;
  /** Why it failed (failed). */
  reason?: ToolFailureReason;
  /** The error result the model reads (failed). */
  message?: string;
  /** Time the call took (finished, failed). */
  durationMs?: number;
}

/** Marks an interrupt raised by a loopwork tool's `suspend()`. */
export interface SuspendValue {
  /** The marker. */
  loopwork: 'suspend';
  /** The suspended call; `answers` are keyed by it. */
  toolCallId: string;
  toolName: string;
  /** What the tool passed to `suspend()`. */
  payload: unknown;
}

/** Is `value` the interrupt value of a loopwork tool's `suspend()`? */
export const isSuspendValue = (value: unknown): value is SuspendValue =>
  (value as SuspendValue | null)?.loopwork === 'suspend';

/** `suspend()` returned (the run was resumed with an answer): the answer is the tool's output. */
class Answered {
  constructor(readonly answer: unknown) {}
}

class Failure {
  constructor(
    readonly reason: ToolFailureReason,
    readonly message: string,
  ) {}
}

/**
 * The schema LangChain shows the model: the tool's own JSON Schema, a zod 4 schema's JSON
 * Schema (what loopwork's loop sends), or a zod 3 schema as is (LangChain converts those).
 */
function schemaOf(tool: AnyTool): Record<string, unknown> {
  if (tool.jsonSchema) return tool.jsonSchema;
  const schema = tool.input as unknown as Record<string, unknown>;
  if ('_zod' in schema) {
    const { $schema: _, ...json } = z.toJSONSchema(schema as unknown as z.ZodType, {
      io: 'input',
    });
    return json;
  }
  if ('_def' in schema) return schema;
  throw new InvalidOptionError(
    `[loopwork:langgraph] tool "${tool.name}": cannot derive a JSON Schema from a ${tool.input['~standard'].vendor} schema; pass jsonSchema`,
  );
}

/** Builds the LangChain tool of one loopwork tool. */
function toLangChain(peers: Peers, tool: AnyTool, options: LangChainToolsOptions) {
  const { ToolMessage } = peers.messages;
  const { interrupt, isGraphBubbleUp } = peers.langgraph;
  const { dispatchCustomEvent } = peers.dispatch;
  const timeoutMs = tool.timeoutMs ?? options.toolTimeoutMs ?? AGENT_DEFAULTS.toolTimeoutMs;

  const execute = async (
    input: unknown,
    toolCallId: string,
    signal: AbortSignal | undefined,
  ): Promise<string | Failure> => {
    const validated = await tool.input['~standard'].validate(input);
    if (validated.issues) {
      return new Failure(
        'invalid_input',
        `Invalid input for tool "${tool.name}": ${describeIssues(validated.issues)}. Fix the input and call the tool again.`,
      );
    }
    const controller = new AbortController();
    const onAbort = () => controller.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<Failure>((resolve) => {
      timer = setTimeout(() => {
        controller.abort(new Error(`tool "${tool.name}" timed out after ${timeoutMs} ms`));
        resolve(
          new Failure(
            'timeout',
            `Tool "${tool.name}" timed out after ${timeoutMs} ms and was stopped.`,
          ),
        );
      }, timeoutMs);
    });
    const context: ToolContext = {
      runId: options.runId,
      toolCallId,
      idempotencyKey: `${options.runId}:${toolCallId}`,
      turn: options.turn?.() ?? 0,
      signal: controller.signal,
      suspend(payload?: unknown): never {
        const value: SuspendValue = {
          loopwork: 'suspend',
          toolCallId,
          toolName: tool.name,
          payload,
        };
        // Throws LangGraph's interrupt the first time; once resumed, returns the answer.
        throw new Answered(interrupt(value));
      },
    };
    const run = (async (): Promise<string | Failure> => {
      try {
        return toolOutputText(await tool.execute(validated.value, context));
      } catch (error) {
        if (error instanceof Answered) return toolOutputText(error.answer);
        if (isGraphBubbleUp(error)) throw error;
        return new Failure('threw', `Tool "${tool.name}" failed: ${describeThrown(error)}`);
      }
    })();
    try {
      return await Promise.race([run, timedOut]);
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
  };

  return peers.tools.tool(
    async (input: unknown, config: RunnableConfig & { toolCall?: { id?: string } }) => {
      const toolCallId = config.toolCall?.id ?? '';
      const base = { toolCallId, toolName: tool.name };
      const started = performance.now();
      await dispatchCustomEvent(
        EVENT.toolStarted,
        { ...base, input } satisfies ToolEventData,
        config,
      );
      const outcome = await execute(input, toolCallId, config.signal);
      const durationMs = performance.now() - started;
      if (outcome instanceof Failure) {
        const data: ToolEventData = {
          ...base,
          reason: outcome.reason,
          message: outcome.message,
          durationMs,
        };
        await dispatchCustomEvent(EVENT.toolFailed, data, config);
        if (!toolCallId) return outcome.message;
        return new ToolMessage({
          status: 'error',
          content: outcome.message,
          tool_call_id: toolCallId,
          name: tool.name,
        });
      }
      await dispatchCustomEvent(
        EVENT.toolFinished,
        { ...base, output: outcome, durationMs } satisfies ToolEventData,
        config,
      );
      return outcome;
    },
    {
      name: tool.name,
      description: tool.description,
      schema: schemaOf(tool) as never,
      tags: [LOOPWORK_TOOL_TAG],
      verboseParsingErrors: true,
    },
  ) as unknown as StructuredToolInterface;
}

/** Builds the LangChain tools of loopwork tools, with the peers already loaded. */
export function toLangChainTools(
  peers: Peers,
  tools: readonly AnyTool[],
  options: LangChainToolsOptions,
): StructuredToolInterface[] {
  const names = new Set<string>();
  for (const tool of tools) {
    if (names.has(tool.name))
      throw new InvalidOptionError(
        `[loopwork:langgraph] tools: two tools are named "${tool.name}"`,
      );
    names.add(tool.name);
  }
  return tools.map((tool) => toLangChain(peers, tool, options));
}

/**
 * loopwork tools (`defineTool`) as LangChain tools for a LangGraph graph (a `ToolNode`, a
 * prebuilt agent). Each call validates its input with the tool's schema, runs with the tool's
 * timeout, the run's signal and the idempotency key `<runId>:<toolCallId>`; a failure goes back
 * to the model as an error `ToolMessage`. `suspend(payload)` becomes LangGraph's `interrupt`:
 * the graph stops, and once resumed with an answer that answer is the tool's output (LangGraph
 * runs the tool again from its start to get there).
 *
 * @example
 * ```ts
 * const tools = await langChainTools([getWeather], { runId: 'run-1' });
 * const agent = createReactAgent({ llm: model, tools });
 * ```
 */
export async function langChainTools(
  tools: readonly AnyTool[],
  options: LangChainToolsOptions,
): Promise<StructuredToolInterface[]> {
  return toLangChainTools(await loadPeers(), tools, options);
}
