import type {
  AssistantMessage,
  ImagePart,
  Message,
  ModelRequest,
  TextPart,
  ToolResultPart,
  ToolSpec,
} from 'loopwork';
import type { V3CallOptions } from './types';

/**
 * A message of the AI SDK, loosely typed: a `ModelMessage` of `generateText` / agents, or a
 * message of a `LanguageModelV3` prompt. The two share their roles and the parts loopwork reads
 * (text, reasoning, tool calls, tool results with a typed `output`), so one reader serves both.
 */
export interface LooseMessage {
  role: string;
  content: unknown;
}

type LoosePart = { type?: unknown } & Record<string, unknown>;

/** A transcript in loopwork's terms: the system prompt and the messages. */
export interface LoopworkTranscript {
  system?: string;
  messages: Message[];
}

const partsOf = (content: unknown): LoosePart[] =>
  Array.isArray(content) ? (content as LoosePart[]) : [];

/** A tool result's `output` (`{ type: 'text' | 'json' | 'error-text' | … }`) as loopwork's text. */
export function toolOutputText(output: unknown): { output: string; isError: boolean } {
  const record = (output ?? {}) as { type?: unknown; value?: unknown; reason?: unknown };
  const type = typeof record.type === 'string' ? record.type : '';
  const isError = type.startsWith('error') || type === 'execution-denied';
  if (type === 'execution-denied')
    return { output: typeof record.reason === 'string' ? record.reason : 'denied', isError };
  if (typeof record.value === 'string') return { output: record.value, isError };
  if (type === 'content' && Array.isArray(record.value)) {
    const texts = (record.value as LoosePart[]).filter((part) => part.type === 'text');
    if (texts.length === record.value.length)
      return { output: texts.map((part) => String(part.text)).join(''), isError };
  }
  return { output: JSON.stringify(record.value ?? output) ?? 'null', isError };
}

function userContent(
  content: unknown,
): Message['content'] & (string | Array<TextPart | ImagePart>) {
  if (typeof content === 'string') return content;
  const parts: Array<TextPart | ImagePart> = [];
  for (const part of partsOf(content)) {
    if (part.type === 'text') parts.push({ type: 'text', text: String(part.text) });
    // Images given as text (base64) or a URL survive as JSON; bytes are not kept.
    const mediaType = String(part.mediaType ?? part.mimeType ?? '');
    const data = part.type === 'image' ? part.image : part.type === 'file' ? part.data : undefined;
    if (data !== undefined && mediaType.startsWith('image/')) {
      if (typeof data === 'string' && !/^[a-z]+:/i.test(data))
        parts.push({ type: 'image', mediaType, data });
      else if (data instanceof URL || typeof data === 'string')
        parts.push({ type: 'image', mediaType, url: String(data) });
    }
  }
  return parts;
}

function assistantContent(content: unknown): AssistantMessage['content'] {
  if (typeof content === 'string') return content ? [{ type: 'text', text: content }] : [];
  const parts: AssistantMessage['content'] = [];
  for (const part of partsOf(content)) {
    if (part.type === 'text' && part.text !== '')
      parts.push({ type: 'text', text: String(part.text) });
    else if (part.type === 'reasoning') {
      const metadata = part.providerOptions ?? part.providerMetadata;
      parts.push({
        type: 'reasoning',
        text: String(part.text ?? ''),
        ...(metadata ? { providerMetadata: metadata as Record<string, unknown> } : {}),
      });
    } else if (part.type === 'tool-call' && part.providerExecuted !== true) {
      parts.push({
        type: 'tool-call',
        id: String(part.toolCallId),
        name: String(part.toolName),
        input: part.input,
      });
    }
  }
  return parts;
}

function toolContent(content: unknown): ToolResultPart[] {
  return partsOf(content)
    .filter((part) => part.type === 'tool-result')
    .map((part) => ({
      type: 'tool-result' as const,
      toolCallId: String(part.toolCallId),
      toolName: String(part.toolName),
      ...toolOutputText(part.output),
    }));
}

/**
 * AI SDK messages as loopwork's transcript: system messages become the system prompt; text,
 * reasoning, client tool calls and tool results are kept; files other than images, provider-run
 * tools and approval parts are not part of loopwork's message shape and are left out (the AI SDK
 * messages themselves stay in the run state's `runtime.handle`).
 */
export function toLoopworkTranscript(messages: readonly LooseMessage[]): LoopworkTranscript {
  const systems: string[] = [];
  const out: Message[] = [];
  for (const message of messages) {
    switch (message.role) {
      case 'system':
        systems.push(
          typeof message.content === 'string' ? message.content : JSON.stringify(message.content),
        );
        break;
      case 'user':
        out.push({ role: 'user', content: userContent(message.content) });
        break;
      case 'assistant':
        out.push({ role: 'assistant', content: assistantContent(message.content) });
        break;
      case 'tool': {
        const content = toolContent(message.content);
        if (content.length > 0) out.push({ role: 'tool', content });
        break;
      }
    }
  }
  return { ...(systems.length > 0 ? { system: systems.join('\n\n') } : {}), messages: out };
}

/** The function tools of a `LanguageModelV3` call as loopwork tool specs. */
export function toolSpecsOf(tools: V3CallOptions['tools']): ToolSpec[] {
  return (tools ?? []).flatMap((tool) =>
    tool.type === 'function'
      ? [
          {
            name: tool.name,
            description: tool.description ?? '',
            inputSchema: tool.inputSchema as Record<string, unknown>,
          },
        ]
      : [],
  );
}

/** A `LanguageModelV3` call as a loopwork model request (for estimates and scripted models). */
export function toModelRequest(call: V3CallOptions, maxOutputTokens: number): ModelRequest {
  const { system, messages } = toLoopworkTranscript(call.prompt as readonly LooseMessage[]);
  const tools = toolSpecsOf(call.tools);
  return {
    ...(system === undefined ? {} : { system }),
    messages,
    ...(tools.length > 0 ? { tools } : {}),
    maxOutputTokens,
  };
}
