import {
  AGENT_DEFAULTS,
  type AnyTool,
  InvalidOptionError,
  type ToolFailureReason,
  type ToolResultPart,
} from 'loopwork';
import { describeIssues, describeThrown, toolOutputText } from 'loopwork/adapter-kit';
import type { ClaudeAgentSdk } from './peers';

/** What the tools of one run need from it. */
export interface ToolRunContext {
  runId: string;
  /** The turn of the model call that asked (the latest). */
  turn(): number;
  signal: AbortSignal;
  toolTimeoutMs?: number;
  /** Results already checkpointed, by tool call id: returned again instead of running twice. */
  done(toolCallId: string): ToolResultPart | undefined;
  /** Told of each result as soon as the tool ends (before Claude Code records it). */
  onResult(result: ToolResultPart, reason?: ToolFailureReason): void;
}

/** The MCP name Claude Code gives a tool of the server `server`. */
export const mcpToolName = (server: string, tool: string) => `mcp__${server}__${tool}`;

/** A zod object's raw shape, which the Agent SDK's `tool()` takes. */
function shapeOf(tool: AnyTool): Record<string, never> {
  const shape = (tool.input as { shape?: unknown }).shape;
  if (typeof shape !== 'object' || shape === null) {
    throw new InvalidOptionError(
      `[loopwork:claude-agent-sdk] tools: "${tool.name}" needs a zod object input (z.object({...})): the Agent SDK's in-process MCP tools take a zod shape`,
    );
  }
  return shape as Record<string, never>;
}

/** Runs one loopwork tool call: validated input, timeout, the run's signal. */
async function execute(
  tool: AnyTool,
  args: unknown,
  toolCallId: string,
  context: ToolRunContext,
): Promise<{ output: string; isError: boolean; reason?: ToolFailureReason }> {
  const validated = await tool.input['~standard'].validate(args);
  if (validated.issues) {
    return {
      output: `Invalid input for tool "${tool.name}": ${describeIssues(validated.issues)}. Fix the input and call the tool again.`,
      isError: true,
      reason: 'invalid_input',
    };
  }
  const timeoutMs = tool.timeoutMs ?? context.toolTimeoutMs ?? AGENT_DEFAULTS.toolTimeoutMs;
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = AbortSignal.any([context.signal, timeout]);
  try {
    const output = await new Promise<unknown>((resolve, reject) => {
      // A tool that ignores its signal still ends here when the signal fires.
      signal.addEventListener('abort', () => reject(signal.reason), { once: true });
      Promise.resolve()
        .then(() =>
          tool.execute(validated.value, {
            runId: context.runId,
            toolCallId,
            idempotencyKey: `${context.runId}:${toolCallId}`,
            turn: context.turn(),
            signal,
            suspend: () => {
              throw new InvalidOptionError(
                `[loopwork:claude-agent-sdk] tool "${tool.name}" called suspend(): the Claude Agent SDK runtime cannot pause a run for answers`,
              );
            },
          }),
        )
        .then(resolve, reject);
    });
    return { output: toolOutputText(output), isError: false };
  } catch (error) {
    if (context.signal.aborted) throw error;
    if (timeout.aborted)
      return {
        output: `Tool "${tool.name}" timed out after ${timeoutMs} ms and was stopped.`,
        isError: true,
        reason: 'timeout',
      };
    return {
      output: `Tool "${tool.name}" failed: ${describeThrown(error)}`,
      isError: true,
      reason: 'threw',
    };
  }
}

/**
 * loopwork tools as an in-process MCP server for `query({ options: { mcpServers } })`. Each call
 * gets its idempotency key from the run id and Claude's tool call id; a call whose result is
 * already checkpointed returns that result without running again.
 */
export function toSdkMcpServer(
  sdk: ClaudeAgentSdk,
  serverName: string,
  tools: readonly AnyTool[],
  context: ToolRunContext,
) {
  const definitions = tools.map((loopworkTool) =>
    sdk.tool(
      loopworkTool.name,
      loopworkTool.description,
      shapeOf(loopworkTool),
      async (args, extra) => {
        const meta = (extra as { _meta?: Record<string, unknown> } | undefined)?._meta;
        const toolCallId =
          typeof meta?.['claudecode/toolUseId'] === 'string'
            ? (meta['claudecode/toolUseId'] as string)
            : `${loopworkTool.name}-${Date.now()}`;
        const earlier = context.done(toolCallId);
        const result = earlier ?? {
          type: 'tool-result' as const,
          toolCallId,
          toolName: loopworkTool.name,
          ...(await execute(loopworkTool, args, toolCallId, context)),
        };
        if (!earlier) {
          const { reason, ...part } = result as ToolResultPart & { reason?: ToolFailureReason };
          context.onResult(part, reason);
        }
        return {
          content: [{ type: 'text' as const, text: result.output }],
          isError: result.isError,
        };
      },
    ),
  );
  return sdk.createSdkMcpServer({ name: serverName, version: '1.0.0', tools: definitions });
}
