import { BudgetStop, type ToolFailureReason } from 'loopwork';
import type { Signal } from './format';
import type { ProcessRun } from './process-run';
import { runTool } from './tools';

/** What one signal of the stream does to the run: transcript, events, checkpoints, replies. */
export async function handleSignal(run: ProcessRun, signal: Signal): Promise<void> {
  const { options } = run;
  const runId = options.runId;
  switch (signal.kind) {
    case 'text':
      run.transcript.text(signal.text);
      options.emit({ type: 'text-delta', runId, turn: turnNow(run), text: signal.text });
      return;
    case 'tool-call': {
      run.transcript.toolCall(signal.id, signal.name, signal.input);
      if (signal.by === 'loopwork') return runLoopworkTool(run, signal);
      // The agent's own call belongs to the model call in progress (its usage comes after it).
      const turn = turnNow(run);
      run.toolStarts.set(signal.id, { at: performance.now(), turn });
      options.emit({
        type: 'tool-call-started',
        runId,
        turn,
        toolCallId: signal.id,
        toolName: signal.name,
        input: signal.input,
      });
      return;
    }
    case 'tool-result':
      toolResult(run, signal.id, signal.output, signal.isError);
      return;
    case 'model-call':
      answerModelCall(run, signal);
      return;
    case 'turn':
      // With a budget proxy the turns are its records (exact, clamped), not the stream's report.
      if (run.proxy) return;
      return recordTurn(run, signal);
    case 'handle':
      run.handle = signal.handle;
      if (run.format.handleKind === 'snapshot') run.atHandle = run.transcript.snapshot();
      if (signal.checkpoint) await run.checkpoint();
      return;
    case 'result':
      run.result = signal;
      return;
  }
}

/** The turn a model call starting now would be. */
const turnNow = (run: ProcessRun) => run.account.turns().length + 1;

/** Records a tool result: in the transcript and as an event. */
function toolResult(
  run: ProcessRun,
  id: string,
  output: string,
  isError: boolean,
  reason: ToolFailureReason = 'threw',
): void {
  run.transcript.toolResult(id, output, isError);
  const started = run.toolStarts.get(id);
  run.toolStarts.delete(id);
  const base = {
    runId: run.options.runId,
    turn: started?.turn ?? run.account.turns().length,
    toolCallId: id,
    toolName: run.transcript.nameOf(id) ?? 'unknown',
    durationMs: started === undefined ? 0 : performance.now() - started.at,
  };
  run.options.emit(
    isError
      ? { type: 'tool-call-failed', ...base, reason, message: output }
      : { type: 'tool-call-finished', ...base, output },
  );
}

/** Counts a finished model call, checkpoints, and stops the run when it passed a limit. */
async function recordTurn(
  run: ProcessRun,
  signal: Extract<Signal, { kind: 'turn' }>,
): Promise<void> {
  const { record, over } = run.account.record(signal);
  run.options.emit({
    type: 'turn-finished',
    runId: run.options.runId,
    turn: record.turn,
    usage: record.usage,
    costUsd: record.costUsd,
    stopReason: record.stopReason,
  });
  await run.checkpoint();
  if (over) run.stop(over);
}

/**
 * Answers a loopwork-ndjson `model-call`: leave with the output cap the budgets allow, or a
 * refusal that ends the run (`max_turns`, `budget_exceeded`); the agent gets the interrupt grace
 * to exit on its own before the group is stopped.
 */
function answerModelCall(run: ProcessRun, call: Extract<Signal, { kind: 'model-call' }>): void {
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
async function runLoopworkTool(
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
  run.toolStarts.set(call.id, { at: performance.now(), turn });
  const outcome = await runTool(
    settings.tools ?? [],
    { runId: options.runId, id: call.id, name: call.name, input: call.input, turn },
    options.signal,
    settings.toolTimeoutMs,
  );
  if (outcome.ok) toolResult(run, call.id, outcome.output, false);
  else toolResult(run, call.id, outcome.message, true, outcome.reason);
  run.reply({
    type: 'tool-result',
    id: call.id,
    output: outcome.ok ? outcome.output : outcome.message,
    isError: !outcome.ok,
  });
}
