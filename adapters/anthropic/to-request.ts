import { jsonSchemaOutputFormat } from '@anthropic-ai/sdk/helpers/json-schema';
import type {
  ContentBlockParam,
  ImageBlockParam,
  MessageCreateParamsBase,
  MessageParam,
  RedactedThinkingBlockParam,
  ThinkingBlockParam,
  Tool,
} from '@anthropic-ai/sdk/resources/messages';
import type {
  AssistantMessage,
  ImagePart,
  Message,
  ModelRequest,
  ReasoningPart,
  ToolSpec,
} from 'loopwork';
import { PROVIDER_METADATA_KEY } from './from-response';

/** The key of `request.providerOptions` this adapter reads. */
export const PROVIDER_OPTIONS_KEY = 'anthropic';

/**
 * Builds the Messages API body for a request.
 *
 * `providerOptions.anthropic` is merged over the body last (shallowly), so it can add any field
 * (`thinking`, `metadata`, `cache_control`, `tool_choice`, …) or replace one (`system` as an array
 * of blocks with `cache_control`). `model` and `max_tokens` are set after the merge: the loop's
 * budgets depend on them.
 */
export function toRequestBody(request: ModelRequest, modelId: string): MessageCreateParamsBase {
  const body: MessageCreateParamsBase = {
    model: modelId,
    max_tokens: request.maxOutputTokens,
    messages: toMessages(request.messages),
  };
  if (request.system) body.system = request.system;
  if (request.tools?.length) body.tools = request.tools.map(toTool);
  if (request.stopSequences?.length) body.stop_sequences = request.stopSequences;
  const extra = request.providerOptions?.[PROVIDER_OPTIONS_KEY];
  const merged = isPlainObject(extra) ? { ...body, ...extra } : body;
  delete merged.stream;
  if (request.responseFormat) {
    // Anthropic's structured outputs. The SDK's helper rewrites the schema to what the API
    // accepts (closed objects; unsupported constraints moved into descriptions, which loopwork
    // still enforces by validating the answer). Other output_config fields (effort) are kept.
    const { type, schema } = jsonSchemaOutputFormat(
      request.responseFormat.schema as Parameters<typeof jsonSchemaOutputFormat>[0],
    );
    merged.output_config = { ...merged.output_config, format: { type, schema } };
  }
  return { ...merged, model: modelId, max_tokens: request.maxOutputTokens };
}

function toTool(spec: ToolSpec): Tool {
  return {
    name: spec.name,
    description: spec.description,
    input_schema: spec.inputSchema as Tool['input_schema'],
  };
}

/**
 * Maps the conversation. Tool results become a user turn of `tool_result` blocks; neighbouring
 * turns of the same role are joined, since the API wants user and assistant turns to alternate.
 */
function toMessages(messages: Message[]): MessageParam[] {
  const out: MessageParam[] = [];
  for (const message of messages) {
    const param = toMessage(message);
    if (param.content.length === 0) continue;
    const last = out.at(-1);
    if (last && last.role === param.role) {
      last.content = [...asBlocks(last.content), ...asBlocks(param.content)];
    } else {
      out.push(param);
    }
  }
  return out;
}

function toMessage(message: Message): MessageParam & { role: 'user' | 'assistant' } {
  switch (message.role) {
    case 'user':
      return {
        role: 'user',
        content:
          typeof message.content === 'string'
            ? message.content
            : message.content.map((part) =>
                part.type === 'text' ? { type: 'text', text: part.text } : toImage(part),
              ),
      };
    case 'assistant':
      return { role: 'assistant', content: toAssistantBlocks(message) };
    case 'tool':
      return {
        role: 'user',
        content: message.content.map((result) => ({
          type: 'tool_result',
          tool_use_id: result.toolCallId,
          content: result.output,
          is_error: result.isError,
        })),
      };
  }
}

/**
 * The assistant turn from its parts, in their order. Reasoning parts this adapter made go back as
 * the `thinking` / `redacted_thinking` blocks they came from, signature or encrypted data intact
 * (the API rejects a tool-calling turn whose thinking blocks are missing or changed); reasoning
 * parts without `providerMetadata.anthropic` (another provider's) are left out.
 *
 * Thinking blocks at the very end of a turn are left out too: the API rejects an assistant
 * message whose final block is `thinking` (a turn cut off by max_tokens while thinking), and only
 * the thinking that precedes a turn's tool calls has to come back. A turn of nothing but
 * reasoning is therefore empty, and skipped.
 */
export function toAssistantBlocks(message: AssistantMessage): ContentBlockParam[] {
  const blocks: ContentBlockParam[] = [];
  for (const part of message.content) {
    // The API rejects empty text blocks.
    if (part.type === 'text' && part.text !== '') blocks.push({ type: 'text', text: part.text });
    if (part.type === 'tool-call') {
      blocks.push({
        type: 'tool_use',
        id: part.id,
        name: part.name,
        input: toolInputParam(part.input),
      });
    }
    if (part.type === 'reasoning') {
      const block = toThinkingBlock(part);
      if (block) blocks.push(block);
    }
  }
  while (blocks.length > 0 && isThinking(blocks.at(-1)!)) blocks.pop();
  return blocks;
}

/** The block a reasoning part came from, or undefined when this adapter did not make it. */
function toThinkingBlock(
  part: ReasoningPart,
): ThinkingBlockParam | RedactedThinkingBlockParam | undefined {
  const metadata = part.providerMetadata?.[PROVIDER_METADATA_KEY];
  if (!isPlainObject(metadata)) return undefined;
  if (typeof metadata.signature === 'string') {
    return { type: 'thinking', thinking: part.text, signature: metadata.signature };
  }
  if (typeof metadata.redactedData === 'string') {
    return { type: 'redacted_thinking', data: metadata.redactedData };
  }
  return undefined;
}

function isThinking(block: ContentBlockParam): boolean {
  return block.type === 'thinking' || block.type === 'redacted_thinking';
}

/**
 * The API wants a tool call's input to be an object. Input that is not one is the raw text of
 * arguments that were not valid JSON (see `parseToolInput`): it goes back wrapped as `{ _raw }`
 * so the model sees what it sent next to the tool error about it.
 */
function toolInputParam(input: unknown): Record<string, unknown> {
  return isPlainObject(input) ? input : { _raw: input };
}

function toImage(part: ImagePart): ImageBlockParam {
  if (part.data !== undefined) {
    return {
      type: 'image',
      source: {
        type: 'base64',
        media_type: part.mediaType as 'image/png',
        data: part.data,
      },
    };
  }
  return { type: 'image', source: { type: 'url', url: part.url ?? '' } };
}

function asBlocks(content: string | ContentBlockParam[]): ContentBlockParam[] {
  return typeof content === 'string' ? [{ type: 'text', text: content }] : content;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
