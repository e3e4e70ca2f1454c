import type {
  ModelRequest as AgentsModelRequest,
  ModelResponse as AgentsModelResponse,
  Model,
} from '@openai/agents';
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
import { toLoopworkRequest, usageOf } from './messages';

/** Options of {@link budgetedModel}. */
export interface BudgetedModelOptions {
  /** The SDK model that answers (`OpenAIResponsesModel`, a scripted model, any `Model`). */
  model: Model;
  /** The run's ledger, asked before and told after every call. */
  ledger: BudgetLedger;
  /** Model id for prices and turn records. @defaultValue the model's `modelId` or `model` field, else 'unknown' */
  modelId?: string;
  /**
   * Prompt tokens of a call, estimated before it is made. The default guesses high from the
   * request's JSON (3 bytes per token plus framing, as the agent loop does). The guarantee holds
   * only if the real prompt is no larger than this.
   */
  estimateInputTokens?: (request: AgentsModelRequest) => number;
  /** Awaited before every call, before the ledger is asked (the runtime checkpoints here). */
  beforeCall?: (request: AgentsModelRequest) => Promise<void>;
  /** Told the turn data of calls made without streaming (streamed calls carry it in their stream). */
  onCall?: (event: BudgetedModelEvent) => void;
}

/** The data of the loopwork events a budgeted model puts into the SDK's event stream. */
export type BudgetedModelEvent =
  | {
      loopwork: 'turn-started';
      turn: number;
      maxOutputTokens: number;
      estimatedInputTokens: number;
    }
  | {
      loopwork: 'turn-finished';
      turn: number;
      usage: Usage;
      costUsd: number;
      stopReason: StopReason;
      /** The budget that set this call's output cap, when one did. */
      limitedBy?: string;
      /** Function calls in the answer. */
      toolCalls: number;
    };

/** Is `value` an event of a budgeted model (the `event` of a raw `model` stream event)? */
export const isBudgetedModelEvent = (value: unknown): value is BudgetedModelEvent =>
  typeof (value as { loopwork?: unknown } | null)?.loopwork === 'string';

// Only the turns are read: with none, the estimate is a guess of the whole request.
const NO_TURNS = { turns: [] } as unknown as RunState;

/**
 * Parts of a request loopwork's transcript has no place for — a structured output schema, hosted
 * tools, a prompt template — guessed as high as the rest (3 bytes per token).
 */
function extraTokens(request: AgentsModelRequest): number {
  const extra = {
    output: request.outputType === 'text' ? undefined : request.outputType,
    hosted: request.tools.filter((tool) => tool.type !== 'function'),
    prompt: request.prompt,
  };
  return Math.ceil(Buffer.byteLength(JSON.stringify(extra)) / 3);
}

/** The id an SDK model is known by. */
function modelIdOf(model: Model): string {
  const { modelId, model: name } = model as { modelId?: unknown; model?: unknown };
  if (typeof modelId === 'string' && modelId) return modelId;
  if (typeof name === 'string' && name) return name;
  return 'unknown';
}

/** Why the response stopped, in loopwork's terms. */
function stopReasonOf(response: AgentsModelResponse, usage: Usage, cap: number): StopReason {
  const output = response.output as Array<{ type?: string; status?: string }>;
  const incomplete = (response.providerData as { incomplete_details?: { reason?: string } })
    ?.incomplete_details?.reason;
  if (incomplete === 'max_output_tokens') return 'max_tokens';
  if (incomplete === 'content_filter') return 'content_filter';
  if (output.some((item) => item.type === 'function_call')) return 'tool_use';
  if (output.some((item) => item.status === 'incomplete') || usage.outputTokens >= cap)
    return 'max_tokens';
  return 'end_turn';
}

interface Call {
  ticket: CallTicket;
  turn: number;
  estimatedInputTokens: number;
  request: AgentsModelRequest;
}

/**
 * An OpenAI Agents SDK `Model` whose every call — plain or streamed — first asks the loopwork
 * budget ledger for room: the call goes out with `modelSettings.maxTokens` set to the cap the
 * ledger allows (so budgets hold even in the worst case), or `BudgetStop` is thrown when nothing
 * fits. After the call the real usage is recorded. Streamed calls also carry loopwork's
 * `turn-started` and `turn-finished` data as raw `model` events, in stream order.
 *
 * Give it to the SDK as `new Runner({ model })` (which overrides every agent's model) to give
 * your own runs the hard budgets of `runAgent`; `openAIAgentsRuntime` builds one per run.
 *
 * @example
 * ```ts
 * const ledger = createBudgetLedger({ maxCostUsd: 0.5, maxTurns: 20 });
 * const model = budgetedModel({ model: new OpenAIResponsesModel(client, 'gpt-5.4-mini'), ledger, modelId: 'gpt-5.4-mini' });
 * const result = await new Runner({ model }).run(agent, 'Plan my trip');
 * ```
 */
export function budgetedModel(options: BudgetedModelOptions): Model {
  const inner = options.model;
  if (typeof inner?.getResponse !== 'function' || typeof inner.getStreamedResponse !== 'function')
    throw new InvalidOptionError(
      '[loopwork:openai-agents] model must be an OpenAI Agents SDK Model (with getResponse and getStreamedResponse)',
    );
  const { ledger } = options;
  const modelId = options.modelId ?? modelIdOf(inner);

  const begin = async (request: AgentsModelRequest): Promise<Call> => {
    await options.beforeCall?.(request);
    request.signal?.throwIfAborted();
    const estimatedInputTokens =
      options.estimateInputTokens?.(request) ??
      estimateInputTokens({ ...toLoopworkRequest(request), maxOutputTokens: 0 }, NO_TURNS) +
        extraTokens(request);
    const requested = request.modelSettings.maxTokens;
    const ticket = ledger.allow({
      modelId,
      estimatedInputTokens,
      ...(requested === undefined ? {} : { requestedMaxTokens: requested }),
    });
    return {
      ticket,
      turn: ledger.turns().length + 1,
      estimatedInputTokens,
      request: {
        ...request,
        modelSettings: { ...request.modelSettings, maxTokens: ticket.maxOutputTokens },
      },
    };
  };

  /** Records what the call used; refuses a model that ignored its cap. */
  const finish = (call: Call, response: AgentsModelResponse | undefined): BudgetedModelEvent => {
    // No usage reported: count the worst case the ledger allowed, so budgets stay hard.
    const reported = response?.usage;
    const usage =
      reported && reported.inputTokens + reported.outputTokens > 0
        ? usageOf(reported)
        : {
            ...emptyUsage(),
            inputTokens: call.estimatedInputTokens,
            outputTokens: call.ticket.maxOutputTokens,
          };
    const cap = call.ticket.maxOutputTokens;
    const stopReason = response ? stopReasonOf(response, usage, cap) : 'other';
    const record = ledger.record(call.ticket, usage, stopReason);
    if (usage.outputTokens > cap) {
      throw new InvalidOptionError(
        `[loopwork:openai-agents] model "${modelId}" generated ${usage.outputTokens} output tokens with a cap of ${cap}: modelSettings.maxTokens did not reach the provider, so budgets cannot hold`,
      );
    }
    const toolCalls = (response?.output ?? []).filter(
      (item) => (item as { type?: string }).type === 'function_call',
    ).length;
    return {
      loopwork: 'turn-finished',
      turn: record.turn,
      usage: record.usage,
      costUsd: record.costUsd,
      stopReason: record.stopReason,
      ...(call.ticket.limitedBy ? { limitedBy: call.ticket.limitedBy } : {}),
      toolCalls,
    };
  };

  const started = (call: Call): BudgetedModelEvent => ({
    loopwork: 'turn-started',
    turn: call.turn,
    maxOutputTokens: call.ticket.maxOutputTokens,
    estimatedInputTokens: call.estimatedInputTokens,
  });

  return {
    async getResponse(request) {
      const call = await begin(request);
      let response: AgentsModelResponse;
      try {
        options.onCall?.(started(call));
        response = await inner.getResponse(call.request);
      } catch (error) {
        ledger.release(call.ticket);
        throw error;
      }
      options.onCall?.(finish(call, response));
      return response;
    },
    async *getStreamedResponse(request) {
      const call = await begin(request);
      let settled = false;
      try {
        yield { type: 'model', event: started(call) };
        for await (const event of inner.getStreamedResponse(call.request)) {
          if (event.type === 'response_done') {
            settled = true;
            const response = event.response as unknown as AgentsModelResponse;
            const finished = finish(call, {
              ...response,
              usage: event.response.usage as AgentsModelResponse['usage'],
            });
            yield { type: 'model', event: finished };
          }
          yield event;
        }
      } finally {
        // Failed, aborted, or left early by its reader: nothing to record, the hold is dropped.
        if (!settled) ledger.release(call.ticket);
      }
    },
    ...(inner.getRetryAdvice ? { getRetryAdvice: inner.getRetryAdvice.bind(inner) } : {}),
  };
}
