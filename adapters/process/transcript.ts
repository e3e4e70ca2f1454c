import type { Message, TextPart, ToolCallPart, ToolResultPart } from 'loopwork';

/**
 * The run's conversation in loopwork's message shape, rebuilt from what the process printed: text
 * and tool calls gather in an open assistant message, closed by the next tool result (which
 * joins the tool message after it) or at the end.
 */
export class Transcript {
  private readonly messages: Message[];
  private assistant: Array<TextPart | ToolCallPart> = [];
  private results: ToolResultPart[] = [];
  private readonly names = new Map<string, string>();

  constructor(messages: readonly Message[] = []) {
    this.messages = structuredClone([...messages]);
  }

  user(text: string): void {
    this.flush();
    this.messages.push({ role: 'user', content: text });
  }

  text(text: string): void {
    this.flushResults();
    const last = this.assistant.at(-1);
    if (last?.type === 'text') last.text += text;
    else this.assistant.push({ type: 'text', text });
  }

  toolCall(id: string, name: string, input: unknown): void {
    this.flushResults();
    this.names.set(id, name);
    this.assistant.push({ type: 'tool-call', id, name, input });
  }

  toolResult(id: string, output: string, isError: boolean): void {
    this.flushAssistant();
    this.results.push({
      type: 'tool-result',
      toolCallId: id,
      toolName: this.names.get(id) ?? 'unknown',
      output,
      isError,
    });
  }

  /** The name of the call `id`, when its call was seen. */
  nameOf(id: string): string | undefined {
    return this.names.get(id);
  }

  /** The messages so far (a copy), the open assistant message included. */
  snapshot(): Message[] {
    this.flush();
    return structuredClone(this.messages);
  }

  /** The text of the last assistant message. */
  lastText(): string | undefined {
    this.flush();
    for (let i = this.messages.length - 1; i >= 0; i--) {
      const message = this.messages[i]!;
      if (message.role !== 'assistant') continue;
      const text = message.content
        .filter((part): part is TextPart => part.type === 'text')
        .map((part) => part.text)
        .join('');
      if (text) return text;
    }
    return undefined;
  }

  private flush(): void {
    this.flushAssistant();
    this.flushResults();
  }

  private flushAssistant(): void {
    if (this.assistant.length === 0) return;
    this.messages.push({ role: 'assistant', content: this.assistant });
    this.assistant = [];
  }

  private flushResults(): void {
    if (this.results.length === 0) return;
    this.messages.push({ role: 'tool', content: this.results });
    this.results = [];
  }
}
