import type { Message, ModelRequest, ToolCallPart } from 'loopwork';
import type { AiSdkCallSettings, V3CallOptions, V3Message } from './types';

type V3ProviderOptions = NonNullable<V3CallOptions['providerOptions']>;

/**
 * Maps a loopwork request to the options of `doGenerate` / `doStream`.
 *
 * `providerOptions` go through untouched: the AI SDK already keys them by provider (`openai`,
 * `anthropic`, `google` …) and each provider reads only its own key.
 */
export function toCallOptions(
  request: ModelRequest,
  signal: AbortSignal,
  settings: AiSdkCallSettings,
): V3CallOptions {
  const prompt: V3Message[] = [];
  if (request.system !== undefined && request.system !== '') {
    prompt.push({ role: 'system', content: request.system });
  }
  for (const message of request.messages) prompt.push(toV3Message(message));
  const tools = request.tools ?? [];
  const { toolChoice, ...rest } = settings;
  return {
    ...rest,
    prompt,
    maxOutputTokens: request.maxOutputTokens,
    ...(request.stopSequences?.length ? { stopSequences: request.stopSequences } : {}),
    ...(tools.length > 0
      ? {
          tools: tools.map((tool) => ({
            type: 'function' as const,
            name: tool.name,
            description: tool.description,
            inputSchema: tool.inputSchema,
          })),
          toolChoice: toolChoice ?? { type: 'auto' as const },
        }
      : {}),
    ...(request.responseFormat
      ? {
          responseFormat: {
            type: 'json' as const,
            schema: request.responseFormat.schema as never,
            name: request.responseFormat.name,
            ...(request.responseFormat.description === undefined
              ? {}
              : { description: request.responseFormat.description }),
          },
        }
      : {}),
    ...(request.providerOptions
      ? { providerOptions: request.providerOptions as V3ProviderOptions }
      : {}),
    abortSignal: signal,
  };
}

function toV3Message(message: Message): V3Message {
  switch (message.role) {
    case 'user': {
      const parts =
        typeof message.content === 'string'
          ? [{ type: 'text' as const, text: message.content }]
          : message.content;
      return {
        role: 'user',
        content: parts.map((part) =>
          part.type === 'text'
            ? { type: 'text' as const, text: part.text }
            : {
                type: 'file' as const,
                mediaType: part.mediaType,
                data: part.url === undefined ? (part.data ?? '') : new URL(part.url),
              },
        ),
      };
    }
    case 'assistant':
      return {
        role: 'assistant',
        content: message.content.map((part) => {
          if (part.type === 'text') return { type: 'text' as const, text: part.text };
          // Reasoning from a transcript goes back as the AI SDK's reasoning part; its provider
          // metadata (a signature …) becomes provider options, as generateText itself does.
          if (part.type === 'reasoning') {
            return {
              type: 'reasoning' as const,
              text: part.text,
              ...(part.providerMetadata
                ? { providerOptions: part.providerMetadata as V3ProviderOptions }
                : {}),
            };
          }
          return {
            type: 'tool-call' as const,
            toolCallId: part.id,
            toolName: part.name,
            input: replayInput(part),
          };
        }),
      };
    case 'tool':
      return {
        role: 'tool',
        content: message.content.map((result) => ({
          type: 'tool-result' as const,
          toolCallId: result.toolCallId,
          toolName: result.toolName,
          output: result.isError
            ? { type: 'error-text' as const, value: result.output }
            : { type: 'text' as const, value: result.output },
        })),
      };
  }
}

/**
 * A tool call's input as sent back in later turns. Inputs that are not JSON objects (the raw
 * text of malformed arguments, see `parseToolInput`) go as `{ _raw: text }`: some providers
 * (Anthropic) accept only objects there and would reject the whole request.
 */
function replayInput(call: ToolCallPart): unknown {
  const { input } = call;
  if (typeof input === 'object' && input !== null && !Array.isArray(input)) return input;
  return { _raw: typeof input === 'string' ? input : JSON.stringify(input) };
}
