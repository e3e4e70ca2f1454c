import type {
  Agent,
  AgentInputItem,
  ModelRequest as AgentsModelRequest,
  RunState as AgentsRunState,
  FunctionTool,
  Model,
  ModelProvider,
  RunConfig,
  StreamedRunResult,
} from '@openai/agents';
import {
  AGENT_DEFAULTS,
  type AnyTool,
  type BudgetLedger,
  type BudgetName,
  BudgetStop,
  InvalidOptionError,
  RUN_STATE_SCHEMA_VERSION,
  type RunState,
  type Runtime,
  type RuntimeResult,
  type RuntimeRunOptions,
  type Suspension,
} from 'loopwork';
import { createBudgetLedger } from 'loopwork/adapter-kit';
import { answerApprovals, suspensionOf } from './approvals';
import { OPENAI_AGENTS_DEFAULTS } from './defaults';
import { EventMapper } from './map-events';
import { type LoopworkTranscript, toLoopworkTranscript } from './messages';
import { runModels } from './models';
import { loadPeers, type Peers } from './peers';
import { type AgentsRunHandle, handleOf, RUNTIME_NAME } from './run-handle';
import { asError, errorRecord, failedBeforeStart, lastAssistantText } from './run-result';
import { type NeedsApproval, toAgentsTools } from './tools';

// biome-ignore lint/suspicious/noExplicitAny: an agent of any context and output type.
type AnyAgent = Agent<any, any>;

/** What `createAgent` is given, per run. */
export interface OpenAIAgentsContext {
  /** The settings' loopwork tools as SDK tools (`tool()`): give them to your agent. */
  tools: FunctionTool[];
  /** The settings' instructions. */
  instructions?: string;
  /** The run the agent serves. */
  runId: string;
}

/** Settings of {@link openAIAgentsRuntime}. */
export interface OpenAIAgentsRuntimeSettings {
  /** The agent to run; the settings' loopwork tools are added to its own. Give this or `createAgent`. */
  // biome-ignore lint/suspicious/noExplicitAny: an agent of any context and output type.
  agent?: Agent<any, any>;
  /** Builds the agent of one run (with the loopwork tools of the settings). Give this or `agent`. */
  // biome-ignore lint/suspicious/noExplicitAny: an agent of any context and output type.
  createAgent?: (context: OpenAIAgentsContext) => Agent<any, any> | Promise<Agent<any, any>>;
  /**
   * The model of agents that name none, through loopwork's budget checks: an SDK `Model`, or a
   * model name resolved by `modelProvider`. Agents that name a model get it from
   * `modelProvider`, budgeted too; an agent holding a `Model` object is refused (the SDK would
   * call it past the budget): pass that Model here instead.
   * @defaultValue the SDK's default model name, from `modelProvider`
   */
  model?: Model | string;
  /** Resolves model names. @defaultValue the SDK's `OpenAIProvider` (reads `OPENAI_API_KEY`) */
  modelProvider?: ModelProvider;
  /** Id of `model` (a Model object) for prices and turn records. @defaultValue its `modelId` or `model` field; a named model's id is its name */
  modelId?: string;
  /** Instructions of the agent the runtime builds when given neither `agent` nor `createAgent`. */
  instructions?: string;
  /** loopwork tools (`defineTool`), given to the agent as SDK tools. */
  tools?: AnyTool[];
  /** loopwork tools (by name) whose calls wait for a person's approval, or a function deciding per call. */
  needsApproval?: NeedsApproval;
  /** More SDK run settings (guardrails, tracing, …). @defaultValue `{ tracingDisabled: true }` */
  runConfig?: Partial<Omit<RunConfig, 'model' | 'modelProvider'>>;
  /** Model calls per run, when the run's limits set none. @defaultValue AGENT_DEFAULTS.maxTurns */
  maxTurns?: number;
  /** Largest output of one call before budgets clamp it. @defaultValue AGENT_DEFAULTS.maxTokensPerCall */
  maxTokensPerCall?: number;
  /** Smallest output worth a call. @defaultValue AGENT_DEFAULTS.minTokensPerCall */
  minTokensPerCall?: number;
  /** Time a loopwork tool may run. @defaultValue AGENT_DEFAULTS.toolTimeoutMs */
  toolTimeoutMs?: number;
  /** Prompt tokens of a call, estimated before it is made. @defaultValue a high guess from the request's JSON */
  estimateInputTokens?: (request: AgentsModelRequest) => number;
}

type Ending = { status: RuntimeResult['status']; budget?: BudgetName; error?: Error };

/** One run of the runtime. */
class AgentsRun {
  private readonly ledger: BudgetLedger;
  private readonly prior: RunState | undefined;
  private readonly priorHandle: AgentsRunHandle | undefined;
  private readonly mapper: EventMapper;
  private transcript: LoopworkTranscript = { messages: [] };
  private handle: AgentsRunHandle | undefined;
  private live: AgentsRunState<unknown, AnyAgent> | undefined;
  private checkpointedTurn: number | undefined;
  private ready: (state: AgentsRunState<unknown, AnyAgent>) => void = () => {};
  private readonly liveReady = new Promise<AgentsRunState<unknown, AnyAgent>>((resolve) => {
    this.ready = resolve;
  });

  constructor(
    private readonly peers: Peers,
    private readonly settings: OpenAIAgentsRuntimeSettings,
    private readonly options: RuntimeRunOptions,
  ) {
    this.prior = options.resumeFrom?.state;
    this.ledger = createBudgetLedger({
      ...options.limits,
      maxTurns: options.limits.maxTurns ?? settings.maxTurns ?? AGENT_DEFAULTS.maxTurns,
      ...(this.prior ? { turns: this.prior.turns } : {}),
      ...(settings.maxTokensPerCall === undefined
        ? {}
        : { maxTokensPerCall: settings.maxTokensPerCall }),
      ...(settings.minTokensPerCall === undefined
        ? {}
        : { minTokensPerCall: settings.minTokensPerCall }),
    });
    this.priorHandle =
      this.prior && handleOf(this.prior.runtime, `run state "${this.prior.runId}"`);
    this.handle = this.priorHandle;
    if (this.prior) {
      const { system, messages } = this.prior;
      this.transcript = { ...(system === undefined ? {} : { system }), messages };
    }
    this.mapper = new EventMapper(options.runId, options.emit, this.prior?.turns.length ?? 0);
  }

  private stateOf(status: RunState['status'], suspensions: Suspension[], error?: Error): RunState {
    const { system } = this.transcript;
    return {
      schemaVersion: RUN_STATE_SCHEMA_VERSION,
      runId: this.options.runId,
      status,
      ...(system === undefined ? {} : { system }),
      messages: this.transcript.messages,
      turns: this.ledger.turns(),
      toolResults: [],
      suspensions,
      ...(error ? { error: errorRecord(error) } : {}),
      ...(this.handle ? { runtime: { name: RUNTIME_NAME, handle: this.handle } } : {}),
    };
  }

  /** Takes the SDK state as it is now: its serialized form as the handle, its history as the transcript. */
  private capture(state: AgentsRunState<unknown, AnyAgent>, system: string | undefined): void {
    this.handle = { version: 1, state: state.toString() };
    this.transcript = toLoopworkTranscript(state.history, system);
  }

  private async buildAgent(): Promise<AnyAgent> {
    const { settings, options, peers } = this;
    if (settings.agent && settings.createAgent) {
      throw new InvalidOptionError(
        '[loopwork:openai-agents] give either agent or createAgent, not both',
      );
    }
    const tools = toAgentsTools(peers, settings.tools ?? [], {
      runId: options.runId,
      turn: () => this.ledger.turns().length,
      ...(settings.toolTimeoutMs === undefined ? {} : { toolTimeoutMs: settings.toolTimeoutMs }),
      ...(settings.needsApproval === undefined ? {} : { needsApproval: settings.needsApproval }),
      onOutcome: (id, outcome) => this.mapper.outcome(id, outcome),
    });
    let agent: AnyAgent;
    if (settings.createAgent) {
      agent = await settings.createAgent({
        tools,
        runId: options.runId,
        ...(settings.instructions === undefined ? {} : { instructions: settings.instructions }),
      });
    } else if (settings.agent) {
      agent =
        tools.length > 0
          ? settings.agent.clone({ tools: [...settings.agent.tools, ...tools] })
          : settings.agent;
    } else {
      agent = new peers.Agent({
        name: OPENAI_AGENTS_DEFAULTS.agentName,
        ...(settings.instructions === undefined ? {} : { instructions: settings.instructions }),
        tools,
      });
    }
    if (!(agent instanceof peers.Agent)) {
      throw new InvalidOptionError(
        '[loopwork:openai-agents] createAgent must return an Agent of @openai/agents (new Agent({ … }))',
      );
    }
    return agent;
  }

  /** What `Runner.run` is given: the prompt, the conversation so far and the prompt, or a state to continue. */
  private async inputFor(
    agent: AnyAgent,
  ): Promise<string | AgentInputItem[] | AgentsRunState<unknown, AnyAgent>> {
    const { input, resumeFrom } = this.options;
    const { RunState: SdkRunState } = this.peers;
    const handle = this.priorHandle;
    if (resumeFrom?.kind === 'attempt' && handle)
      return SdkRunState.fromString(agent, handle.state);
    if (resumeFrom?.kind === 'session' && handle) {
      const state = await SdkRunState.fromString(agent, handle.state);
      if (input.answers !== undefined) {
        if (input.prompt !== undefined) {
          throw new InvalidOptionError(
            '[loopwork:openai-agents] a run gets either answers or a prompt: send the answers first, then the prompt as a follow-up',
          );
        }
        for (const item of state.getInterruptions()) {
          const { toolCallId, toolName, payload } = suspensionOf(item);
          this.mapper.answered.set(toolCallId, {
            toolName,
            input: (payload as { input: unknown }).input,
          });
        }
        for (const id of answerApprovals(state, input.answers)) this.mapper.rejected.add(id);
        return state;
      }
      if (state.getInterruptions().length > 0) {
        const waiting = state
          .getInterruptions()
          .map((item) => suspensionOf(item).toolCallId)
          .join(', ');
        throw new InvalidOptionError(
          `[loopwork:openai-agents] the conversation is waiting for answers to ${waiting}; continue it with answers (true to approve, false to reject)`,
        );
      }
      if (input.prompt === undefined)
        throw new InvalidOptionError('[loopwork:openai-agents] a follow-up needs a prompt');
      return [...state.history, { role: 'user', content: input.prompt }];
    }
    if (input.prompt === undefined) {
      throw new InvalidOptionError(
        '[loopwork:openai-agents] prompt is required: there is no OpenAI Agents run to continue',
      );
    }
    return input.prompt;
  }

  /** Checkpoints the run as it is before a model call: the point a crashed run continues from. */
  private async beforeCall(system: string | undefined): Promise<void> {
    const state = this.live ?? (await this.liveReady);
    // A call in the same turn as the last checkpoint is a retry, or an agent run as a tool
    // (`asTool`, on this run's models) while the turn's tools run: the run's state is mid-turn
    // then, not a point to continue from.
    if (state._currentTurn === this.checkpointedTurn) return;
    this.checkpointedTurn = state._currentTurn;
    this.capture(state, system);
    await this.options.checkpoint(this.stateOf('running', []));
    this.options.signal.throwIfAborted();
  }

  /** Why the run stopped, from what it threw. */
  private endingOf(error: unknown): Ending {
    if (this.options.signal.aborted) return { status: 'aborted' };
    for (let cause = error; cause; cause = (cause as { cause?: unknown }).cause) {
      if (BudgetStop.isInstance(cause))
        return { status: cause.status, ...(cause.budget ? { budget: cause.budget } : {}) };
      if (cause instanceof this.peers.MaxTurnsExceededError) return { status: 'max_turns' };
    }
    return { status: 'failed', error: asError(error) };
  }

  async run(): Promise<RuntimeResult> {
    const { options, settings } = this;
    options.emit({
      type: 'run-started',
      runId: options.runId,
      resumed: options.resumeFrom !== undefined,
      turnsSoFar: this.prior?.turns.length ?? 0,
    });
    // A redelivered run that had already ended: its ending stands, nothing runs again. A failed
    // one is retried from its last good point (the handle a failure leaves is the one before it).
    const ended: RunState['status'][] = ['completed', 'max_turns', 'budget_exceeded', 'suspended'];
    if (options.resumeFrom?.kind === 'attempt' && this.prior && ended.includes(this.prior.status)) {
      const { status, suspensions } = this.prior;
      return this.finish(
        { status: status as Ending['status'] },
        suspensions,
        lastAssistantText(this.prior),
      );
    }
    let ending: Ending | undefined;
    let result: StreamedRunResult<unknown, AnyAgent> | undefined;
    let system: string | undefined;
    try {
      const agent = await this.buildAgent();
      system = typeof agent.instructions === 'string' ? agent.instructions : undefined;
      const models = await runModels(this.peers, agent, {
        ledger: this.ledger,
        beforeCall: () => this.beforeCall(system),
        onCall: (event) => this.mapper.nestedCall(event),
        ...(settings.model === undefined ? {} : { model: settings.model }),
        ...(settings.modelProvider ? { modelProvider: settings.modelProvider } : {}),
        ...(settings.modelId === undefined ? {} : { modelId: settings.modelId }),
        ...(settings.estimateInputTokens
          ? { estimateInputTokens: settings.estimateInputTokens }
          : {}),
      });
      const runner = new this.peers.Runner({
        tracingDisabled: true,
        ...settings.runConfig,
        ...models,
      });
      const input = await this.inputFor(agent);
      result = await runner.run(agent, input as string, {
        stream: true,
        signal: options.signal,
        maxTurns: OPENAI_AGENTS_DEFAULTS.sdkMaxTurns,
      });
      this.live = result.state as AgentsRunState<unknown, AnyAgent>;
      this.ready(this.live);
      for await (const event of result) this.mapper.handle(event);
      await result.completed;
      if (result.error) throw result.error;
    } catch (error) {
      ending = this.endingOf(error);
    }
    // The SDK ends an aborted run quietly, as if it were done.
    if (options.signal.aborted) ending = { status: 'aborted' };
    if (!result || ending?.status === 'aborted') {
      return this.finish(ending ?? { status: 'failed' }, []);
    }
    let suspensions: Suspension[] = [];
    let output: unknown;
    try {
      // After a failure the SDK's state is wherever it broke: the last checkpoint's stays.
      if (ending?.status !== 'failed')
        this.capture(result.state as AgentsRunState<unknown, AnyAgent>, system);
      suspensions = (result.interruptions ?? []).map(suspensionOf);
      if (!ending && suspensions.length === 0) output = result.finalOutput;
    } catch (error) {
      ending ??= this.endingOf(error);
    }
    if (!ending) {
      const budget = this.mapper.budgetStop;
      ending =
        suspensions.length > 0
          ? { status: 'suspended' }
          : budget
            ? { status: 'budget_exceeded', budget }
            : { status: 'completed' };
    }
    if (ending.status !== 'suspended') suspensions = [];
    try {
      await options.checkpoint(this.stateOf(ending.status, suspensions, ending.error));
    } catch (error) {
      if (ending.status !== 'failed') ending = this.endingOf(error);
    }
    if (ending.status === 'suspended')
      options.emit({ type: 'suspended', runId: options.runId, suspensions });
    return this.finish(ending, suspensions, output);
  }

  private finish(ending: Ending, suspensions: Suspension[], output?: unknown): RuntimeResult {
    const error =
      ending.status === 'failed'
        ? (ending.error ?? new Error(`[loopwork:openai-agents] run ${this.options.runId} failed`))
        : undefined;
    const { usage, costUsd } = this.ledger.spent();
    this.options.emit({
      type: 'run-finished',
      runId: this.options.runId,
      status: ending.status,
      turns: this.ledger.turns().length,
      usage,
      costUsd,
    });
    return {
      status: ending.status,
      ...(output === undefined ? {} : { output }),
      state: this.stateOf(ending.status, suspensions, error),
      usage,
      costUsd,
      ...(ending.budget ? { budget: ending.budget } : {}),
      ...(error ? { error } : {}),
    };
  }
}

/**
 * A {@link Runtime} that runs an OpenAI Agents SDK agent (`@openai/agents` 0.14) with
 * `Runner.run` in streaming mode. loopwork adds hard budgets (every model call goes through a
 * budgeted `Model` that asks the budget ledger first and caps `modelSettings.maxTokens`; a call
 * that cannot fit ends the run `budget_exceeded`), checkpoints (the SDK's `RunState` as a string,
 * saved before every model call, so a crashed run continues on another worker without repeating
 * the tool calls it checkpointed), live events, cancel (the run's signal), and approvals (a tool
 * call that needs approval suspends the run; `answers` approve or reject it).
 *
 * @example
 * ```ts
 * const runtime = openAIAgentsRuntime({ model: 'gpt-5.4-mini', instructions: 'Answer briefly.', tools: [getWeather] });
 * const assistant = runtimeTask({ type: 'assistant', checkpoints, runtime, limits: { maxCostUsd: 0.5 } });
 * ```
 */
export function openAIAgentsRuntime(settings: OpenAIAgentsRuntimeSettings): Runtime {
  return {
    specificationVersion: 'loopwork.runtime.v1',
    name: RUNTIME_NAME,
    async run(options) {
      let run: AgentsRun;
      try {
        run = new AgentsRun(await loadPeers(), settings, options);
      } catch (error) {
        return failedBeforeStart(options, asError(error));
      }
      return run.run();
    },
  };
}
