import type {
  ModelRequest as AgentsModelRequest,
  ModelResponse as AgentsModelResponse,
  Model,
  StreamEvent,
} from '@openai/agents';
import { type ModelRequest, type ModelResponse, textOf, toolCallsOf } from 'loopwork';
import { ScriptedModel, type ScriptedModelOptions } from 'loopwork/testing';
import { toLoopworkRequest } from './messages';

/** Options of {@link scriptedAgentsModel}. */
export interface ScriptedAgentsModelOptions {
  /** Answers in order, or a function choosing one per call from the request in loopwork's format. */
  turns: ScriptedModelOptions['turns'];
  /** The model's id (the price lookup key). @defaultValue 'scripted' */
  modelId?: string;
}

/** An OpenAI Agents SDK `Model` that replays loopwork's scripted turns. */
export interface ScriptedAgentsModel extends Model {
  /** The id calls are priced under. */
  readonly modelId: string;
  /** Every request received, in loopwork's format, in order. */
  readonly requests: ModelRequest[];
}

/** The SDK's response of a scripted answer: output items, usage, and why it stopped. */
function toAgentsResponse(response: ModelResponse, index: number): AgentsModelResponse {
  const { usage, stopReason } = response;
  const text = textOf(response.message);
  const truncated = stopReason === 'max_tokens';
  const output: AgentsModelResponse['output'] = [];
  if (text || truncated) {
    output.push({
      type: 'message',
      id: `msg_${index + 1}`,
      role: 'assistant',
      status: truncated ? 'incomplete' : 'completed',
      content: [{ type: 'output_text', text }],
    });
  }
  for (const call of toolCallsOf(response.message)) {
    output.push({
      type: 'function_call',
      id: `fc_${call.id}`,
      callId: call.id,
      name: call.name,
      arguments: JSON.stringify(call.input),
      status: 'completed',
    });
  }
  const inputTokens = usage.inputTokens + usage.cacheReadTokens + usage.cacheWriteTokens;
  return {
    responseId: `resp_${index + 1}`,
    output,
    usage: {
      requests: 1,
      inputTokens,
      outputTokens: usage.outputTokens,
      totalTokens: inputTokens + usage.outputTokens,
      inputTokensDetails: [{ cached_tokens: usage.cacheReadTokens }],
      outputTokensDetails: [{ reasoning_tokens: usage.reasoningTokens }],
      requestUsageEntries: [],
    } as unknown as AgentsModelResponse['usage'],
    ...(truncated ? { providerData: { incomplete_details: { reason: 'max_output_tokens' } } } : {}),
  };
}

/**
 * An OpenAI Agents SDK `Model` that answers with loopwork's scripted turns (the `ScriptedModel`
 * of `loopwork/testing`, seeing each request in loopwork's format): text, streamed chunks,
 * function calls, usage and errors, its output cut at `modelSettings.maxTokens` as a real
 * model's would be. For tests and offline examples of agents on loopwork.
 *
 * @example
 * ```ts
 * const model = scriptedAgentsModel({ turns: [
 *   { toolCalls: [{ name: 'get_weather', input: { city: 'Paris' } }] },
 *   { text: 'Sunny, 18°C.', usage: { outputTokens: 6 } },
 * ] });
 * const runtime = openAIAgentsRuntime({ model, tools: [getWeather] });
 * ```
 */
export function scriptedAgentsModel(options: ScriptedAgentsModelOptions): ScriptedAgentsModel {
  const script = new ScriptedModel({
    turns: options.turns,
    modelId: options.modelId ?? 'scripted',
  });
  const signalOf = (request: AgentsModelRequest) => request.signal ?? new AbortController().signal;
  return {
    modelId: script.modelId,
    get requests() {
      return script.requests;
    },
    async getResponse(request) {
      const index = script.requests.length;
      const response = await script.generate(toLoopworkRequest(request), {
        signal: signalOf(request),
      });
      return toAgentsResponse(response, index);
    },
    async *getStreamedResponse(request): AsyncIterable<StreamEvent> {
      const index = script.requests.length;
      const parts = script.stream?.(toLoopworkRequest(request), { signal: signalOf(request) });
      yield { type: 'response_started' };
      for await (const part of parts ?? []) {
        if (part.type === 'text-delta') {
          yield { type: 'output_text_delta', delta: part.text };
        } else if (part.type === 'finish') {
          const response = toAgentsResponse(part.response, index);
          yield {
            type: 'response_done',
            response: {
              id: response.responseId ?? `resp_${index + 1}`,
              usage: response.usage as never,
              output: response.output as never,
              ...(response.providerData ? { providerData: response.providerData } : {}),
            },
          };
        }
      }
    },
  };
}
