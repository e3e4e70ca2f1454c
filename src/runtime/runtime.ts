import type { AgentEvent } from '../agent/events';
import type { BudgetName, Budgets } from '../agent/limits';
import type { RunState, RunStatus } from '../agent/run-state';
import type { PriceTable } from '../model/pricing';
import type { Usage } from '../model/usage';

/** What one run of a runtime is asked to do. */
export interface RuntimeInput {
  /** The first user message of a conversation, or a follow-up of one that continues. */
  prompt?: string;
  /** Answers to the suspended tool calls of the conversation, by tool call id. */
  answers?: Record<string, unknown>;
}

/** Limits the runtime must hold as hard limits, counted over the whole run, resumes included. */
export interface RuntimeLimits extends Budgets {
  /** Model calls allowed. */
  maxTurns?: number;
  /** Prices merged over the built-in table (needed for `maxCostUsd` on an unknown model). */
  prices?: PriceTable;
}

/** What {@link Runtime.run} is given. */
export interface RuntimeRunOptions {
  runId: string;
  input: RuntimeInput;
  limits: RuntimeLimits;
  /** Aborts the run (cancel, timeout, shutdown): stop promptly, leave a checkpoint. */
  signal: AbortSignal;
  /** Where the run's events go, as loopwork `AgentEvent`s, in order. */
  emit(event: AgentEvent): void;
  /**
   * Where to continue from, absent on a fresh start:
   * - `attempt`: this run's own last checkpoint (an earlier attempt crashed or was interrupted):
   *   continue exactly there; `input` is already in it.
   * - `session`: the last state of the conversation this run continues (a follow-up): apply
   *   `input` to it (`prompt` as the next user message, `answers` to its suspended tool calls).
   *
   * An external runtime's own state (a session id, a serialized run) is in
   * `state.runtime.handle`; `state.turns` is what was spent so far (limits count it).
   */
  resumeFrom?: { kind: 'attempt' | 'session'; state: RunState };
  /** Saves a checkpoint; call it at every point the run can continue from. Rejects once this attempt no longer owns the run. */
  checkpoint(state: RunState): Promise<void>;
}

/** How a runtime's run ended. */
export interface RuntimeResult {
  status: Exclude<RunStatus, 'running'>;
  /** The final answer. */
  output?: unknown;
  /** Everything needed to continue (a follow-up continues the conversation from it). */
  state: RunState;
  /** Spent over the whole run, resumes included (the sum of `state.turns`). */
  usage: Usage;
  costUsd: number;
  /** The budget that stopped a `budget_exceeded` run. */
  budget?: BudgetName;
  /** What went wrong, when `failed`. */
  error?: Error;
}

/**
 * The runtime contract: an agent loop that loopwork can run under a worker — loopwork's own
 * (`loopRuntime`), or another framework's through an adapter (Claude Agent SDK, OpenAI Agents,
 * AI SDK, LangGraph, a CLI agent). A runtime maps its messages to `AgentEvent`s, checkpoints a
 * `RunState` (its own state in `runtime.handle`), and enforces `limits` before every model call.
 */
export interface Runtime {
  /** Contract version this object implements. */
  readonly specificationVersion: 'loopwork.runtime.v1';
  /** Name in events, errors and checkpoints (`loopwork`, `claude-agent-sdk` …). */
  readonly name: string;
  /** Runs the input to an end and resolves with how it ended; never rejects for a failed run. */
  run(options: RuntimeRunOptions): Promise<RuntimeResult>;
}
