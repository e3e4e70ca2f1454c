import type { LoopworkError } from '../errors';
import { describeThrown, safely } from '../internal/describe-thrown';
import { type Message, textOf } from '../model/messages';
import { addUsage, emptyUsage, type Usage } from '../model/usage';
import type { Redactor } from '../secrets/redact';
import type { BudgetName } from './limits';
import type { RunState, RunStatus, Suspension, TurnRecord } from './run-state';

/** How a run ended. `Output` is the type of the validated answer of a run with an `output` schema. */
export interface RunResult<Output = unknown> {
  runId: string;
  status: Exclude<RunStatus, 'running'>;
  /** Text of the last assistant message ('' when there is none). */
  text: string;
  /**
   * The answer, validated against the run's `output` schema: set when the status is `completed`
   * (and the run has an `output` schema), absent otherwise — never an unchecked answer.
   */
  output?: Output;
  messages: Message[];
  /** Usage and cost of every model call, resumed parts included. */
  turns: TurnRecord[];
  /** Sum of `turns[].usage`. */
  usage: Usage;
  /** Sum of `turns[].costUsd`; 0 for a model with no known price. */
  costUsd: number;
  /** The state to continue from (`runAgent({ state, ... })`). */
  state: RunState;
  /** Tool calls waiting for answers when the status is `suspended`. */
  suspensions: Suspension[];
  /** The budget that ended the run, when the status is `budget_exceeded`. */
  budget?: BudgetName;
  /**
   * What went wrong, when the status is `failed`; for a run with an `output` schema ended by
   * `max_turns` or `budget_exceeded` while correcting its answer, an `OutputValidationError`
   * with the last answer's issues.
   */
  error?: LoopworkError | Error;
}

/** Usage and cost summed over turns. */
export function spentSoFar(turns: readonly TurnRecord[]): { usage: Usage; costUsd: number } {
  let usage = emptyUsage();
  let costUsd = 0;
  for (const turn of turns) {
    usage = addUsage(usage, turn.usage);
    costUsd += turn.costUsd;
  }
  return { usage, costUsd };
}

/** Builds the result of a run from its final state. */
export function resultOf(
  state: RunState,
  extra: Pick<RunResult, 'budget' | 'error'> = {},
): RunResult {
  const lastAssistant = state.messages.findLast((m) => m.role === 'assistant');
  const status = state.status === 'running' ? 'failed' : state.status;
  const answer = state.output?.value;
  return {
    runId: state.runId,
    status,
    text: lastAssistant?.role === 'assistant' ? textOf(lastAssistant) : '',
    ...(status === 'completed' && answer !== undefined ? { output: answer } : {}),
    messages: state.messages,
    turns: state.turns,
    ...spentSoFar(state.turns),
    state,
    suspensions: state.suspensions,
    ...extra,
  };
}

/**
 * What the run state keeps of an error, whatever was thrown (a hook may throw a string or a plain
 * object): a string code and message, as the state's schema requires, with no secret in either.
 */
export function errorRecord(error: unknown, redactor: Redactor): { code: string; message: string } {
  // Read through `safely`: a hostile value's getters may throw.
  const field = (key: 'code' | 'message'): unknown =>
    safely(
      () => (typeof error === 'object' && error !== null ? Reflect.get(error, key) : undefined),
      undefined,
    );
  const code = field('code');
  const message = field('message');
  return {
    code: typeof code === 'string' ? redactor.string(code) : 'error',
    message: redactor.string(typeof message === 'string' ? message : describeThrown(error)),
  };
}
