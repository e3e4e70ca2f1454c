import { type ToolCallPart, toolCallsOf } from '../model/messages';
import { type Redactor, resolveRedactor } from '../secrets/redact';
import { AgentRun } from './agent-run';
import { AGENT_DEFAULTS } from './defaults';
import { type AgentEvent, ignoreEvents } from './events';
import { type BudgetName, budgetsToWarn, hasBudget, turnLimitReached } from './limits';
import { type AgentOptions, validateAgentOptions } from './options';
import { type OutputPlan, outputError, outputStep } from './output';
import { type PreparedRun, prepareRun } from './prepare-run';
import { errorRecord, type RunResult, resultOf, spentSoFar } from './result';
import type { RunState, RunStatus } from './run-state';
import { checkOutput, runTools, takeTurn } from './steps';
import { streamedRedaction } from './streamed-redaction';

/** What the loop does next, decided from the state alone (so a resumed run decides the same). */
type NextStep = { type: 'call-model' } | { type: 'check-output' } | RunToolsStep | Finish;

/** Run the tool calls of the last assistant message that have no result yet. */
export type RunToolsStep = { type: 'run-tools'; calls: ToolCallPart[]; pending: ToolCallPart[] };

/** End the run with this status (and this error, when the step itself decided the run failed). */
export type Finish = {
  type: 'finish';
  status: Exclude<RunStatus, 'running'>;
  budget?: BudgetName | undefined;
  error?: Error | undefined;
};

function nextStep(state: RunState, output: OutputPlan | undefined): NextStep {
  if (state.suspensions.length > 0) return { type: 'finish', status: 'suspended' };
  const answered = output && outputStep(state, output);
  if (answered) return answered;
  const last = state.messages.at(-1);
  if (last?.role !== 'assistant') return { type: 'call-model' };
  const calls = toolCallsOf(last);
  if (calls.length === 0) return { type: 'finish', status: 'completed' };
  // Usually no result is in yet (a resumed run may have some): then every call is pending.
  if (state.toolResults.length === 0) return { type: 'run-tools', calls, pending: calls };
  const done = new Set(state.toolResults.map((result) => result.toolCallId));
  return { type: 'run-tools', calls, pending: calls.filter((call) => !done.has(call.id)) };
}

/**
 * Runs an agent to the end and resolves with its result.
 *
 * The algorithm (docs/agent-loop.md has it as pseudocode):
 * 1. Load the state to continue from (given, or from `checkpoints`), or start one from `prompt`.
 * 2. Decide the next step from the state: call the model, run pending tool calls, or finish.
 * 3. Before a model call: stop at `maxTurns`; estimate the prompt; clamp the call's output so that
 *    no budget can be passed even in the worst case, or stop with `budget_exceeded` if not even
 *    `minTokensPerCall` fits.
 * 4. Call the model (retrying retryable errors), append its message, record usage and cost, checkpoint.
 * 5. Run its tool calls (validated, hooked, at most `toolConcurrency` at once), checkpointing each
 *    result; then append them as one tool message, checkpoint, and go to 2.
 * 6. With an `output` schema, a turn without tool calls (or a `final_answer` call) is checked:
 *    a valid answer ends the run; a refused one goes back to the model with what was wrong, until
 *    `maxOutputRetries` or a limit ends the run without an output.
 * 7. Abort and `maxDurationMs` stop the run at once; anything thrown ends it as `failed`. The
 *    final state is checkpointed, so every ending can be continued.
 *
 * @example
 * ```ts
 * const result = await runAgent({ model, prompt: 'What is 2 + 3?', tools: [add], maxCostUsd: 0.5 });
 * console.log(result.status, result.text, result.costUsd);
 *
 * const typed = await runAgent({ model, prompt: 'Weather in Paris?', output: z.object({ celsius: z.number() }) });
 * if (typed.status === 'completed') console.log(typed.output?.celsius);
 * ```
 */
export async function runAgent<Output = unknown>(
  options: AgentOptions<Output>,
): Promise<RunResult<Output>> {
  validateAgentOptions(options as AgentOptions);
  return execute(options as AgentOptions, options.onEvent) as Promise<RunResult<Output>>;
}

/**
 * Starts an agent and returns its {@link AgentRun}: iterate it (or listen with `on`) for events,
 * await `result` for the end.
 *
 * @example
 * ```ts
 * const run = streamAgent({ model, prompt: 'Plan a trip', tools });
 * for await (const event of run) if (event.type === 'text-delta') process.stdout.write(event.text);
 * const { status, costUsd } = await run.result;
 * ```
 */
export function streamAgent<Output = unknown>(options: AgentOptions<Output>): AgentRun<Output> {
  validateAgentOptions(options as AgentOptions);
  return new AgentRun<Output>(
    (emit) =>
      execute(options as AgentOptions, (event) => {
        emit(event);
        options.onEvent?.(event);
      }) as Promise<RunResult<Output>>,
  );
}

async function execute(
  options: AgentOptions,
  publish: ((event: AgentEvent) => void) | undefined,
): Promise<RunResult> {
  // Every event and error leaves the loop through the redactor (promise 6: no secret in events
  // or error messages), start-up errors too: a checkpoint store that cannot load says why.
  const redactor = resolveRedactor(options.redact);
  let run: PreparedRun;
  try {
    run = await prepareRun(options);
  } catch (thrown) {
    throw redactor.error(thrown);
  }
  const instrumentation = options.instrumentation;
  if (!instrumentation?.agentRun) return runPrepared(options, run, publish, redactor);
  const { state } = run;
  return instrumentation.agentRun(
    {
      runId: state.runId,
      provider: options.model.provider,
      modelId: options.model.modelId,
      resumed: run.resumed,
      before: { turns: state.turns.length, ...spentSoFar(state.turns) },
    },
    () => runPrepared(options, run, publish, redactor),
  );
}

async function runPrepared(
  options: AgentOptions,
  run: PreparedRun,
  publish: ((event: AgentEvent) => void) | undefined,
  redactor: Redactor,
): Promise<RunResult> {
  // Nobody listening (runAgent without onEvent): skip building and redacting events' payloads.
  // Streamed text and tool input are redacted across pieces (a secret split in two is caught).
  let emit = ignoreEvents;
  if (publish) {
    const redacted = streamedRedaction(redactor);
    emit = (event: AgentEvent) => {
      for (const each of redacted(event)) publish(each);
    };
  }
  const controller = new AbortController();
  let stopCause: 'aborted' | 'timeout' | undefined;
  const stop = (cause: 'aborted' | 'timeout') => {
    stopCause ??= cause;
    controller.abort(new Error(`run ${cause}`));
  };
  const onAbort = () => stop('aborted');
  options.signal?.addEventListener('abort', onAbort, { once: true });
  if (options.signal?.aborted) stop('aborted');
  const timer =
    options.maxDurationMs === undefined
      ? undefined
      : setTimeout(() => stop('timeout'), options.maxDurationMs);

  const { state } = run;
  let ending: Finish;
  let error: Error | undefined;
  try {
    emit({
      type: 'run-started',
      runId: state.runId,
      resumed: run.resumed,
      turnsSoFar: state.turns.length,
    });
    ending = await loop(options, run, controller.signal, emit);
    error = ending.error;
  } catch (thrown) {
    // Tools still running in a batch that failed must not go on after the run has ended.
    if (!controller.signal.aborted) controller.abort(new Error('run failed'));
    error = stopCause ? undefined : (thrown as Error);
    ending = { type: 'finish', status: stopCause ?? 'failed' };
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
  }
  return finish(run, ending, error && redactor.error(error), emit, redactor);
}

async function loop(
  options: AgentOptions,
  run: PreparedRun,
  signal: AbortSignal,
  emit: (event: AgentEvent) => void,
): Promise<Finish> {
  const { state } = run;
  const warned = new Set<BudgetName>();
  // Without a budget there is nothing to warn about: skip adding up the turns after each one.
  const budgeted = hasBudget(options);
  while (true) {
    signal.throwIfAborted();
    const step = nextStep(state, run.output);
    if (step.type === 'finish') return step;
    if (step.type === 'run-tools') {
      await runTools(options, run, step, signal, emit);
      continue;
    }
    if (step.type === 'check-output') {
      await checkOutput(run, emit);
      continue;
    }
    if (turnLimitReached(state.turns.length, options.maxTurns ?? AGENT_DEFAULTS.maxTurns)) {
      return { type: 'finish', status: 'max_turns' };
    }
    const stopped = await takeTurn(options, run, signal, emit);
    if (stopped) return stopped;
    if (!budgeted) continue;
    for (const warning of budgetsToWarn(
      options,
      spentSoFar(state.turns),
      options.budgetWarningAt ?? AGENT_DEFAULTS.budgetWarningAt,
      warned,
    )) {
      warned.add(warning.budget);
      emit({ type: 'budget-warning', runId: state.runId, ...warning });
    }
  }
}

async function finish(
  run: PreparedRun,
  ending: Finish,
  error: Error | undefined,
  emit: (event: AgentEvent) => void,
  redactor: Redactor,
): Promise<RunResult> {
  const { state } = run;
  state.status = ending.status;
  // A limit that ends a run still correcting its answer says why the last answer was refused.
  if (
    !error &&
    run.output &&
    state.output?.lastError !== undefined &&
    state.output.value === undefined &&
    (ending.status === 'max_turns' || ending.status === 'budget_exceeded')
  ) {
    error = redactor.error(outputError(state, ending.status));
  }
  if (error) state.error = errorRecord(error, redactor);
  let saveError: Error | undefined;
  try {
    await run.checkpoint(state);
  } catch (thrown) {
    // This error leaves the run (result.error, state.error) like any other: redact it too.
    saveError = redactor.error(thrown as Error);
    state.status = 'failed';
    state.error = errorRecord(saveError, redactor);
  }
  const result = resultOf(state, {
    ...(ending.budget ? { budget: ending.budget } : {}),
    ...((saveError ?? error) ? { error: (saveError ?? error) as Error } : {}),
  });
  if (result.status === 'suspended')
    emit({ type: 'suspended', runId: state.runId, suspensions: state.suspensions });
  emit({
    type: 'run-finished',
    runId: state.runId,
    status: result.status,
    turns: state.turns.length,
    usage: result.usage,
    costUsd: result.costUsd,
  });
  return result;
}
