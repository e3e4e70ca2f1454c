import {
  AGENT_DEFAULTS,
  type AnyTool,
  InvalidOptionError,
  type ToolContext,
  type ToolFailureReason,
} from 'loopwork';
import { describeIssues, toolOutputText } from 'loopwork/adapter-kit';
import { z } from 'zod';

/** How a loopwork tool call asked for by the agent ended. */
export type ToolOutcome =
  | { ok: true; output: string }
  | { ok: false; reason: ToolFailureReason; message: string };

/** The JSON Schema the agent is shown for a tool (its own, or its zod 4 schema's). */
export function toolSpec(tool: AnyTool): {
  name: string;
  description: string;
  inputSchema: unknown;
} {
  let inputSchema: unknown = tool.jsonSchema;
  if (!inputSchema) {
    const schema = tool.input as unknown as Record<string, unknown>;
    if (!('_zod' in schema)) {
      throw new InvalidOptionError(
        `[loopwork:process] tools: cannot derive a JSON Schema for tool "${tool.name}" from a ${tool.input['~standard'].vendor} schema; pass jsonSchema`,
      );
    }
    const { $schema: _, ...json } = z.toJSONSchema(schema as unknown as z.ZodType, { io: 'input' });
    inputSchema = json;
  }
  return { name: tool.name, description: tool.description, inputSchema };
}

/**
 * Runs a loopwork tool the agent asked for: the input validated, a timeout, thrown errors and an
 * unknown name turned into error results for the agent, the idempotency key `<runId>:<id>`.
 */
export async function runTool(
  tools: readonly AnyTool[],
  call: { runId: string; id: string; name: string; input: unknown; turn: number },
  signal: AbortSignal,
  toolTimeoutMs: number = AGENT_DEFAULTS.toolTimeoutMs,
): Promise<ToolOutcome> {
  const tool = tools.find((candidate) => candidate.name === call.name);
  if (!tool) {
    const names = tools.map((candidate) => candidate.name).join(', ') || 'none';
    return {
      ok: false,
      reason: 'unknown_tool',
      message: `Unknown tool "${call.name}"; the tools are: ${names}.`,
    };
  }
  const validated = await tool.input['~standard'].validate(call.input);
  if (validated.issues) {
    return {
      ok: false,
      reason: 'invalid_input',
      message: `Invalid input for tool "${tool.name}": ${describeIssues(validated.issues)}. Fix the input and call the tool again.`,
    };
  }
  const timeoutMs = tool.timeoutMs ?? toolTimeoutMs;
  const controller = new AbortController();
  const onAbort = () => controller.abort(signal.reason);
  signal.addEventListener('abort', onAbort, { once: true });
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<ToolOutcome>((resolve) => {
    timer = setTimeout(() => {
      controller.abort(new Error(`tool "${tool.name}" timed out after ${timeoutMs} ms`));
      resolve({
        ok: false,
        reason: 'timeout',
        message: `Tool "${tool.name}" timed out after ${timeoutMs} ms and was stopped.`,
      });
    }, timeoutMs);
  });
  const context: ToolContext = {
    runId: call.runId,
    toolCallId: call.id,
    idempotencyKey: `${call.runId}:${call.id}`,
    turn: call.turn,
    signal: controller.signal,
    suspend(): never {
      throw new Error('suspend() is not supported by process runtimes');
    },
  };
  const run = (async (): Promise<ToolOutcome> => {
    try {
      return { ok: true, output: toolOutputText(await tool.execute(validated.value, context)) };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return { ok: false, reason: 'threw', message: `Tool "${tool.name}" failed: ${message}` };
    }
  })();
  try {
    return await Promise.race([run, timedOut]);
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', onAbort);
  }
}
