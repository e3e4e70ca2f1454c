import type { ToolCallPart } from '../model/messages';
import type { ModelRequest, ModelResponse } from '../model/model';
import type { RunState } from './run-state';

/** What a `beforeToolCall` hook decides. Returning nothing allows the call unchanged. */
export type ToolCallDecision =
  | { action: 'allow' }
  /** The tool does not run; `message` goes back to the model as a tool error. */
  | { action: 'deny'; message: string }
  /** The tool runs with this input instead (validated like the model's own). */
  | { action: 'rewrite'; input: unknown };

/**
 * Functions called around model and tool calls. A hook that throws fails the run (status
 * `failed`, resumable from the last checkpoint).
 */
export interface AgentHooks {
  /** Before each model call; may return a changed request (for example to trim history). */
  beforeModelCall?(context: {
    runId: string;
    turn: number;
    request: ModelRequest;
    state: Readonly<RunState>;
  }): ModelRequest | undefined | void | Promise<ModelRequest | undefined | void>;
  /** After each successful model call. */
  afterModelCall?(context: {
    runId: string;
    turn: number;
    request: ModelRequest;
    response: ModelResponse;
  }): void | Promise<void>;
  /** Before each tool call: allow, deny with a message to the model, or rewrite the input. */
  beforeToolCall?(context: {
    runId: string;
    turn: number;
    toolCall: ToolCallPart;
  }): ToolCallDecision | undefined | void | Promise<ToolCallDecision | undefined | void>;
  /** After each tool call, with what the model will see; may replace the output (to redact it). */
  afterToolCall?(context: {
    runId: string;
    turn: number;
    toolCall: ToolCallPart;
    output: string;
    isError: boolean;
  }): { output: string } | undefined | void | Promise<{ output: string } | undefined | void>;
}
