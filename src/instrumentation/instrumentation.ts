import type { ToolFailureReason } from '../agent/events';
import type { RunResult } from '../agent/result';
import type { ModelRequest, ModelResponse } from '../model/model';
import type { Usage } from '../model/usage';
import type { AttemptEnd } from '../queue/run-attempt';

/** Trace context as text headers (W3C `traceparent`, `tracestate`), carried in a task's message. */
export type TraceCarrier = Record<string, string>;

/** What {@link Instrumentation.agentRun} is told about a run about to start (or continue). */
export interface AgentRunInfo {
  runId: string;
  provider: string;
  modelId: string;
  /** True when the run continues from a checkpoint or a given state. */
  resumed: boolean;
  /** Model calls and spending of the run before this invocation (a resumed run's past). */
  before: { turns: number; usage: Usage; costUsd: number };
}

/** What {@link Instrumentation.modelCall} is told about one call to the provider. */
export interface ModelCallInfo {
  runId: string;
  turn: number;
  /** 1 for the first call of the turn, +1 for each retry. */
  attempt: number;
  provider: string;
  modelId: string;
  /** The request as sent (after hooks and budget clamping). */
  request: ModelRequest;
}

/** What {@link Instrumentation.toolCall} is told about one tool call. */
export interface ToolCallInfo {
  runId: string;
  turn: number;
  toolCallId: string;
  toolName: string;
  /** The tool's description, when the tool exists. */
  description?: string;
}

/** How a tool call ended, as {@link Instrumentation.toolCall} sees it. */
export type ToolCallEnd =
  | { kind: 'output' }
  | { kind: 'failed'; reason: ToolFailureReason; message: string }
  | { kind: 'suspended' };

/** What {@link Instrumentation.dispatch} is told about a run being enqueued. */
export interface DispatchInfo {
  runId: string;
  taskType: string;
  queue: string;
}

/** What {@link Instrumentation.attempt} is told about an attempt a worker starts. */
export interface AttemptInfo {
  runId: string;
  taskType: string;
  queue: string;
  attempt: number;
  maxAttempts: number;
  deliveryCount: number;
  messageId: string;
  workerId: string;
  /** Milliseconds between the run becoming claimable (enqueued, or its retry delay over) and this claim. */
  queueWaitMs: number;
  /** The trace context the dispatcher put in the message, if any. */
  trace?: TraceCarrier;
}

/**
 * Wrappers around a run's operations, for tracing and metrics (`loopwork/otel` implements it).
 * Each member receives what is about to happen and a function doing it: it must call that function
 * once and return (or rethrow) its result. Every member is optional; without an instrumentation
 * none of this is called (each place checks for the member, nothing more). Wrappers rather than
 * more hooks or events: a tracer must make its span the active context while the work runs (so
 * an SDK's or a tool's own spans nest under it) and see failures that skip the after-hooks.
 */
export interface Instrumentation {
  /** Contract version this object implements. */
  readonly specificationVersion: 'loopwork.instrumentation.v1';
  /** Around an agent run (`runAgent`, `streamAgent`), from its first step to its result. */
  agentRun?(info: AgentRunInfo, execute: () => Promise<RunResult>): Promise<RunResult>;
  /** Around each call to the model, retries being calls of their own. */
  modelCall?(info: ModelCallInfo, execute: () => Promise<ModelResponse>): Promise<ModelResponse>;
  /** Around each tool call: hooks, validation and the tool itself. */
  toolCall?(info: ToolCallInfo, execute: () => Promise<ToolCallEnd>): Promise<ToolCallEnd>;
  /** Around the dispatcher's enqueue; `send` takes the trace context to carry in the message. */
  dispatch?(
    info: DispatchInfo,
    send: (trace: TraceCarrier | undefined) => Promise<void>,
  ): Promise<void>;
  /** Around a worker's attempt of a run, from its start to how it ended. */
  attempt?(info: AttemptInfo, execute: () => Promise<AttemptEnd>): Promise<AttemptEnd>;
}
