import type { CallbackManagerForLLMRun } from '@langchain/core/callbacks/manager';
import type { BaseLanguageModelInput } from '@langchain/core/language_models/base';
import type {
  BaseChatModel,
  BaseChatModelCallOptions,
  BindToolsInput,
} from '@langchain/core/language_models/chat_models';
import type { AIMessageChunk, BaseMessage } from '@langchain/core/messages';
import type { ChatGenerationChunk, ChatResult } from '@langchain/core/outputs';
import type { Runnable } from '@langchain/core/runnables';
import {
  type BudgetLedger,
  type CallTicket,
  emptyUsage,
  estimateInputTokens,
  InvalidOptionError,
  type RunState,
  type Usage,
} from 'loopwork';
import { EVENT } from './event-names';
import { stopReasonOf, toLoopworkTranscript, usageOf } from './messages';
import { loadPeers, type Peers, perPeers } from './peers';

/** Options of {@link budgetedChatModel}. */
export interface BudgetedChatModelOptions {
  /** The LangChain chat model that answers (ChatAnthropic, ChatOpenAI, …). */
  model: BaseChatModel;
  /** The run's ledger, asked before and told after every call. */
  ledger: BudgetLedger;
  /** Model id for prices and turn records. @defaultValue the model's `model` or `modelName` field, else its `_llmType()` */
  modelId?: string;
  /**
   * Returns the model to make one call with, its output capped at `maxTokens`. The default
   * gives a view of the model whose `maxTokens` field is `maxTokens` (and so for the chat models
   * it delegates to, as ChatOpenAI does), which serves every LangChain model that reads its cap
   * from `maxTokens` at call time. A model that ignores the cap fails the run after its first
   * call past it: hard budgets depend on the cap reaching the provider.
   */
  setMaxTokens?: (model: BaseChatModel, maxTokens: number) => BaseChatModel;
  /**
   * Prompt tokens of a call, estimated before it is made. The default guesses high from the
   * request's JSON (3 bytes per token plus framing, as the agent loop does). The guarantee holds
   * only if the real prompt is no larger than this.
   */
  estimateInputTokens?: (messages: BaseMessage[], tools: unknown) => number;
}

/** A LangChain chat model whose every call is cleared and recorded by a loopwork budget ledger. */
export type BudgetedChatModel = BaseChatModel & {
  /** Binds tools through the wrapped model; calls stay budgeted. */
  bindTools: NonNullable<BaseChatModel['bindTools']>;
  /** The ledger every call goes through. */
  readonly ledger: BudgetLedger;
  /** The id calls are priced and recorded under. */
  readonly modelId: string;
};

/** Payload of the custom event a budgeted call sends when it starts. */
export interface TurnStartedData {
  turn: number;
  maxOutputTokens: number;
  estimatedInputTokens: number;
}

/** Payload of the custom event a budgeted call sends when it ends. */
export interface TurnFinishedData {
  turn: number;
  usage: Usage;
  costUsd: number;
  stopReason: string;
  /** The budget that set this call's output cap, when one did. */
  limitedBy?: string;
  /** Tool calls in the answer. */
  toolCalls: number;
}

// Only the turns are read: with none, the estimate is a guess of the whole request.
const NO_TURNS = { turns: [] } as unknown as RunState;

/** A chat model's own output cap, when it has a positive one. */
function ownMaxTokens(model: BaseChatModel): number | undefined {
  const value = (model as { maxTokens?: unknown }).maxTokens;
  return typeof value === 'number' && value > 0 ? value : undefined;
}

/** The id a chat model is known by. */
export function modelIdOf(model: BaseChatModel): string {
  const { model: name, modelName } = model as { model?: unknown; modelName?: unknown };
  if (typeof name === 'string' && name) return name;
  if (typeof modelName === 'string' && modelName) return modelName;
  return model._llmType();
}

const isChatModel = (value: unknown): value is BaseChatModel =>
  typeof value === 'object' &&
  value !== null &&
  typeof (value as BaseChatModel)._generate === 'function' &&
  'maxTokens' in value;

/**
 * The default of `setMaxTokens`: an object that inherits everything from `model` but its
 * `maxTokens` (the model object is shared by concurrent calls, so it is never changed).
 */
function capMaxTokens<T extends object>(model: T, maxTokens: number, depth = 0): T {
  const view = Object.create(model) as T;
  Object.defineProperty(view, 'maxTokens', { value: maxTokens, writable: true, enumerable: true });
  if (depth === 0) {
    for (const [key, value] of Object.entries(model)) {
      if (value !== model && isChatModel(value))
        Object.defineProperty(view, key, {
          value: capMaxTokens(value, maxTokens, depth + 1),
          writable: true,
          enumerable: true,
        });
    }
  }
  return view;
}

/** One call in flight: its ticket and the model view it is made with. */
interface Call {
  ticket: CallTicket;
  turn: number;
  estimatedInputTokens: number;
  view: BaseChatModel;
}

/** The budgeted chat model class, built on the peers' `BaseChatModel`. */
export const budgetedClass: (
  peers: Peers,
) => new (
  options: BudgetedChatModelOptions,
) => BudgetedChatModel = perPeers((peers: Peers) => {
  const { BaseChatModel: Base } = peers.chatModels;
  const { RunnableBinding } = peers.runnables;

  return class LoopworkBudgetedChatModel extends Base {
    static lc_name() {
      return 'LoopworkBudgetedChatModel';
    }

    readonly ledger: BudgetLedger;
    readonly modelId: string;
    private readonly options: BudgetedChatModelOptions;

    constructor(options: BudgetedChatModelOptions) {
      super({ disableStreaming: options.model.disableStreaming });
      this.options = options;
      this.ledger = options.ledger;
      this.modelId = options.modelId ?? modelIdOf(options.model);
      if (!options.setMaxTokens && !('maxTokens' in options.model)) {
        throw new InvalidOptionError(
          `[loopwork:langgraph] model "${this.modelId}" has no maxTokens field, so loopwork cannot cap its output; pass setMaxTokens: (model, maxTokens) => a copy of the model with that output cap`,
        );
      }
      // A model that cannot stream is called whole: LangChain streams only models that override this.
      if (options.model._streamResponseChunks === Base.prototype._streamResponseChunks)
        this._streamResponseChunks = Base.prototype._streamResponseChunks;
    }

    _llmType(): string {
      // LangChain's constructor asks before this class has set its fields.
      const inner = (this.options as BudgetedChatModelOptions | undefined)?.model;
      return inner ? `loopwork-budgeted:${inner._llmType()}` : 'loopwork-budgeted';
    }

    override invocationParams(options?: this['ParsedCallOptions']): unknown {
      return this.options.model.invocationParams(options);
    }

    override getLsParams(options: this['ParsedCallOptions']) {
      return this.options.model.getLsParams(options);
    }

    /**
     * Binds tools through the wrapped model, which formats them for its provider, and keeps the
     * call options that produced: calls still go through this model's budget checks.
     */
    override bindTools(
      tools: BindToolsInput[],
      kwargs?: Partial<BaseChatModelCallOptions>,
    ): Runnable<BaseLanguageModelInput, AIMessageChunk, BaseChatModelCallOptions> {
      const inner = this.options.model;
      if (typeof inner.bindTools !== 'function') {
        throw new InvalidOptionError(
          `[loopwork:langgraph] model "${this.modelId}" does not support tool calling (it has no bindTools)`,
        );
      }
      let bound: unknown = inner.bindTools(tools, kwargs);
      const layers: Array<Record<string, unknown>> = [];
      while (RunnableBinding.isRunnableBinding(bound)) {
        layers.unshift({ ...bound.kwargs, ...bound.config });
        bound = bound.bound;
      }
      if (bound !== inner) {
        throw new InvalidOptionError(
          `[loopwork:langgraph] model "${this.modelId}": bindTools returned something other than the model with call options, so its calls could not be budgeted; bind the tools on the model before wrapping it`,
        );
      }
      return this.withConfig(Object.assign({}, ...layers)) as never;
    }

    /** Clears the call with the ledger (throws `BudgetStop` when none fits) and announces it. */
    private async begin(
      messages: BaseMessage[],
      options: this['ParsedCallOptions'],
      runManager: CallbackManagerForLLMRun | undefined,
    ): Promise<Call> {
      const tools = (options as { tools?: unknown }).tools;
      const transcript = toLoopworkTranscript(messages);
      const estimatedInputTokens =
        this.options.estimateInputTokens?.(messages, tools) ??
        estimateInputTokens(
          {
            ...(transcript.system === undefined ? {} : { system: transcript.system }),
            messages: transcript.messages,
            ...(tools === undefined ? {} : { tools: tools as never }),
            maxOutputTokens: 0,
          },
          NO_TURNS,
        );
      const inner = this.options.model;
      const requested = ownMaxTokens(inner);
      const ticket = this.ledger.allow({
        modelId: this.modelId,
        estimatedInputTokens,
        ...(requested === undefined ? {} : { requestedMaxTokens: requested }),
      });
      const turn = this.ledger.turns().length + 1;
      try {
        const view = this.options.setMaxTokens
          ? this.options.setMaxTokens(inner, ticket.maxOutputTokens)
          : capMaxTokens(inner, ticket.maxOutputTokens);
        const data: TurnStartedData = {
          turn,
          maxOutputTokens: ticket.maxOutputTokens,
          estimatedInputTokens,
        };
        await runManager?.handleCustomEvent(EVENT.turnStarted, data);
        return { ticket, turn, estimatedInputTokens, view };
      } catch (error) {
        this.ledger.release(ticket);
        throw error;
      }
    }

    /** Records what the call used and announces it; refuses a model that ignored its cap. */
    private async finish(
      call: Call,
      message: BaseMessage | undefined,
      runManager: CallbackManagerForLLMRun | undefined,
    ): Promise<void> {
      const metadata = (message as { usage_metadata?: Parameters<typeof usageOf>[0] } | undefined)
        ?.usage_metadata;
      // No usage reported: count the worst case the ledger allowed, so budgets stay hard.
      const usage = metadata
        ? usageOf(metadata)
        : {
            ...emptyUsage(),
            inputTokens: call.estimatedInputTokens,
            outputTokens: call.ticket.maxOutputTokens,
          };
      const stopReason = message ? stopReasonOf(message) : 'other';
      const record = this.ledger.record(call.ticket, usage, stopReason);
      const toolCalls = (message as { tool_calls?: unknown[] } | undefined)?.tool_calls ?? [];
      const data: TurnFinishedData = {
        turn: record.turn,
        usage: record.usage,
        costUsd: record.costUsd,
        stopReason: record.stopReason,
        ...(call.ticket.limitedBy ? { limitedBy: call.ticket.limitedBy } : {}),
        toolCalls: toolCalls.length,
      };
      await runManager?.handleCustomEvent(EVENT.turnFinished, data);
      if (usage.outputTokens > call.ticket.maxOutputTokens) {
        throw new InvalidOptionError(
          `[loopwork:langgraph] model "${this.modelId}" generated ${usage.outputTokens} output tokens with a cap of ${call.ticket.maxOutputTokens}: the cap did not reach the provider, so budgets cannot hold; pass setMaxTokens to budgetedChatModel or langGraphRuntime`,
        );
      }
    }

    async _generate(
      messages: BaseMessage[],
      options: this['ParsedCallOptions'],
      runManager?: CallbackManagerForLLMRun,
    ): Promise<ChatResult> {
      const call = await this.begin(messages, options, runManager);
      let result: ChatResult;
      try {
        result = await call.view._generate(messages, options, runManager);
      } catch (error) {
        this.ledger.release(call.ticket);
        throw error;
      }
      await this.finish(call, result.generations[0]?.message, runManager);
      return result;
    }

    async *_streamResponseChunks(
      messages: BaseMessage[],
      options: this['ParsedCallOptions'],
      runManager?: CallbackManagerForLLMRun,
    ): AsyncGenerator<ChatGenerationChunk> {
      const call = await this.begin(messages, options, runManager);
      let whole: ChatGenerationChunk | undefined;
      let settled = false;
      try {
        for await (const chunk of call.view._streamResponseChunks(messages, options, runManager)) {
          whole = whole ? whole.concat(chunk) : chunk;
          yield chunk;
        }
        settled = true;
      } finally {
        // Failed, aborted, or left early by its reader: nothing to record, the hold is dropped.
        if (!settled) this.ledger.release(call.ticket);
      }
      await this.finish(call, whole?.message, runManager);
    }
  } as unknown as new (
    options: BudgetedChatModelOptions,
  ) => BudgetedChatModel;
});

/**
 * Wraps a LangChain chat model so that every call — plain, streamed, with tools bound — first
 * asks the loopwork budget ledger for room: the call goes out with the output cap the ledger
 * allows (budgets stay hard even in the worst case), or `BudgetStop` is thrown when nothing
 * fits. After the call the real usage is recorded. Use it in your own graph to give it the same
 * hard budgets as `runAgent`; `langGraphRuntime` builds one per run for you.
 *
 * @example
 * ```ts
 * const ledger = createBudgetLedger({ maxCostUsd: 0.5, maxTurns: 20 });
 * const model = await budgetedChatModel({ model: new ChatAnthropic({ model: 'claude-sonnet-5-5' }), ledger });
 * const agent = createReactAgent({ llm: model, tools });
 * ```
 */
export async function budgetedChatModel(
  options: BudgetedChatModelOptions,
): Promise<BudgetedChatModel> {
  const Budgeted = budgetedClass(await loadPeers());
  return new Budgeted(options) as unknown as BudgetedChatModel;
}
