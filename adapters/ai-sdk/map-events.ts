import { NoSuchToolError, type TextStreamPart, type ToolSet } from 'ai';
import type { AgentEvent, ToolFailureReason } from 'loopwork';
import type { TurnFinish, TurnStart } from './budget-middleware';
import { ToolFailure } from './loopwork-tools';

interface StartedTool {
  toolName: string;
  started: number;
  /** Set for a call the AI SDK refused before running it (unknown tool, invalid input). */
  refused?: ToolFailureReason;
}

const outputText = (output: unknown): string =>
  typeof output === 'string' ? output : (JSON.stringify(output) ?? 'null');

/**
 * Maps the parts of `ToolLoopAgent.stream()`'s `fullStream` to loopwork `AgentEvent`s, in
 * stream order: turns (announced by the budget middleware, emitted at the step's start and
 * finish parts so they stay in order with the step's text and tools), text deltas, and tool
 * calls started, finished or failed.
 */
export class StreamEventMapper {
  /** The turn of the latest model call. */
  turn: number;
  private readonly starts: TurnStart[] = [];
  private readonly finishes: TurnFinish[] = [];
  private readonly tools = new Map<string, StartedTool>();

  constructor(
    private readonly runId: string,
    private readonly emit: (event: AgentEvent) => void,
    turnsSoFar: number,
    /** Calls that suspended: their placeholder result is not an event. */
    private readonly isSuspended: (toolCallId: string) => boolean,
  ) {
    this.turn = turnsSoFar;
  }

  /** The middleware cleared a call (a retry of the AI SDK clears another). */
  turnStarted(start: TurnStart): void {
    this.starts.push(start);
  }

  /** The middleware recorded a call's usage. */
  turnFinished(finish: TurnFinish): void {
    this.finishes.push(finish);
  }

  handle(part: TextStreamPart<ToolSet>): void {
    const { runId } = this;
    switch (part.type) {
      case 'start-step': {
        // Retried attempts were cleared too; the step is the last one's.
        const start = this.starts.splice(0).at(-1);
        if (start) {
          this.turn = start.turn;
          this.emit({ type: 'turn-started', runId, ...start });
        }
        break;
      }
      case 'text-delta':
        if (part.text) this.emit({ type: 'text-delta', runId, turn: this.turn, text: part.text });
        break;
      case 'finish-step':
        for (const finish of this.finishes.splice(0)) {
          this.emit({
            type: 'turn-finished',
            runId,
            turn: finish.turn,
            usage: finish.usage,
            costUsd: finish.costUsd,
            stopReason: finish.stopReason,
          });
        }
        break;
      case 'tool-call':
        if (part.providerExecuted) break;
        this.tools.set(part.toolCallId, {
          toolName: part.toolName,
          started: performance.now(),
          ...(part.invalid
            ? {
                refused: NoSuchToolError.isInstance(part.error)
                  ? ('unknown_tool' as const)
                  : ('invalid_input' as const),
              }
            : {}),
        });
        this.emit({
          type: 'tool-call-started',
          runId,
          turn: this.turn,
          toolCallId: part.toolCallId,
          toolName: part.toolName,
          input: part.input,
        });
        break;
      case 'tool-result': {
        const tool = this.claim(part.toolCallId, part.providerExecuted);
        if (!tool || part.preliminary || this.isSuspended(part.toolCallId)) break;
        this.emit({
          type: 'tool-call-finished',
          runId,
          turn: this.turn,
          toolCallId: part.toolCallId,
          toolName: tool.toolName,
          output: outputText(part.output),
          durationMs: performance.now() - tool.started,
        });
        break;
      }
      case 'tool-error': {
        const tool = this.claim(part.toolCallId, part.providerExecuted);
        if (!tool) break;
        const { error } = part;
        this.emit({
          type: 'tool-call-failed',
          runId,
          turn: this.turn,
          toolCallId: part.toolCallId,
          toolName: tool.toolName,
          reason: error instanceof ToolFailure ? error.reason : (tool.refused ?? 'threw'),
          message: error instanceof Error ? error.message : outputText(error),
          durationMs: performance.now() - tool.started,
        });
        break;
      }
    }
  }

  private claim(toolCallId: string, providerExecuted: boolean | undefined) {
    if (providerExecuted) return undefined;
    const tool = this.tools.get(toolCallId);
    this.tools.delete(toolCallId);
    return tool;
  }
}
