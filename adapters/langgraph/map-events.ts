import type { StreamEvent } from '@langchain/core/tracers/log_stream';
import type { AgentEvent, BudgetName, StopReason, ToolFailureReason } from 'loopwork';
import type { TurnFinishedData, TurnStartedData } from './budgeted-chat-model';
import { EVENT, LOOPWORK_TOOL_TAG } from './event-names';
import { textOfContent } from './messages';
import type { ToolEventData } from './tools';

interface CallInMessage {
  id?: string;
  name: string;
  args: unknown;
}

interface StartedTool {
  toolCallId: string;
  toolName: string;
  started: number;
}

/**
 * Maps a graph's `streamEvents` (v2) to loopwork `AgentEvent`s: text deltas from the chat
 * models' streams, turns from the budgeted model's custom events, tool calls from the loopwork
 * tools' custom events, and from LangChain's own tool events for any other tool.
 */
export class EventMapper {
  /** The turn of the latest model call (events between calls belong to it). */
  private turn: number;
  /** The latest call's answer was cut by a budget and called no tool: the run cannot go on. */
  private truncatedBy: BudgetName | undefined;
  /** Tool calls the models asked for and that no tool event has claimed yet. */
  private asked: CallInMessage[] = [];
  private readonly tools = new Map<string, StartedTool>();

  constructor(
    private readonly runId: string,
    private readonly emit: (event: AgentEvent) => void,
    turnsSoFar: number,
  ) {
    this.turn = turnsSoFar;
  }

  /** The budget that ended the run by cutting its last answer short, if one did. */
  get budgetStop(): BudgetName | undefined {
    return this.truncatedBy;
  }

  handle(event: StreamEvent): void {
    const data = event.data as Record<string, unknown>;
    switch (event.event) {
      case 'on_custom_event':
        this.custom(event.name, data);
        break;
      case 'on_chat_model_stream': {
        const text = textOfContent((data.chunk as { content?: unknown } | undefined)?.content);
        if (text) this.emit({ type: 'text-delta', runId: this.runId, turn: this.turn, text });
        break;
      }
      case 'on_chat_model_end': {
        const calls = (data.output as { tool_calls?: CallInMessage[] } | undefined)?.tool_calls;
        this.asked.push(...(calls ?? []));
        break;
      }
      case 'on_tool_start':
      case 'on_tool_end':
      case 'on_tool_error':
        if (!event.tags?.includes(LOOPWORK_TOOL_TAG)) this.otherTool(event);
        break;
    }
  }

  private custom(name: string, data: Record<string, unknown>): void {
    const { runId, turn } = this;
    switch (name) {
      case EVENT.turnStarted: {
        const started = data as unknown as TurnStartedData;
        this.turn = started.turn;
        this.emit({ type: 'turn-started', runId, ...started });
        break;
      }
      case EVENT.turnFinished: {
        const finished = data as unknown as TurnFinishedData;
        this.turn = finished.turn;
        const stopReason = finished.stopReason as StopReason;
        this.truncatedBy =
          stopReason === 'max_tokens' && finished.toolCalls === 0
            ? (finished.limitedBy as BudgetName | undefined)
            : undefined;
        this.emit({
          type: 'turn-finished',
          runId,
          turn: finished.turn,
          usage: finished.usage,
          costUsd: finished.costUsd,
          stopReason,
        });
        break;
      }
      case EVENT.toolStarted: {
        const tool = data as unknown as ToolEventData;
        this.claim(tool.toolCallId);
        this.emit({
          type: 'tool-call-started',
          runId,
          turn,
          toolCallId: tool.toolCallId,
          toolName: tool.toolName,
          input: tool.input,
        });
        break;
      }
      case EVENT.toolFinished: {
        const tool = data as unknown as Required<ToolEventData>;
        this.emit({
          type: 'tool-call-finished',
          runId,
          turn,
          toolCallId: tool.toolCallId,
          toolName: tool.toolName,
          output: tool.output,
          durationMs: tool.durationMs,
        });
        break;
      }
      case EVENT.toolFailed: {
        const tool = data as unknown as Required<ToolEventData>;
        this.emit({
          type: 'tool-call-failed',
          runId,
          turn,
          toolCallId: tool.toolCallId,
          toolName: tool.toolName,
          reason: tool.reason,
          message: tool.message,
          durationMs: tool.durationMs,
        });
        break;
      }
    }
  }

  /** Removes a tool call from those still waiting to be matched to a tool event. */
  private claim(toolCallId: string): void {
    const index = this.asked.findIndex((call) => call.id === toolCallId);
    if (index >= 0) this.asked.splice(index, 1);
  }

  /**
   * A LangChain tool that is not a loopwork tool: its start event does not carry the tool call
   * id, so the call is found among those the models asked for, by name and input.
   */
  private otherTool(event: StreamEvent): void {
    const data = event.data as { input?: unknown; output?: unknown; error?: unknown };
    const base = { runId: this.runId, turn: this.turn };
    if (event.event === 'on_tool_start') {
      const input = JSON.stringify(data.input);
      const call =
        this.asked.find((c) => c.name === event.name && JSON.stringify(c.args) === input) ??
        this.asked.find((c) => c.name === event.name);
      const toolCallId = call?.id ?? event.run_id;
      this.claim(toolCallId);
      this.tools.set(event.run_id, {
        toolCallId,
        toolName: event.name,
        started: performance.now(),
      });
      this.emit({
        type: 'tool-call-started',
        ...base,
        toolCallId,
        toolName: event.name,
        input: data.input,
      });
      return;
    }
    const started = this.tools.get(event.run_id);
    if (!started) return;
    this.tools.delete(event.run_id);
    const { toolCallId, toolName } = started;
    const durationMs = performance.now() - started.started;
    const failed = (reason: ToolFailureReason, message: string) =>
      this.emit({
        type: 'tool-call-failed',
        ...base,
        toolCallId,
        toolName,
        reason,
        message,
        durationMs,
      });
    if (event.event === 'on_tool_error') {
      const message = String(data.error);
      // An interrupt is not a failure: the graph suspends, and the tool runs again on resume.
      if (!message.includes('GraphInterrupt')) failed('threw', message);
      return;
    }
    const output = data.output as { content?: unknown; status?: unknown } | string | undefined;
    const text =
      typeof output === 'string'
        ? output
        : output && 'content' in output
          ? typeof output.content === 'string'
            ? output.content
            : JSON.stringify(output.content)
          : (JSON.stringify(output) ?? '');
    if (typeof output === 'object' && output?.status === 'error') failed('threw', text);
    else
      this.emit({
        type: 'tool-call-finished',
        ...base,
        toolCallId,
        toolName,
        output: text,
        durationMs,
      });
  }
}
