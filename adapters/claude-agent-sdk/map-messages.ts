import type { AgentEvent } from 'loopwork';

/** The parts of an SDK message this mapper reads. */
interface SdkMessageLike {
  type: string;
  parent_tool_use_id?: string | null;
  event?: { type?: string; delta?: { type?: string; text?: string } };
}

/**
 * Maps the Agent SDK's streamed messages (`includePartialMessages`) of the main agent to
 * loopwork's `text-delta` events. Tool events come from hooks (`hook-events.ts`), turns from the
 * budget proxy, and the transcript from the session's own entries (`transcript.ts`).
 */
export class MessageMapper {
  constructor(
    private readonly runId: string,
    private readonly emit: (event: AgentEvent) => void,
    private readonly turn: () => number,
  ) {}

  handle(message: SdkMessageLike): void {
    // Subagents' messages carry the tool call that started them.
    if (message.parent_tool_use_id || message.type !== 'stream_event') return;
    const delta = message.event?.type === 'content_block_delta' ? message.event.delta : undefined;
    if (delta?.type === 'text_delta' && delta.text) {
      this.emit({ type: 'text-delta', runId: this.runId, turn: this.turn(), text: delta.text });
    }
  }
}
