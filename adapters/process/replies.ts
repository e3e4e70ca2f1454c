import { BudgetStop } from 'loopwork';
import type { Signal } from './format';
import type { ProcessRun } from './process-runtime';
import { runTool } from './tools';

/**
 * Answers a loopwork-ndjson `model-call`: leave with the output cap the budgets allow, or a
 * refusal that ends the run (`max_turns`, `budget_exceeded`); the agent gets the interrupt grace
 * to exit on its own before the group is stopped.
 */
export function answerModelCall(
  run: ProcessRun,
  call: Extract<Signal, { kind: 'model-call' }>,
): void {
  if (run.ending) {
    run.reply({ type: 'model-call-refused', id: call.id, status: run.ending.status });
    return;
  }
  try {
    const ticket = run.account.allow(call);
    run.reply({ type: 'model-call-allowed', id: call.id, maxOutputTokens: ticket.maxOutputTokens });
    run.options.emit({
      type: 'turn-started',
      runId: run.options.runId,
      turn: run.account.turns().length + 1,
      maxOutputTokens: ticket.maxOutputTokens,
      estimatedInputTokens: call.estimatedInputTokens,
    });
  } catch (error) {
    if (!BudgetStop.isInstance(error)) throw error;
    run.reply({
      type: 'model-call-refused',
      id: call.id,
      status: error.status,
      ...(error.budget ? { budget: error.budget } : {}),
    });
    run.stop({ status: error.status, ...(error.budget ? { budget: error.budget } : {}) }, true);
  }
}

/** Runs a loopwork tool a loopwork-ndjson agent asked for and writes its `tool-result`. */
export async function runLoopworkTool(
  run: ProcessRun,
  call: Extract<Signal, { kind: 'tool-call' }>,
): Promise<void> {
  const { options, settings } = run;
  const turn = run.account.turns().length;
  if (run.ending) {
    run.reply({ type: 'tool-result', id: call.id, output: 'The run is stopping.', isError: true });
    return;
  }
  options.emit({
    type: 'tool-call-started',
    runId: options.runId,
    turn,
    toolCallId: call.id,
    toolName: call.name,
    input: call.input,
  });
  run.toolStarted(call.id);
  const outcome = await runTool(
    settings.tools ?? [],
    { runId: options.runId, id: call.id, name: call.name, input: call.input, turn },
    options.signal,
    settings.toolTimeoutMs,
  );
  if (outcome.ok) run.toolResult(call.id, outcome.output, false);
  else run.toolResult(call.id, outcome.message, true, outcome.reason);
  run.reply({
    type: 'tool-result',
    id: call.id,
    output: outcome.ok ? outcome.output : outcome.message,
    isError: !outcome.ok,
  });
}
