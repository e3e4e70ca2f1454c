import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Options, SDKMessage, SDKUserMessage } from '@anthropic-ai/claude-agent-sdk';
import {
  AGENT_DEFAULTS,
  type AnyTool,
  type BudgetLedger,
  type BudgetName,
  createRedactor,
  InvalidOptionError,
  LoopworkError,
  RUN_STATE_SCHEMA_VERSION,
  type RunState,
  type Runtime,
  type RuntimeResult,
  type RuntimeRunOptions,
  type ToolResultPart,
} from 'loopwork';
import {
  createBudgetLedger,
  describeThrown,
  failedBeforeStart,
  runtimeErrorRecord,
} from 'loopwork/adapter-kit';
import { type BudgetProxy, type BudgetProxyUpstream, budgetProxy } from './budget-proxy';
import { ClaudeProcess } from './claude-process';
import { CLAUDE_AGENT_SDK_DEFAULTS } from './defaults';
import { HookEvents } from './hook-events';
import { MessageMapper } from './map-messages';
import { type ClaudeAgentSdk, loadSdk } from './peers';
import { mcpToolName, toSdkMcpServer } from './sdk-tools';
import {
  type ClaudeSessionHandle,
  RUNTIME_NAME,
  sessionOf,
  TranscriptStore,
} from './session-handle';
import { resultsById, transcriptOf, withCheckpointedResults } from './transcript';

/** Settings of {@link claudeAgentRuntime}. */
export interface ClaudeAgentRuntimeSettings {
  /** Model id Claude Code asks for (and the price table is looked up by), e.g. `claude-sonnet-4-5`. */
  model: string;
  /** Where the budget proxy forwards the agent's model calls. @defaultValue the Anthropic API with `ANTHROPIC_API_KEY` */
  upstream?: BudgetProxyUpstream;
  /** loopwork tools (`defineTool` with a zod object input), served to the agent as an in-process MCP server. */
  tools?: AnyTool[];
  /** System prompt (replaces Claude Code's). */
  systemPrompt?: string;
  /** Claude Code's built-in tools to enable (they are also allowed). @defaultValue CLAUDE_AGENT_SDK_DEFAULTS.builtinTools */
  builtinTools?: string[];
  /** Working directory of the agent. @defaultValue process.cwd() */
  cwd?: string;
  /** Path of the `claude` binary. @defaultValue the one in the SDK's platform package */
  pathToClaudeCodeExecutable?: string;
  /** More environment for the Claude Code process (over `process.env` and the defaults). */
  env?: Record<string, string>;
  /** Model calls per run, when the run's limits set none. @defaultValue AGENT_DEFAULTS.maxTurns */
  maxTurns?: number;
  /** Largest output of one call before budgets clamp it. @defaultValue CLAUDE_AGENT_SDK_DEFAULTS.maxTokensPerCall */
  maxTokensPerCall?: number;
  /** Smallest output worth a call. @defaultValue AGENT_DEFAULTS.minTokensPerCall */
  minTokensPerCall?: number;
  /** Time a loopwork tool may run. @defaultValue AGENT_DEFAULTS.toolTimeoutMs */
  toolTimeoutMs?: number;
  /** Prompt tokens of a request before it is sent (an exact count, e.g. from `count_tokens`). @defaultValue a high guess (3 bytes a token) */
  estimateInputTokens?(body: Record<string, unknown>): number;
  /** Other `query()` options, passed as they are (those the runtime owns are overridden). */
  options?: Partial<Options>;
}

/** What a resumed attempt tells Claude Code (its own words for an interrupted turn). */
export const CONTINUE = 'Continue from where you left off.';

type Prompt = { text: string; synthetic?: boolean };

type Ending = {
  status: RuntimeResult['status'];
  budget?: BudgetName;
  error?: Error;
  output?: unknown;
};

let redactor: ReturnType<typeof createRedactor> | undefined;

/** One run of the runtime. */
class ClaudeRun {
  private readonly ledger: BudgetLedger;
  private readonly prior: RunState | undefined;
  private readonly session: ClaudeSessionHandle | undefined;
  private readonly transcript: TranscriptStore;
  private readonly mapper: MessageMapper;
  private readonly toolResults = new Map<string, ToolResultPart>();
  private readonly serverName = CLAUDE_AGENT_SDK_DEFAULTS.mcpServerName;
  private checkpoints: Promise<void> = Promise.resolve();
  private checkpointError: unknown;
  private readonly process = new ClaudeProcess();

  constructor(
    private readonly sdk: ClaudeAgentSdk,
    private readonly settings: ClaudeAgentRuntimeSettings,
    private readonly options: RuntimeRunOptions,
  ) {
    this.prior = options.resumeFrom?.state;
    this.ledger = createBudgetLedger({
      ...options.limits,
      maxTurns: options.limits.maxTurns ?? settings.maxTurns ?? AGENT_DEFAULTS.maxTurns,
      ...(this.prior ? { turns: this.prior.turns } : {}),
      maxTokensPerCall: settings.maxTokensPerCall ?? CLAUDE_AGENT_SDK_DEFAULTS.maxTokensPerCall,
      ...(settings.minTokensPerCall === undefined
        ? {}
        : { minTokensPerCall: settings.minTokensPerCall }),
    });
    this.session = this.prior && sessionOf(this.prior.runtime, `run state "${this.prior.runId}"`);
    for (const part of this.prior?.toolResults ?? []) this.toolResults.set(part.toolCallId, part);
    this.transcript = new TranscriptStore(
      this.session?.sessionId,
      withCheckpointedResults(this.session?.entries ?? [], this.prior?.toolResults ?? []),
      () => this.checkpoint(),
    );
    this.mapper = new MessageMapper(options.runId, options.emit, () => this.ledger.turns().length);
  }

  /** The conversation as Claude Code recorded it (what a resume will continue from). */
  private messages() {
    return transcriptOf(this.transcript.entries, (name) =>
      name.replace(`mcp__${this.serverName}__`, ''),
    );
  }

  private stateOf(status: RunState['status'], error?: Error): RunState {
    const handle = this.transcript.handle();
    const messages = this.messages();
    const inTranscript = resultsById(messages);
    const system = this.settings.systemPrompt;
    return {
      schemaVersion: RUN_STATE_SCHEMA_VERSION,
      runId: this.options.runId,
      status,
      ...(system === undefined ? {} : { system }),
      messages,
      turns: this.ledger.turns(),
      toolResults: [...this.toolResults.values()].filter(
        (part) => !inTranscript.has(part.toolCallId),
      ),
      suspensions: [],
      ...(error ? { error: runtimeErrorRecord(error) } : {}),
      ...(handle ? { runtime: { name: RUNTIME_NAME, handle: structuredClone(handle) } } : {}),
    };
  }

  /** Saves a checkpoint after the ones before it (order kept; the last failure is remembered). */
  private checkpoint(): Promise<void> {
    const state = this.stateOf('running');
    this.checkpoints = this.checkpoints
      .then(() => this.options.checkpoint(state))
      .catch((error: unknown) => {
        this.checkpointError ??= error;
      });
    return this.checkpoints;
  }

  /** What Claude Code is sent: the prompt (if any), then an open input until the run ends. */
  private async *input(prompt: Prompt, ended: Promise<void>): AsyncGenerator<SDKUserMessage> {
    yield {
      type: 'user',
      message: { role: 'user', content: prompt.text },
      parent_tool_use_id: null,
      session_id: this.transcript.session ?? '',
      ...(prompt.synthetic ? { isSynthetic: true } : {}),
    } as SDKUserMessage;
    // In-process MCP tools answer over the input channel: it stays open until the result.
    await ended;
  }

  /** The prompt of this run; a synthetic one continues the interrupted turn of its session. */
  private promptOf(): Prompt {
    const { input, resumeFrom } = this.options;
    if (input.answers !== undefined) {
      throw new InvalidOptionError(
        '[loopwork:claude-agent-sdk] answers: the Claude Agent SDK runtime never suspends a run, so there is nothing to answer',
      );
    }
    // Sent as a message, not as CLAUDE_CODE_RESUME_INTERRUPTED_TURN: that re-runs the turn while
    // Claude Code boots, before the in-process MCP server is connected ("No such tool available").
    if (resumeFrom?.kind === 'attempt' && this.session) return { text: CONTINUE, synthetic: true };
    if (input.prompt === undefined) {
      throw new InvalidOptionError(
        '[loopwork:claude-agent-sdk] prompt is required: there is no Claude session to continue',
      );
    }
    return { text: input.prompt };
  }

  private async queryOptions(
    proxy: BudgetProxy,
    abortController: AbortController,
    configDir: string,
  ) {
    const { settings, options } = this;
    const hooks = new HookEvents(options.runId, options.emit, {
      turn: () => this.ledger.turns().length,
      toolName: (name) => name.replace(`mcp__${this.serverName}__`, ''),
      result: (id) => this.toolResults.get(id),
      afterTool: () => this.checkpoint(),
    });
    const tools = settings.tools ?? [];
    const builtins = settings.builtinTools ?? [...CLAUDE_AGENT_SDK_DEFAULTS.builtinTools];
    const maxTurns =
      (options.limits.maxTurns ?? settings.maxTurns ?? AGENT_DEFAULTS.maxTurns) -
      this.ledger.turns().length;
    const queryOptions: Options = {
      ...settings.options,
      model: settings.model,
      ...(settings.systemPrompt === undefined ? {} : { systemPrompt: settings.systemPrompt }),
      tools: builtins,
      mcpServers: {
        ...settings.options?.mcpServers,
        ...(tools.length > 0
          ? {
              [this.serverName]: toSdkMcpServer(this.sdk, this.serverName, tools, {
                runId: options.runId,
                turn: () => this.ledger.turns().length,
                signal: options.signal,
                ...(settings.toolTimeoutMs === undefined
                  ? {}
                  : { toolTimeoutMs: settings.toolTimeoutMs }),
                done: (id) => this.toolResults.get(id) ?? resultsById(this.messages()).get(id),
                onResult: (part) => void this.toolResults.set(part.toolCallId, part),
              }),
            }
          : {}),
      },
      allowedTools: [
        ...(settings.options?.allowedTools ?? []),
        ...builtins,
        ...tools.map((tool) => mcpToolName(this.serverName, tool.name)),
      ],
      // bypassPermissions refuses to run as root: dontAsk runs what allowedTools lists, denies the rest.
      permissionMode: settings.options?.permissionMode ?? 'dontAsk',
      settingSources: settings.options?.settingSources ?? [],
      maxTurns: Math.max(1, maxTurns),
      abortController,
      includePartialMessages: true,
      hooks: { ...settings.options?.hooks, ...hooks.hooks() },
      sessionStore: this.transcript.store(),
      sessionStoreFlush: 'eager',
      cwd: settings.cwd ?? process.cwd(),
      env: {
        ...process.env,
        ...CLAUDE_AGENT_SDK_DEFAULTS.env,
        ...settings.env,
        ANTHROPIC_BASE_URL: proxy.url,
        ANTHROPIC_API_KEY: proxy.token,
        ANTHROPIC_AUTH_TOKEN: '',
        CLAUDE_CONFIG_DIR: configDir,
      },
      ...(this.session ? { resume: this.session.sessionId } : {}),
      ...(settings.pathToClaudeCodeExecutable
        ? { pathToClaudeCodeExecutable: settings.pathToClaudeCodeExecutable }
        : {}),
      spawnClaudeCodeProcess: this.process.spawn,
    };
    return queryOptions;
  }

  async run(): Promise<RuntimeResult> {
    const { options } = this;
    options.emit({
      type: 'run-started',
      runId: options.runId,
      resumed: options.resumeFrom !== undefined,
      turnsSoFar: this.prior?.turns.length ?? 0,
    });
    let ending: Ending | undefined;
    let proxy: BudgetProxy | undefined;
    let configDir: string | undefined;
    const abortController = new AbortController();
    let endInput = () => {};
    const ended = new Promise<void>((resolve) => {
      endInput = resolve;
    });
    const onAbort = () => {
      proxy?.shutdown('[loopwork] the run was aborted');
      abortController.abort(options.signal.reason);
      endInput();
    };
    try {
      const prompt = this.promptOf();
      proxy = await budgetProxy({
        ledger: this.ledger,
        ...(this.settings.upstream ? { upstream: this.settings.upstream } : {}),
        ...(this.settings.estimateInputTokens
          ? { estimateInputTokens: this.settings.estimateInputTokens }
          : {}),
        onTurnStarted: ({ turn, maxOutputTokens, estimatedInputTokens }) =>
          options.emit({
            type: 'turn-started',
            runId: options.runId,
            turn,
            maxOutputTokens,
            estimatedInputTokens,
          }),
        onTurn: (record) =>
          options.emit({
            type: 'turn-finished',
            runId: options.runId,
            turn: record.turn,
            usage: record.usage,
            costUsd: record.costUsd,
            stopReason: record.stopReason,
          }),
      });
      configDir = await mkdtemp(join(tmpdir(), 'loopwork-claude-'));
      options.signal.addEventListener('abort', onAbort, { once: true });
      if (options.signal.aborted) onAbort();
      const queryOptions = await this.queryOptions(proxy, abortController, configDir);
      const messages = this.sdk.query({ prompt: this.input(prompt, ended), options: queryOptions });
      try {
        for await (const message of messages as AsyncIterable<SDKMessage>) {
          this.mapper.handle(message as never);
          if (message.type === 'assistant' || message.type === 'user') void this.checkpoint();
          if (message.type === 'result') {
            ending ??= this.endingOfResult(message, proxy);
            endInput();
          }
          if (options.signal.aborted) break;
        }
      } catch (error) {
        // The SDK's iterator throws after it has yielded an error result: the result decides.
        ending ??= this.endingOf(error, proxy);
      } finally {
        endInput();
        messages.close?.();
      }
    } catch (error) {
      ending ??= this.endingOf(error, proxy);
    } finally {
      options.signal.removeEventListener('abort', onAbort);
      endInput();
      await proxy?.close();
      // Claude Code writes its config dir until it exits.
      await this.process.exited();
      if (configDir) await rm(configDir, { recursive: true, force: true }).catch(() => {});
    }
    if (options.signal.aborted) ending = { status: 'aborted' };
    ending ??= proxy?.stop
      ? this.stopEnding(proxy)
      : {
          status: 'failed',
          error: new Error('[loopwork:claude-agent-sdk] the agent ended without a result'),
        };
    await this.checkpoints;
    if (this.checkpointError && ending.status !== 'aborted') {
      ending = {
        status: 'failed',
        error:
          this.checkpointError instanceof Error
            ? this.checkpointError
            : new Error(String(this.checkpointError)),
      };
    }
    return this.finish(ending);
  }

  private stopEnding(proxy: BudgetProxy): Ending {
    const stop = proxy.stop!;
    return { status: stop.status, ...(stop.budget ? { budget: stop.budget } : {}) };
  }

  private endingOfResult(
    message: Extract<SDKMessage, { type: 'result' }>,
    proxy: BudgetProxy,
  ): Ending {
    if (this.options.signal.aborted) return { status: 'aborted' };
    if (proxy.stop) return this.stopEnding(proxy);
    if (proxy.failure) return { status: 'failed', error: proxy.failure };
    if (message.subtype === 'success' && !message.is_error) {
      return { status: 'completed', output: message.result };
    }
    if (message.subtype === 'error_max_turns') return { status: 'max_turns' };
    if (message.subtype === 'error_max_budget_usd')
      return { status: 'budget_exceeded', budget: 'cost_usd' };
    const text = message.subtype === 'success' ? message.result : message.errors.join('; ');
    return {
      status: 'failed',
      error: this.failure(text || message.subtype),
    };
  }

  private endingOf(error: unknown, proxy: BudgetProxy | undefined): Ending {
    if (this.options.signal.aborted) return { status: 'aborted' };
    if (proxy?.stop) return this.stopEnding(proxy);
    if (proxy?.failure) return { status: 'failed', error: proxy.failure };
    if (LoopworkError.isInstance(error)) return { status: 'failed', error };
    return {
      status: 'failed',
      error: this.failure(error instanceof Error ? error.message : describeThrown(error), error),
    };
  }

  /** A failure of the agent, with the end of Claude Code's stderr, secrets redacted. */
  private failure(message: string, cause?: unknown): Error {
    redactor ??= createRedactor();
    const tail = this.process.stderrTail;
    const text = `[loopwork:claude-agent-sdk] ${message}${tail ? `\nclaude stderr: ${tail}` : ''}`;
    return new Error(redactor.string(text), cause === undefined ? undefined : { cause });
  }

  private async finish(ending: Ending): Promise<RuntimeResult> {
    const { options } = this;
    const state = this.stateOf(ending.status, ending.error);
    try {
      await options.checkpoint(state);
    } catch (error) {
      if (ending.status !== 'failed' && ending.status !== 'aborted') {
        ending = {
          status: 'failed',
          error: error instanceof Error ? error : new Error(String(error)),
        };
      }
    }
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
      ...(ending.output === undefined ? {} : { output: ending.output }),
      state: { ...state, status: ending.status },
      usage,
      costUsd,
      ...(ending.budget ? { budget: ending.budget } : {}),
      ...(ending.error ? { error: ending.error } : {}),
    };
  }
}

/**
 * A {@link Runtime} that runs Claude Code through the Claude Agent SDK (`query()`), with
 * loopwork's orchestration around it: hard budgets (every model call goes through a loopback
 * budget proxy that clamps it with the run's ledger before it is made), checkpoints (the session
 * id and its transcript are in the run state, so another worker resumes the session), live events
 * (streamed text, tool calls from PreToolUse/PostToolUse hooks, each call's usage), cancel (the
 * run's signal aborts the query and the proxy refuses every further call) and loopwork tools as an
 * in-process MCP server with idempotency keys.
 *
 * @example
 * ```ts
 * const runtime = claudeAgentRuntime({ model: 'claude-sonnet-4-5', tools: [getWeather] });
 * const assistant = runtimeTask({ type: 'assistant', checkpoints, runtime, limits: { maxCostUsd: 0.5 } });
 * ```
 */
export function claudeAgentRuntime(settings: ClaudeAgentRuntimeSettings): Runtime {
  if (typeof settings?.model !== 'string' || settings.model.trim() === '') {
    throw new InvalidOptionError(
      `[loopwork:claude-agent-sdk] model must be a non-empty string (e.g. 'claude-sonnet-4-5'), got ${JSON.stringify(settings?.model)}`,
    );
  }
  return {
    specificationVersion: 'loopwork.runtime.v1',
    name: RUNTIME_NAME,
    async run(options) {
      let run: ClaudeRun;
      try {
        run = new ClaudeRun(await loadSdk(), settings, options);
      } catch (error) {
        return failedBeforeStart(
          options,
          error instanceof Error ? error : new Error(String(error)),
        );
      }
      return run.run();
    },
  };
}
