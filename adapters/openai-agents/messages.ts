import type { AgentInputItem, ModelRequest as AgentsModelRequest } from '@openai/agents';
import {
  AGENT_DEFAULTS,
  type AssistantMessage,
  emptyUsage,
  type Message,
  type ModelRequest,
  type ToolResultPart,
  type ToolSpec,
  type Usage,
} from 'loopwork';

/** A conversation in loopwork's terms: what a run state's `system` and `messages` hold. */
export interface LoopworkTranscript {
  system?: string;
  messages: Message[];
}

type Item = Record<string, unknown>;

const textOfParts = (content: unknown): string => {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((part: Item) => {
      if (typeof part === 'string') return part;
      if (typeof part.text === 'string') return part.text;
      if (typeof part.refusal === 'string') return part.refusal;
      return '';
    })
    .join('');
};

const parseArguments = (text: unknown): unknown => {
  if (typeof text !== 'string') return text;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
};

/** What a tool result says, as the text the model reads. */
export function outputText(output: unknown): string {
  if (typeof output === 'string') return output;
  if (output && typeof output === 'object' && !Array.isArray(output)) {
    const text = (output as Item).text;
    if (typeof text === 'string') return text;
  }
  if (Array.isArray(output)) return textOfParts(output);
  return JSON.stringify(output) ?? '';
}

/**
 * The SDK's input items (its history: the user's input and every item generated since) as
 * loopwork messages: user and assistant text, tool calls and their results. Items loopwork has
 * no part for (hosted tools, computer calls) are left out; the SDK's own state keeps them.
 */
export function toLoopworkTranscript(
  items: string | readonly AgentInputItem[],
  system?: string,
): LoopworkTranscript {
  const messages: Message[] = [];
  let systemText = system;
  const assistant = (): AssistantMessage => {
    const last = messages.at(-1);
    if (last?.role === 'assistant') return last;
    const created: AssistantMessage = { role: 'assistant', content: [] };
    messages.push(created);
    return created;
  };
  const results = (): ToolResultPart[] => {
    const last = messages.at(-1);
    if (last?.role === 'tool') return last.content;
    const created: Message = { role: 'tool', content: [] };
    messages.push(created);
    return created.content;
  };
  if (typeof items === 'string')
    return { ...(system ? { system } : {}), messages: [{ role: 'user', content: items }] };
  for (const raw of items) {
    const item = raw as unknown as Item;
    if (item.type === 'function_call') {
      assistant().content.push({
        type: 'tool-call',
        id: String(item.callId),
        name: String(item.name),
        input: parseArguments(item.arguments),
      });
    } else if (item.type === 'function_call_result') {
      results().push({
        type: 'tool-result',
        toolCallId: String(item.callId),
        toolName: String(item.name),
        output: outputText(item.output),
        isError: item.status === 'incomplete',
      });
    } else if (item.type === 'reasoning') {
      const text = textOfParts(item.content);
      if (text) assistant().content.push({ type: 'reasoning', text });
    } else if (item.type === undefined || item.type === 'message') {
      const text = textOfParts(item.content);
      if (item.role === 'system' || item.role === 'developer')
        systemText = systemText ? `${systemText}\n${text}` : text;
      else if (item.role === 'assistant') {
        if (text) assistant().content.push({ type: 'text', text });
      } else if (item.role === 'user') messages.push({ role: 'user', content: text });
    }
  }
  return { ...(systemText ? { system: systemText } : {}), messages };
}

/** An SDK model request in loopwork's terms (to estimate its size, to script an answer to it). */
export function toLoopworkRequest(request: AgentsModelRequest): ModelRequest {
  const { system, messages } = toLoopworkTranscript(request.input, request.systemInstructions);
  // Handoffs reach the model as function tools too (`transfer_to_<agent>`).
  const tools: ToolSpec[] = [
    ...request.tools.flatMap((tool) =>
      tool.type === 'function'
        ? [
            {
              name: tool.name,
              description: tool.description,
              inputSchema: tool.parameters as unknown as Record<string, unknown>,
            },
          ]
        : [],
    ),
    ...request.handoffs.map((handoff) => ({
      name: handoff.toolName,
      description: handoff.toolDescription,
      inputSchema: handoff.inputJsonSchema as unknown as Record<string, unknown>,
    })),
  ];
  return {
    ...(system === undefined ? {} : { system }),
    messages,
    ...(tools.length > 0 ? { tools } : {}),
    maxOutputTokens: request.modelSettings.maxTokens ?? AGENT_DEFAULTS.maxTokensPerCall,
  };
}

const detail = (details: unknown, key: string): number => {
  const list = Array.isArray(details) ? details : [details];
  let sum = 0;
  for (const entry of list) {
    const value = (entry as Record<string, unknown> | undefined)?.[key];
    if (typeof value === 'number') sum += value;
  }
  return sum;
};

/**
 * The SDK's usage of one response in loopwork's buckets: OpenAI counts cached prompt tokens
 * inside `inputTokens` and reasoning inside `outputTokens`; loopwork keeps input buckets disjoint.
 */
export function usageOf(usage: {
  inputTokens: number;
  outputTokens: number;
  inputTokensDetails?: unknown;
  outputTokensDetails?: unknown;
}): Usage {
  const cached = detail(usage.inputTokensDetails, 'cached_tokens');
  return {
    ...emptyUsage(),
    inputTokens: Math.max(0, usage.inputTokens - cached),
    cacheReadTokens: cached,
    outputTokens: usage.outputTokens,
    reasoningTokens: detail(usage.outputTokensDetails, 'reasoning_tokens'),
  };
}
