import type { FunctionTool, RunContext } from '@openai/agents';
import {
  AGENT_DEFAULTS,
  type AnyTool,
  InvalidOptionError,
  type ToolContext,
  type ToolFailureReason,
} from 'loopwork';
import { describeIssues, describeThrown, toolOutputText } from 'loopwork/adapter-kit';
import { z } from 'zod';
import { loadPeers, type Peers } from './peers';

/** Decides whether a call of a tool waits for a person's approval first. */
export type NeedsApproval =
  | readonly string[]
  | ((toolName: string, input: unknown) => boolean | Promise<boolean>);

/** Options of {@link agentsTools}. */
export interface AgentsToolsOptions {
  /** The run the tools serve: part of each call's idempotency key (`<runId>:<toolCallId>`). */
  runId: string;
  /** Time a tool may run before it is stopped and reported to the model as timed out. @defaultValue AGENT_DEFAULTS.toolTimeoutMs */
  toolTimeoutMs?: number;
  /** The 1-based turn of the model call that asked for a tool (`ToolContext.turn`). @defaultValue 0 */
  turn?: () => number;
  /** Tools (by name) whose calls need approval, or a function deciding per call. @defaultValue none */
  needsApproval?: NeedsApproval;
  /** Told how each call ended, by tool call id (the runtime maps it to loopwork events). */
  onOutcome?: (toolCallId: string, outcome: ToolOutcome) => void;
}

/** How a call of a loopwork tool ended. */
export type ToolOutcome =
  | { ok: true; durationMs: number }
  | { ok: false; reason: ToolFailureReason; message: string; durationMs: number };

/**
 * The JSON Schema the model sees: the tool's own, or its zod 4 schema's. Sent non-strict, so
 * optional fields keep working; the tool's own schema validates every input before it runs.
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
  throw new InvalidOptionError(
    `[loopwork:openai-agents] tool "${tool.name}": cannot derive a JSON Schema from a ${tool.input['~standard'].vendor} schema; pass jsonSchema`,
  );
}

class Failure {
  constructor(
    readonly reason: ToolFailureReason,
    readonly message: string,
  ) {}
}

/** Builds the SDK tool of one loopwork tool. */
function toAgentsTool(peers: Peers, tool: AnyTool, options: AgentsToolsOptions): FunctionTool {
  const timeoutMs = tool.timeoutMs ?? options.toolTimeoutMs ?? AGENT_DEFAULTS.toolTimeoutMs;
  const { needsApproval } = options;

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
    // The run stops waiting for a tool that ignores its signal: `aborted` rejects on abort.
    let onAbort = () => {};
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => {
        controller.abort(signal?.reason);
        reject(signal?.reason);
      };
    });
    aborted.catch(() => {});
    if (signal?.aborted) onAbort();
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
      suspend(): never {
        throw new Error(
          'suspend() is not available under the OpenAI Agents runtime; list the tool in needsApproval to have a person approve its calls',
        );
      },
    };
    const run = (async (): Promise<string | Failure> => {
      try {
        return toolOutputText(await tool.execute(validated.value, context));
      } catch (error) {
        if (signal?.aborted) throw error;
        return new Failure('threw', `Tool "${tool.name}" failed: ${describeThrown(error)}`);
      }
    })();
    try {
      return await Promise.race([run, timedOut, aborted]);
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
  };

  return peers.tool({
    name: tool.name,
    description: tool.description,
    parameters: schemaOf(tool) as never,
    strict: false,
    ...(needsApproval === undefined
      ? {}
      : {
          needsApproval: async (_context: RunContext, input: unknown) =>
            typeof needsApproval === 'function'
              ? needsApproval(tool.name, input)
              : needsApproval.includes(tool.name),
        }),
    execute: async (input: unknown, _context, details) => {
      const toolCallId = details?.toolCall?.callId ?? '';
      const started = performance.now();
      const outcome = await execute(input, toolCallId, details?.signal);
      const durationMs = performance.now() - started;
      if (outcome instanceof Failure) {
        options.onOutcome?.(toolCallId, {
          ok: false,
          reason: outcome.reason,
          message: outcome.message,
          durationMs,
        });
        return outcome.message;
      }
      options.onOutcome?.(toolCallId, { ok: true, durationMs });
      return outcome;
    },
  }) as unknown as FunctionTool;
}

/** Builds the SDK tools of loopwork tools, with the SDK already loaded. */
export function toAgentsTools(
  peers: Peers,
  tools: readonly AnyTool[],
  options: AgentsToolsOptions,
): FunctionTool[] {
  const names = new Set<string>();
  for (const tool of tools) {
    if (names.has(tool.name))
      throw new InvalidOptionError(
        `[loopwork:openai-agents] tools: two tools are named "${tool.name}"`,
      );
    names.add(tool.name);
  }
  return tools.map((tool) => toAgentsTool(peers, tool, options));
}

/**
 * loopwork tools (`defineTool`) as OpenAI Agents SDK tools (`tool()`), for an agent of your own.
 * Each call validates its input with the tool's zod schema, runs with the tool's timeout, the
 * run's signal and the idempotency key `<runId>:<toolCallId>` (the same when a resumed run makes
 * the call again, so side effects can happen once); a failure goes back to the model as the
 * tool's output. Tools listed in `needsApproval` interrupt the run for a person's approval.
 *
 * @example
 * ```ts
 * const tools = await agentsTools([getWeather], { runId: 'run-1' });
 * const agent = new Agent({ name: 'weather', instructions: 'Answer briefly.', tools });
 * ```
 */
export async function agentsTools(
  tools: readonly AnyTool[],
  options: AgentsToolsOptions,
): Promise<FunctionTool[]> {
  return toAgentsTools(await loadPeers(), tools, options);
}
