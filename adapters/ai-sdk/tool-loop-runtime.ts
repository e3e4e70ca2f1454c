import {
  type LanguageModel,
  type ModelMessage,
  type PrepareStepFunction,
  type StreamTextResult,
  ToolLoopAgent,
  type ToolLoopAgentSettings,
  type ToolSet,
  wrapLanguageModel,
} from 'ai';
import {
  AGENT_DEFAULTS,
  type BudgetLedger,
  type BudgetName,
  InvalidOptionError,
  RUN_STATE_SCHEMA_VERSION,
  type RunState,
  type Runtime,
  type RuntimeResult,
  type RuntimeRunOptions,
  type Suspension,
} from 'loopwork';
import { createBudgetLedger } from 'loopwork/adapter-kit';
import { RUNTIME_NAME, startingMessages } from './agent-handle';
import { budgetMiddleware, type TurnFinish } from './budget-middleware';
import { AI_SDK_RUNTIME_DEFAULTS } from './defaults';
import { aiSdkTools } from './loopwork-tools';
import { StreamEventMapper } from './map-events';
import { toLoopworkTranscript } from './model-messages';
import { asError, budgetStopIn, errorRecord, failedBeforeStart, runError } from './run-errors';
import type { ToolLoopAgentRuntimeSettings } from './runtime-settings';
import type { AiSdkLanguageModel } from './types';

type Ending = { status: RuntimeResult['status']; budget?: BudgetName; error?: Error };

/** Statuses a checkpoint can hold that a redelivered attempt returns as they are. */
const SETTLED = new Set<RunState['status']>([
  'completed',
  'suspended',
  'max_turns',
  'budget_exceeded',
]);

/** One run of the runtime. */
class AgentRun {
  private readonly ledger: BudgetLedger;
  private readonly prior: RunState | undefined;
  private readonly maxTurns: number;
  private readonly suspensions: Suspension[] = [];
  private readonly internal = new AbortController();
  private messages: ModelMessage[] = [];
  private lastText: string | undefined;
  private lastFinish: TurnFinish | undefined;
  /** The turn of the latest model call, for the tools it asks for. */
  private turn = 0;
  private checkpointError: Error | undefined;

  constructor(
    private readonly settings: ToolLoopAgentRuntimeSettings,
    private readonly options: RuntimeRunOptions,
  ) {
    this.prior = options.resumeFrom?.state;
    this.turn = this.prior?.turns.length ?? 0;
    this.maxTurns = options.limits.maxTurns ?? settings.maxTurns ?? AGENT_DEFAULTS.maxTurns;
    this.ledger = createBudgetLedger({
      ...options.limits,
      maxTurns: this.maxTurns,
      ...(this.prior ? { turns: this.prior.turns } : {}),
      ...(settings.maxTokensPerCall === undefined
        ? {}
        : { maxTokensPerCall: settings.maxTokensPerCall }),
      ...(settings.minTokensPerCall === undefined
        ? {}
        : { minTokensPerCall: settings.minTokensPerCall }),
    });
    this.messages = startingMessages(options.resumeFrom, options.input);
  }

  stateOf(status: RunState['status'], error?: Error): RunState {
    const { system, messages } = toLoopworkTranscript(this.messages);
    const instructions = this.settings.instructions ?? system;
    return {
      schemaVersion: RUN_STATE_SCHEMA_VERSION,
      runId: this.options.runId,
      status,
      ...(instructions === undefined ? {} : { system: instructions }),
      messages,
      turns: this.ledger.turns(),
      toolResults: [],
      suspensions: status === 'suspended' ? [...this.suspensions] : [],
      ...(error ? { error: errorRecord(error) } : {}),
      runtime: { name: RUNTIME_NAME, handle: { messages: this.messages } },
    };
  }

  private agent(mapper: StreamEventMapper): ToolLoopAgent<never, ToolSet, never> {
    const { settings, options, ledger } = this;
    const middleware = budgetMiddleware({
      ledger,
      ...(settings.modelId === undefined ? {} : { modelId: settings.modelId }),
      ...(settings.estimateInputTokens
        ? { estimateInputTokens: settings.estimateInputTokens }
        : {}),
      onTurnStarted: (start) => {
        this.turn = start.turn;
        mapper.turnStarted(start);
      },
      onTurnFinished: (finish) => {
        this.lastFinish = finish;
        mapper.turnFinished(finish);
      },
    });
    const budgeted = (model: LanguageModel): AiSdkLanguageModel => {
      if (typeof model === 'string' || model.specificationVersion !== 'v3') {
        throw new InvalidOptionError(
          '[loopwork:ai-sdk] model must be an AI SDK LanguageModelV3 object (from an ai 6 provider), not a model id string',
        );
      }
      return wrapLanguageModel({ model, middleware });
    };
    const userPrepare = settings.agent?.prepareStep;
    // A model that prepareStep picks for a step goes through the same budget checks.
    const prepareStep: PrepareStepFunction<ToolSet> | undefined =
      userPrepare &&
      (async (step) => {
        const prepared = await userPrepare(step);
        return prepared?.model ? { ...prepared, model: budgeted(prepared.model) } : prepared;
      });
    const base = this.messages.length;
    const agentSettings: ToolLoopAgentSettings<never, ToolSet, never> = {
      maxRetries: AI_SDK_RUNTIME_DEFAULTS.maxRetries,
      ...settings.agent,
      ...(prepareStep ? { prepareStep } : {}),
      model: budgeted(settings.model),
      ...(settings.instructions === undefined ? {} : { instructions: settings.instructions }),
      tools: aiSdkTools(settings.tools ?? [], {
        runId: options.runId,
        // The middleware's count: the stream's reader may not have reached the step yet.
        turn: () => this.turn,
        onSuspend: (suspension) => this.suspensions.push(suspension),
        ...(settings.toolTimeoutMs === undefined ? {} : { toolTimeoutMs: settings.toolTimeoutMs }),
      }),
      stopWhen: [
        () => this.suspensions.length > 0,
        () => ledger.turns().length >= this.maxTurns,
        ...[settings.stopWhen ?? []].flat(),
      ],
      onStepFinish: async (step) => {
        this.messages = [...this.messages.slice(0, base), ...step.response.messages];
        this.lastText = step.text;
        try {
          await options.checkpoint(this.stateOf('running'));
        } catch (error) {
          // This attempt no longer owns the run (or the store failed): stop, write nothing more.
          this.checkpointError = asError(error);
          this.internal.abort(this.checkpointError);
        }
      },
    };
    // streamText logs every stream error to the console unless told otherwise; the run reports
    // its errors in its result instead. `onError` is not in the agent's settings type, but the
    // agent passes its settings through to streamText.
    Object.assign(agentSettings, { onError: () => {} });
    return new ToolLoopAgent(agentSettings);
  }

  async run(): Promise<RuntimeResult> {
    const { options } = this;
    const turnsSoFar = this.prior?.turns.length ?? 0;
    options.emit({ type: 'run-started', runId: options.runId, resumed: !!this.prior, turnsSoFar });
    const prior = this.prior;
    if (options.resumeFrom?.kind === 'attempt' && prior && SETTLED.has(prior.status)) {
      // An earlier attempt finished but was not acknowledged: its ending stands.
      this.suspensions.push(...prior.suspensions);
      this.lastText = lastAssistantText(prior);
      return this.finish({ status: prior.status as RuntimeResult['status'] });
    }
    if (options.resumeFrom?.kind === 'attempt' && prior && this.answered(prior)) {
      // It stopped after its final step's checkpoint, before the final one: the answer stands.
      this.lastText = lastAssistantText(prior);
      return this.finishSaved({ status: 'completed' });
    }
    const mapper = new StreamEventMapper(options.runId, options.emit, turnsSoFar, (id) =>
      this.suspensions.some((s) => s.toolCallId === id),
    );
    let failure: unknown;
    let errored = false;
    // The agent's signal: the run's, or this run's own stop (a refused checkpoint). Not
    // AbortSignal.any, which Node 20.0–20.2 lack.
    const onAbort = () => this.internal.abort(options.signal.reason);
    if (options.signal.aborted) onAbort();
    else options.signal.addEventListener('abort', onAbort, { once: true });
    try {
      const agent = this.agent(mapper);
      const result: StreamTextResult<ToolSet, never> = await agent.stream({
        messages: this.messages,
        abortSignal: this.internal.signal,
      });
      for await (const part of result.fullStream) {
        mapper.handle(part);
        if (part.type === 'error' && !errored) {
          errored = true;
          failure = part.error;
        }
      }
    } catch (error) {
      if (!errored) failure = error;
      errored = true;
    } finally {
      options.signal.removeEventListener('abort', onAbort);
    }
    const ending = this.endingOf(errored, failure);
    if (ending.status === 'aborted' || this.checkpointError) return this.finish(ending);
    return this.finishSaved(ending);
  }

  /** Saves the final checkpoint, then finishes (failed when the save is refused). */
  private async finishSaved(ending: Ending): Promise<RuntimeResult> {
    const { options } = this;
    try {
      await options.checkpoint(this.stateOf(ending.status, ending.error));
    } catch (error) {
      return this.finish({ status: 'failed', error: asError(error) });
    }
    if (ending.status === 'suspended')
      options.emit({ type: 'suspended', runId: options.runId, suspensions: [...this.suspensions] });
    return this.finish(ending);
  }

  /** The conversation ends with the model's final answer (text, no tool call, not cut short). */
  private answered(state: RunState): boolean {
    const last = this.messages.at(-1);
    if (last?.role !== 'assistant') return false;
    const calls =
      typeof last.content !== 'string' && last.content.some((p) => p.type === 'tool-call');
    return !calls && state.turns.at(-1)?.stopReason !== 'max_tokens';
  }

  private endingOf(errored: boolean, failure: unknown): Ending {
    if (this.options.signal.aborted) return { status: 'aborted' };
    if (this.checkpointError) return { status: 'failed', error: this.checkpointError };
    if (errored) {
      const stop = budgetStopIn(failure);
      if (stop) return { status: stop.status, ...(stop.budget ? { budget: stop.budget } : {}) };
      return { status: 'failed', error: runError(failure, this.settings.model.provider) };
    }
    if (this.suspensions.length > 0) return { status: 'suspended' };
    const last = this.lastFinish;
    if (last?.stopReason === 'tool_use' && this.ledger.turns().length >= this.maxTurns)
      return { status: 'max_turns' };
    // The last answer was cut short by a budget and asked for no tool: the run cannot go on.
    if (last?.stopReason === 'max_tokens' && last.limitedBy && last.toolCalls === 0)
      return { status: 'budget_exceeded', budget: last.limitedBy as BudgetName };
    return { status: 'completed' };
  }

  finish(ending: Ending): RuntimeResult {
    const { options } = this;
    const error =
      ending.status === 'failed'
        ? (ending.error ?? new Error(`[loopwork:ai-sdk] run ${options.runId} failed`))
        : undefined;
    const { usage, costUsd } = this.ledger.spent();
    options.emit({
      type: 'run-finished',
      runId: options.runId,
      status: ending.status,
      turns: this.ledger.turns().length,
      usage,
      costUsd,
    });
    return {
      status: ending.status,
      ...(this.lastText === undefined ? {} : { output: this.lastText }),
      state: this.stateOf(ending.status, error),
      usage,
      costUsd,
      ...(ending.budget ? { budget: ending.budget } : {}),
      ...(error ? { error } : {}),
    };
  }
}

function lastAssistantText(state: RunState): string | undefined {
  const last = state.messages.findLast((message) => message.role === 'assistant');
  if (last?.role !== 'assistant') return undefined;
  return last.content.flatMap((part) => (part.type === 'text' ? [part.text] : [])).join('');
}

/**
 * A {@link Runtime} that runs the Vercel AI SDK's `ToolLoopAgent` (`ai` 6) on an AI SDK
 * language model and loopwork tools. loopwork adds hard budgets (a `wrapLanguageModel`
 * middleware clears every model call with the budget ledger and clamps its `maxOutputTokens`;
 * `maxTurns` caps the steps), a checkpoint after every step (the AI SDK messages in the run
 * state's `runtime.handle`, so a crashed run continues on another worker without repeating a
 * checkpointed tool call), live events (`fullStream` mapped to `AgentEvent`s), cancel (the run's
 * signal), sessions (a follow-up continues the messages) and `suspend()` for tools (the run ends
 * `suspended`; answers become the suspended calls' results).
 *
 * @example
 * ```ts
 * import { openai } from '@ai-sdk/openai';
 * const runtime = toolLoopAgentRuntime({ model: openai('gpt-5-mini'), tools: [getWeather], instructions: 'Be brief.' });
 * const assistant = runtimeTask({ type: 'assistant', checkpoints, runtime, limits: { maxCostUsd: 0.5 } });
 * ```
 */
export function toolLoopAgentRuntime(settings: ToolLoopAgentRuntimeSettings): Runtime {
  const version = (settings.model as { specificationVersion?: unknown } | undefined)
    ?.specificationVersion;
  if (version !== 'v3') {
    throw new InvalidOptionError(
      `[loopwork:ai-sdk] model must be an AI SDK LanguageModelV3 (specificationVersion 'v3', from ai 6 providers), got ${JSON.stringify(version)}`,
    );
  }
  for (const name of [
    'maxTurns',
    'maxTokensPerCall',
    'minTokensPerCall',
    'toolTimeoutMs',
  ] as const) {
    const value = settings[name];
    if (value !== undefined && !(Number.isInteger(value) && value > 0)) {
      throw new InvalidOptionError(
        `[loopwork:ai-sdk] ${name} must be a positive integer, got ${JSON.stringify(value)}`,
      );
    }
  }
  return {
    specificationVersion: 'loopwork.runtime.v1',
    name: RUNTIME_NAME,
    async run(options) {
      let run: AgentRun;
      try {
        run = new AgentRun(settings, options);
      } catch (error) {
        return failedBeforeStart(options, asError(error));
      }
      return run.run();
    },
  };
}
