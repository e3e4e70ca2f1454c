import { randomUUID } from 'node:crypto';
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
 * (`isMeta`, attachments, `<synthetic>` filler turns) are left out.
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
    // Claude Code's own filler (`model: '<synthetic>'`, "No response requested."), not an answer.
    if (entry.type === 'assistant' && (message as { model?: unknown })?.model === '<synthetic>')
      continue;
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
  return withoutAbandonedCalls(messages);
}

/**
 * Drops tool calls that never got a result and were followed by more of the conversation: the
 * calls of a turn cut off by a crash, which Claude Code leaves out when it resumes (and asks the
 * model again). Calls at the very end are kept: they are still pending.
 */
function withoutAbandonedCalls(messages: Message[]): Message[] {
  const answered = new Set(resultsById(messages).keys());
  const out: Message[] = [];
  for (const [index, message] of messages.entries()) {
    if (message.role !== 'assistant' || index === messages.length - 1) {
      out.push(message);
      continue;
    }
    const content = message.content.filter(
      (part) => part.type !== 'tool-call' || answered.has(part.id),
    );
    if (content.length > 0) out.push({ role: 'assistant', content });
  }
  return out;
}

/** Every tool result in a transcript, by tool call id. */
export function resultsById(messages: readonly Message[]): Map<string, ToolResultPart> {
  const found = new Map<string, ToolResultPart>();
  for (const message of messages)
    if (message.role === 'tool')
      for (const part of message.content) found.set(part.toolCallId, part);
  return found;
}

/** Fields of a transcript entry that say where it belongs (copied onto entries the runtime adds). */
const CONTEXT_FIELDS = ['sessionId', 'cwd', 'version', 'gitBranch', 'userType', 'entrypoint'];

/**
 * The transcript with the results of its unanswered tool calls added from the checkpoint: a
 * worker that died after a loopwork tool ran, but before Claude Code wrote its result, left the
 * result in `state.toolResults`. Without it Claude Code would mark the call interrupted on resume
 * and the model would ask for it again; with it the turn continues as if nothing had happened.
 */
export function withCheckpointedResults(
  entries: readonly TranscriptEntry[],
  results: readonly ToolResultPart[],
): TranscriptEntry[] {
  const out = [...entries];
  const answered = new Set<string>();
  const asked: Array<{ id: string; entry: TranscriptEntry }> = [];
  for (const entry of entries) {
    if (entry.isSidechain === true) continue;
    const blocks = blocksOf((entry.message as { content?: unknown } | undefined)?.content);
    for (const block of blocks) {
      if (entry.type === 'assistant' && block.type === 'tool_use' && typeof block.id === 'string')
        asked.push({ id: block.id, entry });
      if (entry.type === 'user' && block.type === 'tool_result')
        answered.add(String(block.tool_use_id));
    }
  }
  const byId = new Map(results.map((result) => [result.toolCallId, result]));
  const last = [...out].reverse().find((entry) => typeof entry.uuid === 'string');
  let parentUuid = last?.uuid;
  for (const { id, entry } of asked) {
    const result = byId.get(id);
    if (answered.has(id) || !result) continue;
    const uuid = randomUUID();
    const context = Object.fromEntries(
      CONTEXT_FIELDS.filter((key) => key in entry).map((key) => [key, entry[key]]),
    );
    out.push({
      ...context,
      type: 'user',
      parentUuid: parentUuid ?? null,
      isSidechain: false,
      uuid,
      timestamp: new Date().toISOString(),
      message: {
        role: 'user',
        content: [
          {
            tool_use_id: id,
            type: 'tool_result',
            content: [{ type: 'text', text: result.output }],
            ...(result.isError ? { is_error: true } : {}),
          },
        ],
      },
    });
    parentUuid = uuid;
  }
  return out;
}
