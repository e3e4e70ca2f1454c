import type { LanguageModelMiddleware } from 'ai';
import {
  type BudgetLedger,
  type CallTicket,
  emptyUsage,
  estimateInputTokens,
  InvalidOptionError,
  type RunState,
  type StopReason,
  type Usage,
} from 'loopwork';
import { toStopReason, toUsage } from './from-result';
import { toModelRequest } from './model-messages';
import type {
  AiSdkLanguageModel,
  V3CallOptions,
  V3FinishReason,
  V3StreamPart,
  V3Usage,
} from './types';

/** A model call the ledger cleared, as announced before it is made. */
export interface TurnStart {
  /** 1-based turn of the run (earlier attempts and session runs included). */
  turn: number;
  /** The output cap the call is sent with. */
  maxOutputTokens: number;
  estimatedInputTokens: number;
}

/** A model call that ended with usage, as recorded by the ledger. */
export interface TurnFinish {
  turn: number;
  usage: Usage;
  costUsd: number;
  stopReason: StopReason;
  /** The budget that set the call's output cap, when one did. */
  limitedBy?: string;
  /** Client tool calls in the answer. */
  toolCalls: number;
}

/** Options of {@link budgetMiddleware}. */
export interface BudgetMiddlewareOptions {
  /** The run's ledger, asked before and told after every call. */
  ledger: BudgetLedger;
  /** Model id for prices and turn records. @defaultValue the wrapped model's `modelId` */
  modelId?: string;
  /**
   * Prompt tokens of a call, estimated before it is made. The default guesses high from the
   * prompt's JSON (3 bytes per token plus framing, as loopwork's loop does). Budgets hold only
   * if the real prompt is no larger than this.
   */
  estimateInputTokens?: (call: V3CallOptions) => number;
  /** Told before each call, once the ledger cleared it. */
  onTurnStarted?: (turn: TurnStart) => void;
  /** Told after each call that reported its end (its usage is in the ledger). */
  onTurnFinished?: (turn: TurnFinish) => void;
}

// Only `turns` is read: with none, the estimate covers the whole request.
const NO_TURNS = { turns: [] } as unknown as RunState;

/** One call in flight. */
interface Call {
  ticket: CallTicket;
  turn: number;
  estimatedInputTokens: number;
  settled: boolean;
}

/**
 * An AI SDK language model middleware (`wrapLanguageModel`) that makes loopwork's budgets hard:
 * before every call — generate or stream, every step of `ToolLoopAgent`, every retry of the AI
 * SDK — it asks the ledger for room and sends the call with the output cap the ledger allows
 * (`maxOutputTokens`), or throws `BudgetStop` when no call fits (the turn cap included). After
 * the call the reported usage is recorded (none reported: the worst case the ledger allowed).
 *
 * @example
 * ```ts
 * const ledger = createBudgetLedger({ maxCostUsd: 0.5, maxTurns: 20 });
 * const model = wrapLanguageModel({ model: openai('gpt-5-mini'), middleware: budgetMiddleware({ ledger }) });
 * const agent = new ToolLoopAgent({ model, tools });
 * ```
 */
export function budgetMiddleware(options: BudgetMiddlewareOptions): LanguageModelMiddleware {
  const { ledger } = options;

  const begin = (params: V3CallOptions, model: AiSdkLanguageModel): Call => {
    // The AI SDK starts the next step even when the run was aborted during the last one.
    params.abortSignal?.throwIfAborted();
    const estimated =
      options.estimateInputTokens?.(params) ??
      estimateInputTokens(toModelRequest(params, 0), NO_TURNS);
    const ticket = ledger.allow({
      modelId: options.modelId ?? model.modelId,
      estimatedInputTokens: estimated,
      ...(params.maxOutputTokens === undefined
        ? {}
        : { requestedMaxTokens: params.maxOutputTokens }),
    });
    const call = {
      ticket,
      turn: ledger.turns().length + 1,
      estimatedInputTokens: estimated,
      settled: false,
    };
    options.onTurnStarted?.({
      turn: call.turn,
      maxOutputTokens: ticket.maxOutputTokens,
      estimatedInputTokens: estimated,
    });
    return call;
  };

  const release = (call: Call) => {
    if (call.settled) return;
    call.settled = true;
    ledger.release(call.ticket);
  };

  /** Records the call; throws when the model went past its cap (the cap never reached it). */
  const finish = (call: Call, reported: V3Usage, reason: V3FinishReason, toolCalls: number) => {
    call.settled = true;
    const usage = usageOrWorstCase(reported, call);
    const stopReason = toStopReason(reason, toolCalls > 0);
    const record = ledger.record(call.ticket, usage, stopReason);
    options.onTurnFinished?.({
      turn: record.turn,
      usage: record.usage,
      costUsd: record.costUsd,
      stopReason: record.stopReason,
      ...(call.ticket.limitedBy ? { limitedBy: call.ticket.limitedBy } : {}),
      toolCalls,
    });
    if (usage.outputTokens > call.ticket.maxOutputTokens) {
      throw new InvalidOptionError(
        `[loopwork:ai-sdk] model "${call.ticket.modelId}" generated ${usage.outputTokens} output tokens with a cap of ${call.ticket.maxOutputTokens}: it ignores maxOutputTokens, so budgets cannot hold`,
      );
    }
  };

  return {
    specificationVersion: 'v3',

    async wrapGenerate({ params, model }) {
      const call = begin(params, model);
      let result: Awaited<ReturnType<AiSdkLanguageModel['doGenerate']>>;
      try {
        result = await model.doGenerate({
          ...params,
          maxOutputTokens: call.ticket.maxOutputTokens,
        });
      } catch (error) {
        release(call);
        throw error;
      }
      const toolCalls = result.content.filter(
        (part) => part.type === 'tool-call' && !part.providerExecuted,
      ).length;
      finish(call, result.usage, result.finishReason, toolCalls);
      return result;
    },

    async wrapStream({ params, model }) {
      const call = begin(params, model);
      let result: Awaited<ReturnType<AiSdkLanguageModel['doStream']>>;
      try {
        result = await model.doStream({ ...params, maxOutputTokens: call.ticket.maxOutputTokens });
      } catch (error) {
        release(call);
        throw error;
      }
      const reader = result.stream.getReader();
      let toolCalls = 0;
      const stream = new ReadableStream<V3StreamPart>({
        async pull(controller) {
          try {
            const { done, value } = await reader.read();
            if (done) {
              // Ended without a finish part: nothing to record, the hold is dropped.
              release(call);
              controller.close();
              return;
            }
            if (value.type === 'tool-call' && !value.providerExecuted) toolCalls++;
            if (value.type === 'finish') finish(call, value.usage, value.finishReason, toolCalls);
            controller.enqueue(value);
          } catch (error) {
            release(call);
            controller.error(error);
          }
        },
        cancel(reason) {
          release(call);
          return reader.cancel(reason);
        },
      });
      return { ...result, stream };
    },
  };
}

/** The reported usage, with what the provider left out counted at its worst case. */
function usageOrWorstCase(reported: V3Usage, call: Call): Usage {
  const usage = toUsage(reported);
  const noInput =
    reported.inputTokens.total === undefined && reported.inputTokens.noCache === undefined;
  const noOutput =
    reported.outputTokens.total === undefined && reported.outputTokens.text === undefined;
  return {
    ...emptyUsage(),
    ...usage,
    ...(noInput ? { inputTokens: call.estimatedInputTokens } : {}),
    ...(noOutput ? { outputTokens: call.ticket.maxOutputTokens } : {}),
  };
}
