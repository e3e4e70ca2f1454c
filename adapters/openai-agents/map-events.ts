import type { RunStreamEvent } from '@openai/agents';
import type { AgentEvent, BudgetName } from 'loopwork';
import { type BudgetedModelEvent, isBudgetedModelEvent } from './budgeted-model';
import { outputText } from './messages';
import type { ToolOutcome } from './tools';

type Raw = Record<string, unknown>;

const parseInput = (text: unknown): unknown => {
  if (typeof text !== 'string') return text;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
};

/**
 * Maps the SDK's run stream to loopwork `AgentEvent`s: the budgeted model's `turn-*` data (raw
 * `model` events), text deltas, and tool calls from the `tool_called` / `tool_output` run items.
 * How a loopwork tool's call ended (failed, and why) comes from the tools' `onOutcome`.
 */
export class EventMapper {
  private turn: number;
  private truncatedBy: BudgetName | undefined;
  private readonly started = new Map<string, { toolName: string; at: number }>();
  private readonly outcomes = new Map<string, ToolOutcome>();
  /** Tool calls a person rejected, by id: their output is the rejection, reported as `denied`. */
  readonly rejected = new Set<string>();
  /** Answered calls started in an earlier run, by id: this run reports their start when they end. */
  readonly answered = new Map<string, { toolName: string; input: unknown }>();

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

  /** Told by the loopwork tools how a call ended. */
  outcome(toolCallId: string, outcome: ToolOutcome): void {
    this.outcomes.set(toolCallId, outcome);
  }

  handle(event: RunStreamEvent): void {
    if (event.type === 'raw_model_stream_event') {
      const data = event.data as Raw;
      if (data.type === 'model' && isBudgetedModelEvent(data.event)) this.turnEvent(data.event);
      else if (data.type === 'output_text_delta' && typeof data.delta === 'string' && data.delta)
        this.emit({ type: 'text-delta', runId: this.runId, turn: this.turn, text: data.delta });
      return;
    }
    if (event.type !== 'run_item_stream_event') return;
    const raw = (event.item as { rawItem?: Raw }).rawItem ?? {};
    if (event.name === 'tool_called' && raw.type === 'function_call') {
      const toolCallId = String(raw.callId);
      const toolName = String(raw.name);
      this.started.set(toolCallId, { toolName, at: performance.now() });
      this.emit({
        type: 'tool-call-started',
        runId: this.runId,
        turn: this.turn,
        toolCallId,
        toolName,
        input: parseInput(raw.arguments),
      });
    } else if (event.name === 'tool_output' && raw.type === 'function_call_result') {
      this.toolOutput(raw, (event.item as { output?: unknown }).output);
    }
  }

  /**
   * A call made without streaming — an agent run as a tool, on the run's models, while the
   * run's tools run: its turn is reported, and leaves the run's own turn and ending alone.
   */
  nestedCall(data: BudgetedModelEvent): void {
    const { runId } = this;
    if (data.loopwork === 'turn-started') {
      const { turn, maxOutputTokens, estimatedInputTokens } = data;
      this.emit({ type: 'turn-started', runId, turn, maxOutputTokens, estimatedInputTokens });
      return;
    }
    const { turn, usage, costUsd, stopReason } = data;
    this.emit({ type: 'turn-finished', runId, turn, usage, costUsd, stopReason });
  }

  private turnEvent(data: BudgetedModelEvent): void {
    const { runId } = this;
    this.turn = data.turn;
    if (data.loopwork === 'turn-started') {
      const { turn, maxOutputTokens, estimatedInputTokens } = data;
      this.emit({ type: 'turn-started', runId, turn, maxOutputTokens, estimatedInputTokens });
      return;
    }
    this.truncatedBy =
      data.stopReason === 'max_tokens' && data.toolCalls === 0
        ? (data.limitedBy as BudgetName | undefined)
        : undefined;
    const { turn, usage, costUsd, stopReason } = data;
    this.emit({ type: 'turn-finished', runId, turn, usage, costUsd, stopReason });
  }

  private toolOutput(raw: Raw, output: unknown): void {
    const toolCallId = String(raw.callId);
    const toolName = String(raw.name);
    const started = this.started.get(toolCallId);
    this.started.delete(toolCallId);
    const answered = this.answered.get(toolCallId);
    if (!started && answered) {
      this.answered.delete(toolCallId);
      this.emit({
        type: 'tool-call-started',
        runId: this.runId,
        turn: this.turn,
        toolCallId,
        toolName: answered.toolName,
        input: answered.input,
      });
    }
    const known = this.outcomes.get(toolCallId);
    this.outcomes.delete(toolCallId);
    const durationMs = known?.durationMs ?? (started ? performance.now() - started.at : 0);
    const text = outputText(output ?? raw.output);
    const base = { runId: this.runId, turn: this.turn, toolCallId, toolName, durationMs };
    if (this.rejected.has(toolCallId)) {
      this.emit({ type: 'tool-call-failed', ...base, reason: 'denied', message: text });
    } else if (known && !known.ok) {
      this.emit({
        type: 'tool-call-failed',
        ...base,
        reason: known.reason,
        message: known.message,
      });
    } else {
      this.emit({ type: 'tool-call-finished', ...base, output: text });
    }
  }
}
