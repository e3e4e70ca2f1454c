import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import type { BaseMessage } from '@langchain/core/messages';
import type { RunnableConfig } from '@langchain/core/runnables';
import type { StructuredToolInterface } from '@langchain/core/tools';
import type { StreamEvent } from '@langchain/core/tracers/log_stream';
import type { StateSnapshot } from '@langchain/langgraph';
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
import { createBudgetLedger, failedBeforeStart, runtimeErrorRecord } from 'loopwork/adapter-kit';
import {
  type BudgetedChatModel,
  type BudgetedChatModelOptions,
  budgetedClass,
} from './budgeted-chat-model';
import { type LoopworkCheckpointSaver, saverClass, type ThreadStorage } from './checkpointer';
import { LANGGRAPH_DEFAULTS } from './defaults';
import { EventMapper } from './map-events';
import {
  isMessageList,
  type LoopworkTranscript,
  lastAssistantText,
  toLoopworkTranscript,
} from './messages';
import { loadPeers, type Peers } from './peers';
import { RUNTIME_NAME, type ThreadHandle, threadOf } from './thread-handle';
import { isSuspendValue, toLangChainTools } from './tools';

/** What a graph factory is given, per run. */
export interface LangGraphContext {
  /** The run's budgeted chat model: the settings' model behind loopwork's budget checks. */
  model: BudgetedChatModel;
  /** The settings' loopwork tools as LangChain tools. */
  tools: StructuredToolInterface[];
  /** The settings' system prompt. */
  system?: string;
  /** The run the graph serves. */
  runId: string;
}

/** The parts of a compiled LangGraph graph the runtime uses (any `StateGraph(...).compile()`). */
export interface LangGraphGraph {
  /** Set by the runtime to its own checkpointer before the run. */
  checkpointer?: unknown;
  /** Runs the graph, streaming LangChain's events (the runtime asks for version `v2`). */
  streamEvents(input: unknown, options: never): AsyncIterable<StreamEvent>;
  /** The thread's state: values, next tasks, pending interrupts. */
  getState(config: RunnableConfig): Promise<StateSnapshot>;
}

/** Settings of {@link langGraphRuntime}. */
export interface LangGraphRuntimeSettings
  extends Pick<BudgetedChatModelOptions, 'modelId' | 'setMaxTokens' | 'estimateInputTokens'> {
  /** The LangChain chat model every run's graph calls, through loopwork's budget checks. */
  model: BaseChatModel;
  /** loopwork tools (`defineTool`), given to the graph as LangChain tools. */
  tools?: AnyTool[];
  /** System prompt (of the default agent; passed to your graph factory). */
  system?: string;
  /**
   * Builds the graph of one run from the budgeted model and the tools. Every model call of the
   * graph must use `model` for the budgets to hold. The runtime sets the graph's checkpointer.
   * @defaultValue a prebuilt ReAct agent: `createReactAgent({ llm: model, tools, prompt: system, version: 'v2' })`
   */
  graph?: (context: LangGraphContext) => LangGraphGraph | Promise<LangGraphGraph>;
  /** Model calls per run, when the run's limits set none. @defaultValue AGENT_DEFAULTS.maxTurns */
  maxTurns?: number;
  /** Largest output of one call before budgets clamp it. @defaultValue AGENT_DEFAULTS.maxTokensPerCall */
  maxTokensPerCall?: number;
  /** Smallest output worth a call. @defaultValue AGENT_DEFAULTS.minTokensPerCall */
  minTokensPerCall?: number;
  /** Time a loopwork tool may run. @defaultValue AGENT_DEFAULTS.toolTimeoutMs */
  toolTimeoutMs?: number;
  /** LangGraph's recursion limit. @defaultValue LANGGRAPH_DEFAULTS.recursionLimit */
  recursionLimit?: number;
  /** When the graph saves checkpoints. @defaultValue LANGGRAPH_DEFAULTS.durability */
  durability?: 'sync' | 'async' | 'exit';
  /** Checkpoints kept per namespace of the thread. @defaultValue LANGGRAPH_DEFAULTS.keepCheckpoints */
  keepCheckpoints?: number;
}

type Ending = { status: RuntimeResult['status']; budget?: BudgetName; error?: Error };

/** A pending interrupt of the thread, as loopwork shows it: a suspended call. */
interface PendingInterrupt {
  interruptId: string;
  suspension: Suspension;
}

function interruptsOf(snapshot: StateSnapshot): PendingInterrupt[] {
  // A task answered since keeps its old interrupt among the writes, next to its result.
  const waiting = snapshot.tasks.filter((task) => task.result === undefined);
  return waiting.flatMap((task) =>
    (task.interrupts ?? []).map((pending) => {
      const interruptId = pending.id ?? task.id;
      const value = pending.value;
      return {
        interruptId,
        suspension: isSuspendValue(value)
          ? { toolCallId: value.toolCallId, toolName: value.toolName, payload: value.payload }
          : { toolCallId: interruptId, toolName: task.name, payload: value },
      };
    }),
  );
}

/** One run of the runtime. */
class GraphRun {
  private readonly ledger: BudgetLedger;
  private readonly prior: RunState | undefined;
  private readonly thread: ThreadHandle | undefined;
  private readonly threadId: string;
  private readonly saver: LoopworkCheckpointSaver;
  private transcript: LoopworkTranscript = { messages: [] };
  private handle: ThreadHandle | undefined;

  constructor(
    private readonly peers: Peers,
    private readonly settings: LangGraphRuntimeSettings,
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
    // A state without a LangGraph thread (written by loopwork's own loop) is refused, not restarted.
    this.thread =
      this.prior &&
      threadOf(
        this.prior.runtime ?? { name: 'loopwork', handle: undefined },
        `run state "${this.prior.runId}"`,
      );
    this.threadId = this.thread?.threadId ?? options.runId;
    this.handle = this.thread;
    if (this.prior) {
      const { system, messages } = this.prior;
      this.transcript = { ...(system === undefined ? {} : { system }), messages };
    }
    const Saver = saverClass(peers);
    this.saver = new Saver({
      storage: this.storage(),
      ...(settings.keepCheckpoints === undefined
        ? {}
        : { keepCheckpoints: settings.keepCheckpoints }),
    });
  }

  /** The thread lives in the run's checkpoints: every save of the graph is a checkpoint of the run. */
  private storage(): ThreadStorage {
    return {
      shared: false,
      read: async () => this.thread && { handle: this.thread, transcript: this.transcript },
      write: async (_threadId, handle, transcript) => {
        this.handle = handle;
        this.transcript = transcript;
        await this.options.checkpoint(this.stateOf('running', []));
      },
      remove: async () => {
        this.handle = undefined;
      },
    };
  }

  private stateOf(status: RunState['status'], suspensions: Suspension[], error?: Error): RunState {
    const system = this.transcript.system ?? this.settings.system;
    return {
      schemaVersion: RUN_STATE_SCHEMA_VERSION,
      runId: this.options.runId,
      status,
      ...(system === undefined ? {} : { system }),
      messages: this.transcript.messages,
      turns: this.ledger.turns(),
      toolResults: [],
      suspensions,
      ...(error ? { error: runtimeErrorRecord(error) } : {}),
      ...(this.handle ? { runtime: { name: RUNTIME_NAME, handle: this.handle } } : {}),
    };
  }

  private emitFinished(status: RunState['status']): void {
    const { usage, costUsd } = this.ledger.spent();
    this.options.emit({
      type: 'run-finished',
      runId: this.options.runId,
      status,
      turns: this.ledger.turns().length,
      usage,
      costUsd,
    });
  }

  private async buildGraph(): Promise<LangGraphGraph> {
    const { settings, options, peers } = this;
    const Budgeted = budgetedClass(peers);
    const model = new Budgeted({
      model: settings.model,
      ledger: this.ledger,
      ...(settings.modelId === undefined ? {} : { modelId: settings.modelId }),
      ...(settings.setMaxTokens ? { setMaxTokens: settings.setMaxTokens } : {}),
      ...(settings.estimateInputTokens
        ? { estimateInputTokens: settings.estimateInputTokens }
        : {}),
    }) as unknown as BudgetedChatModel;
    const tools = toLangChainTools(peers, settings.tools ?? [], {
      runId: options.runId,
      turn: () => this.ledger.turns().length,
      ...(settings.toolTimeoutMs === undefined ? {} : { toolTimeoutMs: settings.toolTimeoutMs }),
    });
    const graph = settings.graph
      ? await settings.graph({
          model,
          tools,
          runId: options.runId,
          ...(settings.system === undefined ? {} : { system: settings.system }),
        })
      : (peers.prebuilt.createReactAgent({
          llm: model,
          tools,
          ...(settings.system === undefined ? {} : { prompt: settings.system }),
          version: 'v2',
        }) as unknown as LangGraphGraph);
    if (typeof graph?.streamEvents !== 'function' || typeof graph.getState !== 'function') {
      throw new InvalidOptionError(
        '[loopwork:langgraph] graph must return a compiled graph (StateGraph(...).compile()), with streamEvents and getState',
      );
    }
    graph.checkpointer = this.saver;
    return graph;
  }

  /** What the graph is called with: the prompt, `null` to continue, or a `Command` with answers. */
  private async inputFor(graph: LangGraphGraph, config: RunnableConfig): Promise<unknown> {
    const { input, resumeFrom } = this.options;
    const { HumanMessage } = this.peers.messages;
    if (resumeFrom?.kind === 'attempt' && this.thread) return null;
    if (resumeFrom?.kind === 'session' && this.thread) {
      if (input.answers !== undefined) {
        if (input.prompt !== undefined) {
          throw new InvalidOptionError(
            '[loopwork:langgraph] a run gets either answers or a prompt: send the answers first, then the prompt as a follow-up',
          );
        }
        const pending = interruptsOf(await graph.getState(config));
        const resume: Record<string, unknown> = {};
        for (const [key, answer] of Object.entries(input.answers)) {
          const found = pending.find((p) => p.suspension.toolCallId === key);
          if (!found) {
            const waiting = pending.map((p) => p.suspension.toolCallId).join(', ') || 'none';
            throw new InvalidOptionError(
              `[loopwork:langgraph] answers: no suspended tool call "${key}" (waiting: ${waiting})`,
            );
          }
          resume[found.interruptId] = answer;
        }
        return new this.peers.langgraph.Command({ resume });
      }
      if (this.prior?.status === 'suspended') {
        const waiting = this.prior.suspensions.map((s) => s.toolCallId).join(', ');
        throw new InvalidOptionError(
          `[loopwork:langgraph] the conversation is waiting for answers to ${waiting}; continue it with answers`,
        );
      }
    }
    if (input.prompt === undefined) {
      throw new InvalidOptionError(
        '[loopwork:langgraph] prompt is required: there is no LangGraph thread to continue',
      );
    }
    return { messages: [new HumanMessage(input.prompt)] };
  }

  /** Why the graph stopped, from what it threw. */
  private endingOf(error: unknown): Ending {
    if (this.options.signal.aborted) return { status: 'aborted' };
    for (let cause = error; cause; cause = (cause as { cause?: unknown }).cause) {
      if (BudgetStop.isInstance(cause)) {
        return { status: cause.status, ...(cause.budget ? { budget: cause.budget } : {}) };
      }
    }
    if ((error as { name?: unknown } | null)?.name === 'GraphRecursionError')
      return { status: 'max_turns' };
    return { status: 'failed', error: error instanceof Error ? error : new Error(String(error)) };
  }

  async run(): Promise<RuntimeResult> {
    const { options } = this;
    options.emit({
      type: 'run-started',
      runId: options.runId,
      resumed: options.resumeFrom !== undefined,
      turnsSoFar: this.prior?.turns.length ?? 0,
    });
    const mapper = new EventMapper(options.runId, options.emit, this.prior?.turns.length ?? 0);
    const config: RunnableConfig = { configurable: { thread_id: this.threadId } };
    let ending: Ending | undefined;
    let graph: LangGraphGraph | undefined;
    try {
      graph = await this.buildGraph();
      const input = await this.inputFor(graph, config);
      const events = graph.streamEvents(input, {
        ...config,
        version: 'v2',
        signal: options.signal,
        recursionLimit: this.settings.recursionLimit ?? LANGGRAPH_DEFAULTS.recursionLimit,
        durability: this.settings.durability ?? LANGGRAPH_DEFAULTS.durability,
      } as never);
      for await (const event of events) mapper.handle(event);
    } catch (error) {
      ending = this.endingOf(error);
    }
    try {
      await this.saver.flush();
    } catch (error) {
      ending ??= this.endingOf(error);
    }
    if (ending?.status === 'aborted' || !graph)
      return this.finish(ending ?? { status: 'failed' }, []);

    let suspensions: Suspension[] = [];
    let output: unknown;
    try {
      const snapshot = await graph.getState(config);
      const values = snapshot.values as Record<string, unknown> | undefined;
      const messages = values?.messages;
      if (isMessageList(messages)) {
        this.transcript = toLoopworkTranscript(messages as BaseMessage[]);
        output = lastAssistantText(messages as BaseMessage[]);
      } else output = values;
      suspensions = interruptsOf(snapshot).map((p) => p.suspension);
    } catch (error) {
      ending ??= this.endingOf(error);
    }
    if (!ending) {
      const budget = mapper.budgetStop;
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
        ? (ending.error ?? new Error(`[loopwork:langgraph] run ${this.options.runId} failed`))
        : undefined;
    this.emitFinished(ending.status);
    const { usage, costUsd } = this.ledger.spent();
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
 * A {@link Runtime} that runs a LangGraph graph — by default a prebuilt ReAct agent over the
 * settings' model and loopwork tools. loopwork adds hard budgets (every model call goes through
 * the budget ledger, clamped before it is made), checkpoints (the graph's LangGraph checkpoints
 * are the run's checkpoints, so a crashed run continues on another worker), live events
 * (`streamEvents` mapped to `AgentEvent`s), cancel (the run's signal), and human-in-the-loop
 * (an `interrupt` suspends the run; `answers` resume it with `Command({ resume })`).
 *
 * @example
 * ```ts
 * const runtime = langGraphRuntime({ model: new ChatAnthropic({ model: 'claude-sonnet-5-5' }), tools: [getWeather] });
 * const assistant = runtimeTask({ type: 'assistant', checkpoints, runtime, limits: { maxCostUsd: 0.5 } });
 * ```
 */
export function langGraphRuntime(settings: LangGraphRuntimeSettings): Runtime {
  return {
    specificationVersion: 'loopwork.runtime.v1',
    name: RUNTIME_NAME,
    async run(options) {
      let peers: Peers;
      let run: GraphRun;
      try {
        peers = await loadPeers();
        run = new GraphRun(peers, settings, options);
      } catch (error) {
        const failure = error instanceof Error ? error : new Error(String(error));
        return failedBeforeStart(options, failure);
      }
      return run.run();
    },
  };
}
