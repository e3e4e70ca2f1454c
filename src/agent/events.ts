import type { StopReason } from '../model/model';
import type { ModelErrorKind } from '../model/model-error';
import type { Usage } from '../model/usage';
import type { BudgetName } from './limits';
import type { RunStatus, Suspension } from './run-state';

/** Why a tool call produced an error result instead of output. */
export type ToolFailureReason = 'unknown_tool' | 'invalid_input' | 'denied' | 'threw' | 'timeout';

/** Every event a run emits, discriminated by `type`. All carry the `runId`. */
export type AgentEvent =
  | { type: 'run-started'; runId: string; resumed: boolean; turnsSoFar: number }
  | {
      type: 'turn-started';
      runId: string;
      turn: number;
      maxOutputTokens: number;
      estimatedInputTokens: number;
    }
  | { type: 'text-delta'; runId: string; turn: number; text: string }
  | {
      /**
       * The model began a tool call (streaming models only): its input follows as
       * `tool-input-delta`s, then `tool-call-started` once the whole call is in. `toolCallId` is
       * the id as the model streamed it; when loopwork renames a duplicate id (see the agent loop
       * guide), the later events carry the new one.
       */
      type: 'tool-input-started';
      runId: string;
      turn: number;
      toolCallId: string;
      toolName: string;
    }
  | {
      /** A piece of a tool call's input JSON as the model streams it, for a UI to show. */
      type: 'tool-input-delta';
      runId: string;
      turn: number;
      toolCallId: string;
      inputTextDelta: string;
    }
  | {
      type: 'turn-finished';
      runId: string;
      turn: number;
      usage: Usage;
      costUsd: number;
      stopReason: StopReason;
    }
  | {
      type: 'tool-call-started';
      runId: string;
      turn: number;
      toolCallId: string;
      toolName: string;
      input: unknown;
    }
  | {
      type: 'tool-call-finished';
      runId: string;
      turn: number;
      toolCallId: string;
      toolName: string;
      output: string;
      durationMs: number;
    }
  | {
      type: 'tool-call-failed';
      runId: string;
      turn: number;
      toolCallId: string;
      toolName: string;
      reason: ToolFailureReason;
      message: string;
      durationMs: number;
    }
  | {
      type: 'model-retry';
      runId: string;
      turn: number;
      /** 1-based number of the attempt that failed. */
      attempt: number;
      delayMs: number;
      error: { kind: ModelErrorKind; message: string; status: number | undefined };
    }
  | {
      /** An answer failed the run's `output` schema; the model is asked to correct it. */
      type: 'output-rejected';
      runId: string;
      turn: number;
      /** Answers refused so far in the run. */
      refused: number;
      /** What was wrong, as the model is told. */
      message: string;
    }
  | { type: 'budget-warning'; runId: string; budget: BudgetName; used: number; limit: number }
  | { type: 'suspended'; runId: string; suspensions: Suspension[] }
  | {
      type: 'run-finished';
      runId: string;
      status: RunStatus;
      turns: number;
      usage: Usage;
      costUsd: number;
    };

/** The `type` of each {@link AgentEvent}. */
export type AgentEventType = AgentEvent['type'];

/** Listener map for the typed emitter: one entry per event type, plus `event` for all of them. */
export type AgentEventListeners = {
  [Type in AgentEventType]: (event: Extract<AgentEvent, { type: Type }>) => void;
} & { event: (event: AgentEvent) => void };

/**
 * The loop's `emit` when nobody listens (runAgent without `onEvent`). Steps that would build
 * events per streamed piece compare against it and skip building them.
 */
export const ignoreEvents = (_event: AgentEvent): void => {};
