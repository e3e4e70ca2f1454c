import {
  createBudgetLedger,
  createRedactor,
  LoopworkError,
  RUN_STATE_SCHEMA_VERSION,
  type RunState,
  type RuntimeResult,
  type RuntimeRunOptions,
} from 'loopwork';

let redactor: ReturnType<typeof createRedactor> | undefined;

/** An error's record in the run state, with no secret in it. */
export function errorRecord(error: Error): { code: string; message: string } {
  // Built on first use: it reads the secrets in the environment then.
  redactor ??= createRedactor();
  return {
    code: LoopworkError.isInstance(error) ? error.code : 'error',
    message: redactor.string(error.message),
  };
}

/** What was thrown, as an Error (a provider or a tool may throw anything). */
export const asError = (value: unknown): Error =>
  value instanceof Error
    ? value
    : new Error(`[loopwork:openai-agents] the run threw a non-Error value: ${String(value)}`);

/** The text of the last assistant message of a run state. */
export function lastAssistantText(state: RunState): string | undefined {
  const message = state.messages.findLast((m) => m.role === 'assistant');
  if (message?.role !== 'assistant') return undefined;
  return message.content.map((part) => (part.type === 'text' ? part.text : '')).join('');
}

/** The result of a run that could not start (missing peers, a state from another runtime). */
export function failedBeforeStart(options: RuntimeRunOptions, error: Error): RuntimeResult {
  const prior = options.resumeFrom?.state;
  const state: RunState = {
    ...(prior ?? {
      schemaVersion: RUN_STATE_SCHEMA_VERSION,
      messages: [],
      turns: [],
      toolResults: [],
      suspensions: [],
    }),
    runId: options.runId,
    status: 'failed',
    error: errorRecord(error),
  };
  const { usage, costUsd } = createBudgetLedger({ turns: state.turns }).spent();
  options.emit({
    type: 'run-finished',
    runId: options.runId,
    status: 'failed',
    turns: state.turns.length,
    usage,
    costUsd,
  });
  return { status: 'failed', state, usage, costUsd, error };
}
