import {
  AGENT_DEFAULTS,
  type ModelRequest,
  type ModelResponse,
  type ModelStreamPart,
  type StopReason,
  textOf,
  toolCallsOf,
} from 'loopwork';
import type { ScriptedModelOptions } from 'loopwork/testing';
import { toModelRequest } from './model-messages';
import type {
  AiSdkLanguageModel,
  V3CallOptions,
  V3FinishReason,
  V3GenerateResult,
  V3StreamPart,
  V3Usage,
} from './types';

/** Options of {@link scriptedLanguageModel}. */
export interface ScriptedLanguageModelOptions {
  /** Answers in order, or a function choosing one per call from the request in loopwork's format. */
  turns: ScriptedModelOptions['turns'];
  /** The model's id (the price lookup key). @defaultValue 'scripted' */
  modelId?: string;
  /** The output cap of a call that sets none. @defaultValue AGENT_DEFAULTS.maxTokensPerCall */
  maxOutputTokens?: number;
}

/** An AI SDK language model (`MockLanguageModelV3` of `ai/test`) replaying loopwork's scripted turns. */
export type ScriptedLanguageModel = AiSdkLanguageModel & {
  /** Every request received, in loopwork's format, in order. */
  readonly requests: ModelRequest[];
};

const FINISH: Record<StopReason, V3FinishReason['unified']> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  tool_use: 'tool-calls',
  max_tokens: 'length',
  content_filter: 'content-filter',
  other: 'other',
};

function usageOf(response: ModelResponse): V3Usage {
  const { usage } = response;
  return {
    inputTokens: {
      total: usage.inputTokens + usage.cacheReadTokens + usage.cacheWriteTokens,
      noCache: usage.inputTokens,
      cacheRead: usage.cacheReadTokens,
      cacheWrite: usage.cacheWriteTokens,
    },
    outputTokens: {
      total: usage.outputTokens,
      text: usage.outputTokens - usage.reasoningTokens,
      reasoning: usage.reasoningTokens,
    },
  };
}

const finishOf = (response: ModelResponse): V3FinishReason => ({
  unified: FINISH[response.stopReason],
  raw: response.stopReason,
});

function generateResult(response: ModelResponse, modelId: string): V3GenerateResult {
  const text = textOf(response.message);
  return {
    content: [
      ...(text ? [{ type: 'text' as const, text }] : []),
      ...toolCallsOf(response.message).map((call) => ({
        type: 'tool-call' as const,
        toolCallId: call.id,
        toolName: call.name,
        input: JSON.stringify(call.input),
      })),
    ],
    finishReason: finishOf(response),
    usage: usageOf(response),
    warnings: [],
    response: { modelId },
  };
}

/** The V3 stream parts of one loopwork stream part. */
function streamParts(part: ModelStreamPart, modelId: string, state: { text: boolean }) {
  const out: V3StreamPart[] = [];
  if (part.type === 'text-delta') {
    if (!state.text) out.push({ type: 'text-start', id: 'text-0' });
    state.text = true;
    out.push({ type: 'text-delta', id: 'text-0', delta: part.text });
  } else if (part.type === 'tool-call-start') {
    out.push({ type: 'tool-input-start', id: part.id, toolName: part.name });
  } else if (part.type === 'tool-call-delta') {
    out.push({ type: 'tool-input-delta', id: part.id, delta: part.inputTextDelta });
  } else if (part.type === 'tool-call') {
    const { toolCall } = part;
    out.push({ type: 'tool-input-end', id: toolCall.id });
    out.push({
      type: 'tool-call',
      toolCallId: toolCall.id,
      toolName: toolCall.name,
      input: JSON.stringify(toolCall.input),
    });
  } else if (part.type === 'finish') {
    if (state.text) out.push({ type: 'text-end', id: 'text-0' });
    out.push({ type: 'response-metadata', modelId });
    out.push({
      type: 'finish',
      finishReason: finishOf(part.response),
      usage: usageOf(part.response),
    });
  }
  return out;
}

/**
 * An AI SDK language model — `ai/test`'s `MockLanguageModelV3` — that answers with loopwork's
 * scripted turns (the `ScriptedModel` of `loopwork/testing`, seeing each call in loopwork's
 * format): text, streamed chunks, tool calls, usage, errors and delays, its output cut at the
 * call's `maxOutputTokens` as a real model's would be. For tests and offline examples.
 *
 * @example
 * ```ts
 * const model = await scriptedLanguageModel({ turns: [
 *   { toolCalls: [{ name: 'get_weather', input: { city: 'Paris' } }] },
 *   { text: 'Sunny, 18°C.' },
 * ] });
 * const runtime = toolLoopAgentRuntime({ model, tools: [getWeather] });
 * ```
 */
export async function scriptedLanguageModel(
  options: ScriptedLanguageModelOptions,
): Promise<ScriptedLanguageModel> {
  // Loaded on use: an application that never scripts a model needs neither.
  const [{ MockLanguageModelV3 }, { ScriptedModel }] = await Promise.all([
    import('ai/test'),
    import('loopwork/testing'),
  ]);
  const modelId = options.modelId ?? 'scripted';
  const script = new ScriptedModel({ turns: options.turns, modelId });
  const requestOf = (call: V3CallOptions) =>
    toModelRequest(
      call,
      call.maxOutputTokens ?? options.maxOutputTokens ?? AGENT_DEFAULTS.maxTokensPerCall,
    );
  const signalOf = (call: V3CallOptions) => call.abortSignal ?? new AbortController().signal;

  const model = new MockLanguageModelV3({
    provider: 'scripted',
    modelId,
    doGenerate: async (call) =>
      generateResult(await script.generate(requestOf(call), { signal: signalOf(call) }), modelId),
    doStream: async (call) => {
      const parts = script.stream?.(requestOf(call), { signal: signalOf(call) });
      if (!parts) throw new Error('[loopwork:ai-sdk] the scripted model cannot stream');
      const iterator = parts[Symbol.asyncIterator]();
      // The first part settles the call: a scripted error or delay happens before the stream.
      let next: IteratorResult<ModelStreamPart> | undefined = await iterator.next();
      const state = { text: false };
      const stream = new ReadableStream<V3StreamPart>({
        start(controller) {
          controller.enqueue({ type: 'stream-start', warnings: [] });
        },
        async pull(controller) {
          // Enqueue at least one part per pull: a pull that enqueues nothing is not called again.
          for (;;) {
            const current = next ?? (await iterator.next());
            next = undefined;
            if (current.done) {
              controller.close();
              return;
            }
            const out = streamParts(current.value, modelId, state);
            for (const part of out) controller.enqueue(part);
            if (out.length > 0) return;
          }
        },
        async cancel() {
          await iterator.return?.();
        },
      });
      return { stream };
    },
  });
  return Object.assign(model, { requests: script.requests }) as unknown as ScriptedLanguageModel;
}
