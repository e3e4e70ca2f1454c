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
  AGENT_DEFAULTS,
  type ModelRequest,
  type ModelResponse,
  type ToolSpec,
  textOf,
  toolCallsOf,
} from 'loopwork';
import { ScriptedModel, type ScriptedModelOptions } from 'loopwork/testing';
import { toLoopworkTranscript } from './messages';
import { loadPeers, type Peers, perPeers } from './peers';

/** Options of {@link scriptedChatModel}. */
export interface ScriptedChatModelOptions {
  /** Answers in order, or a function choosing one per call from the request in loopwork's format. */
  turns: ScriptedModelOptions['turns'];
  /** The model's id (its `model` field, the price lookup key). @defaultValue 'scripted' */
  modelId?: string;
  /** The output cap of a call (budgets lower it per call). @defaultValue AGENT_DEFAULTS.maxTokensPerCall */
  maxTokens?: number;
}

/** A LangChain chat model that replays loopwork's scripted turns. */
export type ScriptedChatModel = BaseChatModel & {
  /** Binds tools: the script sees them as loopwork tool specs. */
  bindTools: NonNullable<BaseChatModel['bindTools']>;
  /** The output cap the next call is made with. */
  maxTokens: number;
  /** Every request received, in loopwork's format, in order. */
  readonly requests: ModelRequest[];
};

const scriptedClass = perPeers((peers: Peers) => {
  const { BaseChatModel: Base } = peers.chatModels;
  const { AIMessage, AIMessageChunk: Chunk } = peers.messages;
  const { ChatGenerationChunk: GenerationChunk } = peers.outputs;
  const { convertToOpenAITool } = peers.functionCalling;

  /** LangChain's usage and stop reason fields of a scripted answer. */
  const metadataOf = (response: ModelResponse, modelId: string) => {
    const { usage } = response;
    const input = usage.inputTokens + usage.cacheReadTokens + usage.cacheWriteTokens;
    return {
      usage_metadata: {
        input_tokens: input,
        output_tokens: usage.outputTokens,
        total_tokens: input + usage.outputTokens,
        input_token_details: {
          cache_read: usage.cacheReadTokens,
          cache_creation: usage.cacheWriteTokens,
        },
      },
      response_metadata: { model: modelId, stop_reason: response.stopReason },
    };
  };

  return class LoopworkScriptedChatModel extends Base {
    static lc_name() {
      return 'LoopworkScriptedChatModel';
    }

    maxTokens: number;
    readonly model: string;
    private readonly script: ScriptedModel;

    constructor(options: ScriptedChatModelOptions) {
      super({});
      this.model = options.modelId ?? 'scripted';
      this.maxTokens = options.maxTokens ?? AGENT_DEFAULTS.maxTokensPerCall;
      this.script = new ScriptedModel({ turns: options.turns, modelId: this.model });
    }

    get requests(): ModelRequest[] {
      return this.script.requests;
    }

    _llmType(): string {
      return 'loopwork-scripted';
    }

    override bindTools(
      tools: BindToolsInput[],
      kwargs?: Partial<BaseChatModelCallOptions>,
    ): Runnable<BaseLanguageModelInput, AIMessageChunk, BaseChatModelCallOptions> {
      const specs: ToolSpec[] = tools.map((tool) => {
        const { function: fn } = convertToOpenAITool(tool as never);
        return {
          name: fn.name,
          description: fn.description ?? '',
          inputSchema: (fn.parameters ?? { type: 'object' }) as Record<string, unknown>,
        };
      });
      return this.withConfig({ ...kwargs, tools: specs } as never) as never;
    }

    private requestOf(messages: BaseMessage[], options: this['ParsedCallOptions']): ModelRequest {
      const { system, messages: converted } = toLoopworkTranscript(messages);
      const tools = (options as { tools?: ToolSpec[] }).tools;
      return {
        ...(system === undefined ? {} : { system }),
        messages: converted,
        ...(tools?.length ? { tools } : {}),
        maxOutputTokens: this.maxTokens,
      };
    }

    async _generate(
      messages: BaseMessage[],
      options: this['ParsedCallOptions'],
    ): Promise<ChatResult> {
      const response = await this.script.generate(this.requestOf(messages, options), {
        signal: options.signal ?? new AbortController().signal,
      });
      const message = new AIMessage({
        content: textOf(response.message),
        tool_calls: toolCallsOf(response.message).map((call) => ({
          id: call.id,
          name: call.name,
          args: call.input as Record<string, unknown>,
          type: 'tool_call' as const,
        })),
        ...metadataOf(response, this.model),
      });
      return { generations: [{ text: textOf(response.message), message }] };
    }

    async *_streamResponseChunks(
      messages: BaseMessage[],
      options: this['ParsedCallOptions'],
      runManager?: CallbackManagerForLLMRun,
    ): AsyncGenerator<ChatGenerationChunk> {
      const stream = this.script.stream?.(this.requestOf(messages, options), {
        signal: options.signal ?? new AbortController().signal,
      });
      for await (const part of stream ?? []) {
        if (part.type === 'text-delta') {
          const chunk = new GenerationChunk({
            text: part.text,
            message: new Chunk({ content: part.text }),
          });
          yield chunk;
          await runManager?.handleLLMNewToken(
            part.text,
            undefined,
            undefined,
            undefined,
            undefined,
            {
              chunk,
            },
          );
        } else if (part.type === 'finish') {
          yield new GenerationChunk({
            text: '',
            message: new Chunk({
              content: '',
              tool_call_chunks: toolCallsOf(part.response.message).map((call, index) => ({
                id: call.id,
                name: call.name,
                args: JSON.stringify(call.input),
                index,
                type: 'tool_call_chunk' as const,
              })),
              ...metadataOf(part.response, this.model),
            }),
          });
        }
      }
    }
  };
});

/**
 * A LangChain chat model that answers with loopwork's scripted turns (the `ScriptedModel` of
 * `loopwork/testing`, seeing each request in loopwork's format): text, streamed chunks, tool
 * calls, usage and errors, its output cut at `maxTokens` as a real model's would be. For tests
 * and offline examples of LangGraph graphs on loopwork.
 *
 * @example
 * ```ts
 * const model = await scriptedChatModel({ turns: [
 *   { toolCalls: [{ name: 'get_weather', input: { city: 'Paris' } }] },
 *   { text: 'Sunny, 18°C.', usage: { outputTokens: 6 } },
 * ] });
 * const runtime = langGraphRuntime({ model, tools: [getWeather] });
 * ```
 */
export async function scriptedChatModel(
  options: ScriptedChatModelOptions,
): Promise<ScriptedChatModel> {
  const Scripted = scriptedClass(await loadPeers());
  return new Scripted(options) as unknown as ScriptedChatModel;
}
