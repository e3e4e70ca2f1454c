import type { ImagePart, Message, ModelRequest, TextPart } from 'loopwork';
import type {
  ChatCompletionContentPart,
  ChatCompletionCreateParamsNonStreaming,
  ChatCompletionMessageParam,
} from 'openai/resources/chat/completions';
import { jsonSchemaFormat } from './response-format';
import { type ApiContext, providerOptionsOf, toolsField } from './sdk-call';
import { serializeToolInput } from './tool-input';

/** An image as OpenAI takes it: its URL, or its bytes as a `data:` URL. */
export function imageUrlOf(image: ImagePart): string {
  return image.url ?? `data:${image.mediaType};base64,${image.data ?? ''}`;
}

function userContent(
  content: string | Array<TextPart | ImagePart>,
): string | ChatCompletionContentPart[] {
  if (typeof content === 'string') return content;
  return content.map((part) =>
    part.type === 'text'
      ? { type: 'text', text: part.text }
      : { type: 'image_url', image_url: { url: imageUrlOf(part) } },
  );
}

function toChatMessages(message: Message): ChatCompletionMessageParam[] {
  if (message.role === 'user') return [{ role: 'user', content: userContent(message.content) }];
  if (message.role === 'tool') {
    // Chat Completions has no error flag on a tool result: the output text says what went wrong.
    return message.content.map((result) => ({
      role: 'tool',
      tool_call_id: result.toolCallId,
      content: result.output,
    }));
  }
  let text = '';
  const toolCalls = [];
  // Reasoning parts (another provider's thinking) have no place in Chat Completions: left out.
  for (const part of message.content) {
    if (part.type === 'text') text += part.text;
    else if (part.type === 'tool-call') {
      toolCalls.push({
        id: part.id,
        type: 'function' as const,
        function: { name: part.name, arguments: serializeToolInput(part.input) },
      });
    }
  }
  if (toolCalls.length === 0) return [{ role: 'assistant', content: text }];
  return [{ role: 'assistant', content: text === '' ? null : text, tool_calls: toolCalls }];
}

/**
 * The Chat Completions request body for `request`. Provider options are merged in first, so they
 * can add any field (`reasoning_effort`, `temperature`, `service_tier` …) but cannot override the
 * ones the loop controls: model, messages, stop sequences and the token limit. Their `tools` come
 * before the request's.
 */
export function toChatBody(
  context: ApiContext,
  request: ModelRequest,
): ChatCompletionCreateParamsNonStreaming {
  const messages: ChatCompletionMessageParam[] = [];
  if (request.system) messages.push({ role: 'system', content: request.system });
  for (const message of request.messages) messages.push(...toChatMessages(message));
  return {
    ...providerOptionsOf(request),
    model: context.modelId,
    messages,
    ...toolsField(
      request,
      (request.tools ?? []).map((tool) => ({
        type: 'function' as const,
        function: { name: tool.name, description: tool.description, parameters: tool.inputSchema },
      })),
    ),
    ...(request.stopSequences?.length ? { stop: request.stopSequences } : {}),
    ...(request.responseFormat
      ? {
          response_format: {
            type: 'json_schema' as const,
            json_schema: jsonSchemaFormat(request.responseFormat),
          },
        }
      : {}),
    // `max_tokens` is deprecated and rejected by reasoning models.
    max_completion_tokens: request.maxOutputTokens,
  };
}
