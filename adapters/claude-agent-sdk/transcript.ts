import type { AssistantMessage, Message, ToolResultPart } from 'loopwork';
import type { TranscriptEntry } from './session-handle';

type Block = { type?: string; text?: string; id?: string; name?: string; input?: unknown } & Record<
  string,
  unknown
>;

const textOf = (content: unknown): string => {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return content === undefined ? '' : JSON.stringify(content);
  return content
    .map((block: Block) => (block.type === 'text' ? (block.text ?? '') : JSON.stringify(block)))
    .join('');
};

const blocksOf = (content: unknown): Block[] =>
  typeof content === 'string'
    ? [{ type: 'text', text: content }]
    : Array.isArray(content)
      ? content
      : [];

/**
 * The main agent's conversation in loopwork's terms (`RunState.messages`), read from the Claude
 * Code session transcript: user prompts, assistant turns (Claude Code writes one entry per
 * content block; the blocks of one API message are joined), and tool results. Reading it from
 * the transcript, not from the SDK's messages, keeps the checkpoint's history exactly what a
 * resume continues from. Subagents' entries (`isSidechain`) and Claude Code's own notes
 * (`isMeta`, attachments) are left out.
 */
export function transcriptOf(
  entries: readonly TranscriptEntry[],
  toolName: (name: string) => string,
): Message[] {
  const messages: Message[] = [];
  const names = new Map<string, string>();
  let lastId: string | undefined;
  for (const entry of entries) {
    if (entry.isSidechain === true || entry.isMeta === true) continue;
    const message = entry.message as { id?: string; content?: unknown } | undefined;
    if (entry.type === 'assistant') {
      const content: AssistantMessage['content'] = [];
      for (const block of blocksOf(message?.content)) {
        if (block.type === 'text' && block.text) content.push({ type: 'text', text: block.text });
        if (block.type === 'tool_use' && typeof block.id === 'string') {
          const name = toolName(String(block.name));
          names.set(block.id, name);
          content.push({ type: 'tool-call', id: block.id, name, input: block.input });
        }
      }
      const last = messages.at(-1);
      if (message?.id && message.id === lastId && last?.role === 'assistant')
        last.content.push(...content);
      else if (content.length > 0) messages.push({ role: 'assistant', content });
      lastId = message?.id;
      continue;
    }
    if (entry.type !== 'user') continue;
    lastId = undefined;
    const blocks = blocksOf(message?.content);
    const results: ToolResultPart[] = blocks
      .filter((block) => block.type === 'tool_result')
      .map((block) => ({
        type: 'tool-result',
        toolCallId: String(block.tool_use_id),
        toolName: names.get(String(block.tool_use_id)) ?? 'unknown',
        output: textOf(block.content),
        isError: block.is_error === true,
      }));
    if (results.length > 0) {
      const last = messages.at(-1);
      if (last?.role === 'tool') last.content.push(...results);
      else messages.push({ role: 'tool', content: results });
    }
    const text = blocks
      .filter((block) => block.type === 'text')
      .map((block) => block.text ?? '')
      .join('');
    if (text && results.length === 0) messages.push({ role: 'user', content: text });
  }
  return messages;
}

/** Every tool result in a transcript, by tool call id. */
export function resultsById(messages: readonly Message[]): Map<string, ToolResultPart> {
  const found = new Map<string, ToolResultPart>();
  for (const message of messages)
    if (message.role === 'tool')
      for (const part of message.content) found.set(part.toolCallId, part);
  return found;
}
