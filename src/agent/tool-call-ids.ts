import type { AssistantMessage, Message, ToolCallPart } from '../model/messages';

/** Tool-call ids the conversation already holds. */
function usedIds(messages: readonly Message[]): Set<string> {
  const used = new Set<string>();
  for (const message of messages) {
    if (message.role !== 'assistant') continue;
    for (const part of message.content) if (part.type === 'tool-call') used.add(part.id);
  }
  return used;
}

/**
 * `message` with every tool call's id unique within the run. A tool call's id is its idempotency
 * key and the key its result is matched by, so two calls sharing one (a loosely compatible server
 * answering `call_0` every time, an empty id) would run as one and lose a result. An empty or
 * reused id becomes `<id or "call">_lw<turn>_<index>` — deterministic, so a replayed turn gets the
 * same ids — and the renamed id is what the provider sees from then on, in the call and in its
 * result. Returns `message` itself when nothing needed renaming.
 */
export function uniqueToolCallIds(
  message: AssistantMessage,
  history: readonly Message[],
  turn: number,
): AssistantMessage {
  const calls = message.content.filter((part) => part.type === 'tool-call');
  if (calls.length === 0) return message;
  const used = usedIds(history);
  let renamed = false;
  let index = 0;
  const content = message.content.map((part) => {
    if (part.type !== 'tool-call') return part;
    const position = index++;
    const valid = typeof part.id === 'string' && part.id.trim() !== '';
    if (valid && !used.has(part.id)) {
      used.add(part.id);
      return part;
    }
    renamed = true;
    const base = `${valid ? part.id : 'call'}_lw${turn}_${position}`;
    let id = base;
    for (let n = 2; used.has(id); n++) id = `${base}_${n}`;
    used.add(id);
    return { ...part, id } satisfies ToolCallPart;
  });
  return renamed ? { ...message, content } : message;
}
