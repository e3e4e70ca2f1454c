import { toolCallsOf } from '../model/messages';
import type { ModelRequest } from '../model/model';
import { costOf } from '../model/pricing';
import { emptyUsage } from '../model/usage';
import { callModel } from './call-model';
import { AGENT_DEFAULTS } from './defaults';
import { estimateInputTokens } from './estimate-tokens';
import type { AgentEvent } from './events';
import { hasBudget, outputAllowance, type Spent } from './limits';
import type { AgentOptions } from './options';
import { checkAnswer, FINAL_ANSWER_TOOL, refuse, responseFormatOf } from './output';
import type { PreparedRun } from './prepare-run';
import { spentSoFar } from './result';
import type { Finish, RunToolsStep } from './run-agent';
import { runToolCalls } from './run-tools';
import { uniqueToolCallIds } from './tool-call-ids';

/** What outputAllowance is given when no budget is set (it then reads none of it). */
const NOTHING_SPENT: Spent = Object.freeze({ usage: emptyUsage(), costUsd: 0 });

/** One model call: prepare, clamp to the budgets, call, record, checkpoint. */
export async function takeTurn(
  options: AgentOptions,
  run: PreparedRun,
  signal: AbortSignal,
  emit: (event: AgentEvent) => void,
): Promise<Finish | undefined> {
  const { state } = run;
  const turn = state.turns.length + 1;
  const perCallCap = options.maxTokensPerCall ?? AGENT_DEFAULTS.maxTokensPerCall;
  let request: ModelRequest = {
    ...(state.system === undefined ? {} : { system: state.system }),
    messages: state.messages,
    ...(run.toolSpecs.length > 0 ? { tools: run.toolSpecs } : {}),
    maxOutputTokens: perCallCap,
    ...(options.stopSequences ? { stopSequences: options.stopSequences } : {}),
    ...(run.output?.mode === 'native' ? { responseFormat: responseFormatOf(run.output) } : {}),
    ...(options.providerOptions ? { providerOptions: options.providerOptions } : {}),
  };
  request =
    (await options.hooks?.beforeModelCall?.({ runId: state.runId, turn, request, state })) ??
    request;
  const estimatedInputTokens =
    options.estimateInputTokens?.(request) ?? estimateInputTokens(request, state);
  const allowance = outputAllowance(
    options,
    // outputAllowance reads what was spent only for a budget that is set.
    hasBudget(options) ? spentSoFar(state.turns) : NOTHING_SPENT,
    estimatedInputTokens,
    Math.min(request.maxOutputTokens, perCallCap),
    run.price,
  );
  const minimum = Math.min(
    options.minTokensPerCall ?? AGENT_DEFAULTS.minTokensPerCall,
    request.maxOutputTokens,
    perCallCap,
  );
  if (allowance.maxTokens < minimum) {
    return {
      type: 'finish',
      status: 'budget_exceeded',
      ...(allowance.limitedBy ? { budget: allowance.limitedBy } : {}),
    };
  }
  request = { ...request, maxOutputTokens: allowance.maxTokens };

  emit({
    type: 'turn-started',
    runId: state.runId,
    turn,
    maxOutputTokens: allowance.maxTokens,
    estimatedInputTokens,
  });
  const response = await callModel(options.model, request, {
    runId: state.runId,
    turn,
    signal,
    emit,
    instrumentation: options.instrumentation,
    retry: {
      maxRetries: options.retry?.maxRetries ?? AGENT_DEFAULTS.maxRetries,
      minDelayMs: options.retry?.minDelayMs ?? AGENT_DEFAULTS.retryMinDelayMs,
      maxDelayMs: options.retry?.maxDelayMs ?? AGENT_DEFAULTS.retryMaxDelayMs,
    },
  });
  const costUsd = run.price ? costOf(response.usage, run.price) : 0;
  state.messages = [...state.messages, uniqueToolCallIds(response.message, state.messages, turn)];
  state.turns = [
    ...state.turns,
    {
      turn,
      modelId: options.model.modelId,
      usage: response.usage,
      costUsd,
      stopReason: response.stopReason,
    },
  ];
  emit({
    type: 'turn-finished',
    runId: state.runId,
    turn,
    usage: response.usage,
    costUsd,
    stopReason: response.stopReason,
  });
  // Recorded and saved before anything else can throw: the call is paid for, and budgets and a
  // resumed run must both know it.
  await run.checkpoint(state);
  await options.hooks?.afterModelCall?.({ runId: state.runId, turn, request, response });

  const truncatedByBudget =
    response.stopReason === 'max_tokens' && allowance.limitedBy !== undefined;
  if (truncatedByBudget && toolCallsOf(response.message).length === 0) {
    return { type: 'finish', status: 'budget_exceeded', budget: allowance.limitedBy };
  }
  return undefined;
}

/** Runs the pending tool calls of the last assistant message, then appends all their results. */
export async function runTools(
  options: AgentOptions,
  run: PreparedRun,
  step: RunToolsStep,
  signal: AbortSignal,
  emit: (event: AgentEvent) => void,
): Promise<void> {
  const { state } = run;
  const outcome = await runToolCalls(step.pending, {
    runId: state.runId,
    turn: state.turns.length,
    tools: run.tools,
    hooks: options.hooks ?? {},
    concurrency: options.toolConcurrency ?? AGENT_DEFAULTS.toolConcurrency,
    defaultTimeoutMs: options.toolTimeoutMs ?? AGENT_DEFAULTS.toolTimeoutMs,
    maxResultBytes: options.maxToolResultBytes ?? AGENT_DEFAULTS.maxToolResultBytes,
    blobs: options.blobs,
    signal,
    emit,
    instrumentation: options.instrumentation,
    onResult: async (result) => {
      state.toolResults = [...state.toolResults, result];
      // A refused final answer is counted in the same checkpoint as its result, so a resumed
      // run neither counts it twice nor forgets it.
      if (run.output && result.toolName === FINAL_ANSWER_TOOL && result.isError) {
        refuse(state, result.output, state.turns.length, emit);
      }
      await run.checkpoint(state);
    },
  });
  if (outcome.suspensions.length > 0) {
    state.suspensions = outcome.suspensions;
    return;
  }
  const byId = new Map(state.toolResults.map((result) => [result.toolCallId, result]));
  const results = step.calls
    .map((call) => byId.get(call.id))
    .filter((result) => result !== undefined);
  // No checkpoint here: the one after the last result already holds everything, and a resumed
  // run rebuilds this same tool message from it. The next model call's checkpoint saves it.
  state.messages = [...state.messages, { role: 'tool', content: results }];
  state.toolResults = [];
}

/** Checks the answer of a turn that made no tool calls, then checkpoints the verdict. */
export async function checkOutput(
  run: PreparedRun,
  emit: (event: AgentEvent) => void,
): Promise<void> {
  if (!run.output) return;
  await checkAnswer(run.state, run.output, emit);
  await run.checkpoint(run.state);
}
