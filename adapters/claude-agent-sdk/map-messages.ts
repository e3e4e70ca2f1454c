import type { AgentEvent, AssistantMessage, Message, ToolResultPart } from 'loopwork';

type Block = { type?: string; text?: string; id?: string; name?: string; input?: unknown } & Record<
  string,
  unknown
>;

/** The parts of an SDK message this mapper reads. */
interface SdkMessageLike {
  type: string;
  parent_tool_use_id?: string | null;
  message?: { id?: string; role?: string; content?: unknown };
  event?: { type?: string; delta?: { type?: string; text?: string } };
}

const textOf = (content: unknown): string => {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return content === undefined ? '' : JSON.stringify(content);
  return content
    .map((block: Block) => (block.type === 'text' ? (block.text ?? '') : JSON.stringify(block)))
    .join('');
};

/**
 * Maps the Agent SDK's messages to loopwork's terms: streamed text to `text-delta` events, and
 * the main agent's assistant and tool-result messages to a loopwork transcript (`RunState.messages`).
 * Claude Code sends one assistant message per content block; blocks of one API message (same id)
 * are joined into one assistant turn. Subagent messages (`parent_tool_use_id` set) are left out.
 */
export class MessageMapper {
  readonly messages: Message[];
  private lastAssistantId: string | undefined;

  constructor(
    private readonly runId: string,
    private readonly emit: (event: AgentEvent) => void,
    private readonly turn: () => number,
    /** loopwork's name of a tool Claude Code calls by `name` (MCP prefix removed). */
    private readonly toolName: (name: string) => string,
    messages: readonly Message[],
  ) {
    this.messages = [...messages];
  }

  /** A user prompt sent to the agent. */
  prompt(text: string): void {
    this.messages.push({ role: 'user', content: text });
    this.lastAssistantId = undefined;
  }

  handle(message: SdkMessageLike): void {
    if (message.parent_tool_use_id) return;
    if (message.type === 'stream_event') {
      const delta = message.event?.type === 'content_block_delta' ? message.event.delta : undefined;
      if (delta?.type === 'text_delta' && delta.text) {
        this.emit({ type: 'text-delta', runId: this.runId, turn: this.turn(), text: delta.text });
      }
    }
    if (message.type === 'assistant') this.assistant(message);
    if (message.type === 'user') this.toolResults(message);
  }

  private assistant(message: SdkMessageLike): void {
    const blocks = Array.isArray(message.message?.content)
      ? (message.message.content as Block[])
      : [];
    const content: AssistantMessage['content'] = [];
    for (const block of blocks) {
      if (block.type === 'text' && block.text) content.push({ type: 'text', text: block.text });
      if (block.type === 'tool_use' && typeof block.id === 'string') {
        content.push({
          type: 'tool-call',
          id: block.id,
          name: this.toolName(String(block.name)),
          input: block.input,
        });
      }
    }
    const id = message.message?.id;
    const last = this.messages.at(-1);
    if (id && id === this.lastAssistantId && last?.role === 'assistant') {
      last.content.push(...content);
      return;
    }
    this.lastAssistantId = id;
    this.messages.push({ role: 'assistant', content });
  }

  private toolResults(message: SdkMessageLike): void {
    const blocks = Array.isArray(message.message?.content)
      ? (message.message.content as Block[])
      : [];
    const results: ToolResultPart[] = blocks
      .filter((block) => block.type === 'tool_result')
      .map((block) => {
        const toolCallId = String(block.tool_use_id);
        return {
          type: 'tool-result',
          toolCallId,
          toolName: this.nameOfCall(toolCallId),
          output: textOf(block.content),
          isError: block.is_error === true,
        };
      });
    if (results.length === 0) return;
    this.lastAssistantId = undefined;
    const last = this.messages.at(-1);
    if (last?.role === 'tool') last.content.push(...results);
    else this.messages.push({ role: 'tool', content: results });
  }

  /** Every tool result in the transcript, by tool call id. */
  resultsById(): Map<string, ToolResultPart> {
    const found = new Map<string, ToolResultPart>();
    for (const message of this.messages)
      if (message.role === 'tool')
        for (const part of message.content) found.set(part.toolCallId, part);
    return found;
  }

  private nameOfCall(toolCallId: string): string {
    for (let i = this.messages.length - 1; i >= 0; i--) {
      const message = this.messages[i];
      if (message?.role !== 'assistant') continue;
      for (const part of message.content)
        if (part.type === 'tool-call' && part.id === toolCallId) return part.name;
    }
    return 'unknown';
  }
}
